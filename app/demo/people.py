"""Deterministic, obviously fictional demo customers (addresses only in reserved domains).

Their purchases are drawn from the value models themselves (:mod:`app.marketing.simulation`),
over the year before the demo is loaded, so value, classes, offers and conversions show
real figures on a fresh demo.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np

from app.marketing.simulation import Population, simulate_purchases

DOMAINS = ("example.com", "example.org", "example.net")

#: (language, jurisdiction, time zones, first names, last names, cities with postcodes)
REGIONS = (
    (
        "it",
        "IT",
        ("Europe/Rome",),
        (
            "Giulia",
            "Marco",
            "Chiara",
            "Luca",
            "Francesca",
            "Matteo",
            "Sara",
            "Alessandro",
            "Elena",
            "Davide",
        ),
        (
            "Rossi",
            "Bianchi",
            "Esposito",
            "Romano",
            "Colombo",
            "Ricci",
            "Marino",
            "Greco",
            "Bruno",
            "Gallo",
        ),
        (
            ("Milano", "20121"),
            ("Roma", "00184"),
            ("Torino", "10121"),
            ("Bologna", "40126"),
            ("Napoli", "80133"),
        ),
    ),
    (
        "en",
        "IE",
        ("Europe/Dublin",),
        ("Aoife", "Liam", "Emma", "Noah", "Olivia", "Jack", "Grace", "Conor"),
        ("Murphy", "Kelly", "Walsh", "Smith", "Byrne", "Ryan", "Taylor"),
        (("Dublin", "D02 X285"), ("Cork", "T12 RH3C"), ("Galway", "H91 E2K3")),
    ),
    (
        "de",
        "DE",
        ("Europe/Berlin",),
        ("Lena", "Jonas", "Mia", "Felix", "Hannah", "Lukas"),
        ("Müller", "Schmidt", "Schneider", "Fischer", "Weber"),
        (("Berlin", "10115"), ("München", "80331"), ("Hamburg", "20095")),
    ),
    (
        "fr",
        "FR",
        ("Europe/Paris",),
        ("Camille", "Louis", "Léa", "Hugo", "Chloé"),
        ("Martin", "Bernard", "Dubois", "Durand", "Leroy"),
        (("Paris", "75003"), ("Lyon", "69002")),
    ),
    (
        "es",
        "ES",
        ("Europe/Madrid",),
        ("Lucía", "Hugo", "Martina", "Pablo", "Sofía"),
        ("García", "Fernández", "López", "Martínez"),
        (("Madrid", "28013"), ("Sevilla", "41001")),
    ),
    (
        "en",
        "US",
        ("America/New_York", "America/Chicago", "America/Los_Angeles"),
        ("Ava", "Ethan", "Mason", "Harper", "Logan", "Ella"),
        ("Johnson", "Williams", "Brown", "Davis", "Miller"),
        (("New York", "10001"), ("Chicago", "60601"), ("Seattle", "98101")),
    ),
)
CATEGORIES = {
    "books": ("BK-1001", "BK-1002", "BK-2040"),
    "coffee": ("CF-0100", "CF-0200", "CF-0210"),
    "outdoor": ("OD-5500", "OD-5510"),
    "cooking": ("CK-3001", "CK-3002", "CK-3100"),
    "music": ("MU-7000", "MU-7001"),
    "fashion": ("FA-9000", "FA-9100", "FA-9200"),
}
INTERESTS = ("books", "coffee", "outdoor", "cooking", "music", "fashion", "travel", "wellness")


@dataclass(frozen=True)
class DemoPerson:
    """One demo customer before encryption."""

    email: str
    profile: dict
    language: str
    jurisdiction: str
    timezone: str


#: How the demo's customers buy: a few purchases a year while active, about 40.00 each.
DEMO_BUYERS = Population(r=1.2, alpha=8.0, a=1.0, b=5.0, p=4.0, q=5.0, gamma=40.0)
#: Share of demo customers who have not bought anything yet.
NO_PURCHASES = 0.12


def _purchases(rng: random.Random, now: datetime) -> str:
    """A year of purchases drawn from :data:`DEMO_BUYERS`: first one within the last year."""
    if rng.random() < NO_PURCHASES:
        return "[]"
    draw = np.random.default_rng(rng.randrange(2**32))
    today = now.date().toordinal()
    first = today - rng.randint(1, 365)
    items = []
    for day, amount in simulate_purchases(DEMO_BUYERS, draw, first, today):
        category = rng.choice(tuple(CATEGORIES))
        moment = datetime.combine(date.fromordinal(day), time(rng.randint(8, 21)), UTC)
        moment = min(moment + timedelta(minutes=rng.randint(0, 59)), now)
        items.append(
            {
                "sku": rng.choice(CATEGORIES[category]),
                "category": category,
                "amount_cents": max(100, round(amount * 100)),
                "at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
    return json.dumps(items)


def demo_people(count: int, seed: int = 2026, now: datetime | None = None) -> list[DemoPerson]:
    """``count`` deterministic demo customers; purchases run up to ``now`` (default: now)."""
    rng = random.Random(seed)
    now = now or datetime.now(UTC)
    people = []
    for number in range(1, count + 1):
        language, jurisdiction, zones, firsts, lasts, cities = rng.choice(REGIONS)
        first, last = rng.choice(firsts), rng.choice(lasts)
        city, postcode = rng.choice(cities)
        local = f"{first}.{last}.{number}".lower().replace("ü", "ue").replace("é", "e")
        local = local.replace("í", "i").replace("á", "a").replace("ó", "o")
        email = f"{local}@{DOMAINS[number % 3]}"
        birthday = date(1950, 1, 1) + timedelta(days=rng.randint(0, 365 * 55))
        timezone = rng.choice(zones)  # language and time zone are settings of the account
        profile = {
            "first_name": first,
            "last_name": last,
            "birthday": birthday.isoformat(),
            "city": city,
            "postcode": postcode,
            "interests": ",".join(rng.sample(INTERESTS, rng.randint(1, 3))),
            "purchase_history": _purchases(rng, now),
        }
        if rng.random() < 0.6:
            prefix = "+1" if jurisdiction == "US" else "+39"
            profile["phone"] = f"{prefix}{rng.randint(200, 989)}{rng.randint(1000000, 9999999)}"
        people.append(DemoPerson(email, profile, language, jurisdiction, timezone))
    return people
