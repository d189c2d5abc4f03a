"""Deterministic, obviously fictional demo customers (addresses only in reserved domains)."""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

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


def _purchases(rng: random.Random, now: datetime) -> str:
    items = []
    for _ in range(rng.choice((0, 0, 1, 2, 3, 5, 8))):
        category = rng.choice(tuple(CATEGORIES))
        moment = now - timedelta(days=rng.randint(1, 540), minutes=rng.randint(0, 1440))
        items.append(
            {
                "sku": rng.choice(CATEGORIES[category]),
                "category": category,
                "amount_cents": rng.randint(5, 180) * 100 + rng.choice((0, 50, 90, 99)),
                "at": moment.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
    return json.dumps(items)


def demo_people(count: int, seed: int = 2026) -> list[DemoPerson]:
    """``count`` deterministic demo customers."""
    rng = random.Random(seed)
    now = datetime(2026, 11, 1, tzinfo=UTC)
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
