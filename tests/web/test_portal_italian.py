# ruff: noqa: F811  (fixtures imported from test_portal_support)
"""Every page a customer can see, rendered in Italian, shows no English text of the catalogue.

Each page is rendered with the language set to Italian, its visible text (text nodes and the
attributes people read: title, aria-label, placeholder, alt, button values) is collected, and
compared with the English message ids of the catalogue: a page showing one untranslated fails
the build, and so does English prose that no catalogue entry covers.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from sqlalchemy import select

from app.delivery.tokens import unsubscribe_token
from app.extensions import db
from app.ledger.consent import grant
from app.ledger.models import ConsentEvent
from app.ledger.notices import current_notice
from app.outbox.models import SendLog
from app.self_service.contact import ContactLimits, save_limits
from app.transaction import transaction
from app.vault.service import set_sharing
from tests.helpers import csrf_token
from tests.web.test_portal_support import (  # noqa: F401  (fixtures)
    create_customer,
    mailbox,
    portal_app,
    portal_client,
    sign_in_customer,
)

TRANSLATIONS = Path(__file__).resolve().parents[2] / "app" / "translations"
PLACEHOLDER = re.compile(r"%\(\w+\)[sd]|%[sd]")
READ_ATTRIBUTES = ("title", "aria-label", "placeholder", "alt", "label")
#: Words of English prose that Italian text never contains.
ENGLISH_WORDS = frozenset(
    {"the", "your", "you", "we", "our", "with", "this", "that", "is", "are", "and", "of", "to"}
    | {"be", "was", "not"}
)
NOT_SHOWN = frozenset({"script", "style"})


def _catalogue() -> list[tuple[str, str]]:
    """(English id, Italian text) of every entry whose Italian differs from its English."""
    with (TRANSLATIONS / "it" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        catalogue = read_po(handle)
    pairs = []
    for message in catalogue:
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        texts = message.string if isinstance(message.string, tuple) else (message.string,)
        pairs.extend((i, t) for i, t in zip(ids, texts, strict=False) if i != t)
    return pairs


class _VisibleText(HTMLParser):
    """Text nodes and read attributes, leaving out scripts and anything marked as not in
    Italian (``lang`` other than it, ``translate="no"``)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.chunks: list[str] = []
        self.stack: list[tuple[str, bool]] = []

    def _hidden(self) -> bool:
        return any(hidden for _tag, hidden in self.stack)

    def handle_starttag(self, tag, attrs):
        named = dict(attrs)
        lang = named.get("lang")
        hidden = (
            tag in NOT_SHOWN
            or named.get("translate") == "no"
            or (lang is not None and tag != "html" and not lang.startswith("it"))
        )
        if tag not in {"input", "meta", "link", "br", "img", "hr"}:
            self.stack.append((tag, hidden))
        if hidden or self._hidden():
            return
        for name in READ_ATTRIBUTES:
            if named.get(name):
                self.chunks.append(named[name])
        if tag == "input" and named.get("type") in {"submit", "button"} and named.get("value"):
            self.chunks.append(named["value"])

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        text = " ".join(data.split())
        if text and not self._hidden():
            self.chunks.append(text)


def visible_text(html: str) -> list[str]:
    """What a person reads on the page, chunk by chunk."""
    parser = _VisibleText()
    parser.feed(html)
    return parser.chunks


def untranslated(html: str, catalogue: list[tuple[str, str]]) -> list[str]:
    """The English of the catalogue, and English prose, found in the page's visible text."""
    chunks = visible_text(html)
    text = "\n".join(chunks)
    found = []
    for english, _italian in catalogue:
        pieces = [p.strip() for p in PLACEHOLDER.split(english) if p.strip()]
        longest = max(pieces, key=len, default="")
        long_enough = len(longest.split()) >= 3 and longest in text
        if long_enough or (not PLACEHOLDER.search(english) and english in chunks):
            found.append(english)
    for chunk in chunks:
        words = {w.lower() for w in re.findall(r"[A-Za-z]+", chunk)}
        if len(words & ENGLISH_WORDS) >= 2:
            found.append(f"English prose: {chunk}")
    return sorted(set(found))


@pytest.fixture
def catalogue():
    return _catalogue()


@pytest.fixture
def anna(create_customer, portal_client):
    """A customer who reads Italian, with consents, a sent message, a pause and a request."""
    customer = create_customer("anna@example.com", language="it", first_name="Anna")
    for purpose in ("offers", "birthday"):
        grant(
            db.session,
            customer,
            purpose=purpose,
            channel="email",
            notice=current_notice(db.session, purpose, "it"),
            source="portal",
            method="web_form",
            actor="customer",
            skip_double_opt_in=True,
        )
    with transaction(db.session):
        db.session.add(
            SendLog(
                customer_id=customer.id,
                channel="email",
                purpose="offers",
                transactional=False,
                sent_at=datetime.now(UTC),
            )
        )
        db.session.add(
            SendLog(customer_id=customer.id, channel="email", purpose="service", transactional=True)
        )
    set_sharing(db.session, customer, {("first_name", "offers"): True, ("city", "offers"): False})
    pause = date.today() + timedelta(days=10)
    save_limits(db.session, customer, ContactLimits((), 3, pause, None, 0))
    sign_in_customer(portal_client, "anna@example.com")
    return customer


def _post(client, path: str, page: str, **data):
    return client.post(path, data={"csrf_token": csrf_token(client, page), **data})


def _check(client, catalogue, paths) -> dict[str, list[str]]:
    problems = {}
    for path in paths:
        response = client.get(path, follow_redirects=True)
        html = response.get_data(as_text=True)
        assert '<html lang="it">' in html, path
        found = untranslated(html, catalogue)
        if found:
            problems[path] = found
    return problems


def test_the_detector_finds_english_on_an_italian_page(catalogue):
    english = '<html lang="it"><body><h1>Your preferences</h1><p>Stop it, ok?</p></body></html>'
    assert untranslated(english, catalogue) == ["Your preferences"]
    mixed = '<html lang="it"><p>Ciao</p><p>We sent you the link and your code.</p></html>'
    assert untranslated(mixed, catalogue) == ["English prose: We sent you the link and your code."]
    notice = '<html lang="it"><pre lang="en">Your preferences are yours and the law</pre></html>'
    assert untranslated(notice, catalogue) == []


def test_every_customer_page_in_italian_is_fully_translated(portal_client, anna, catalogue):
    with portal_client.session_transaction() as session:
        session["lang"] = "it"
    record_id = db.session.scalar(select(ConsentEvent.record_id).order_by(ConsentEvent.seq))
    signed_in = [
        "/me/",
        "/me/data",
        "/me/contact",
        "/me/history",
        "/me/account",
        "/me/requests",
        f"/me/receipts/{record_id}",
        "/me/contact/give/recommendations/email",
        "/account/password",
        "/me/no-such-page",
    ]
    assert _check(portal_client, catalogue, signed_in) == {}

    # Flash messages and the pages they land on, after the customer's own actions.
    portal_client.get("/me/account/export")
    _post(portal_client, "/me/requests", "/me/requests", kind="access", details="")
    _post(portal_client, "/me/contact/object", "/me/contact")
    assert _check(portal_client, catalogue, ["/me/contact", "/me/", "/me/requests"]) == {}
    _post(portal_client, "/me/contact/object/withdraw", "/me/contact")
    assert _check(portal_client, catalogue, ["/me/contact", "/me/history"]) == {}
    _post(portal_client, "/me/contact/withdraw/offers/email", "/me/contact")
    assert _check(portal_client, catalogue, ["/me/contact"]) == {}


def test_every_public_page_in_italian_is_fully_translated(portal_app, anna, catalogue):
    visitor = portal_app.test_client()
    with visitor.session_transaction() as session:
        session["lang"] = "it"
    token = unsubscribe_token(anna.ref, "offers", "email")
    public = [
        "/",
        "/login",
        "/signup",
        "/password/forgot",
        "/password/reset/not-a-token",
        f"/u/{token}",
        "/u/not-a-token",
        f"/me/refine/{token}",
        "/me/refine/not-a-token",
        "/consent/confirm/not-a-token",
        "/no-such-page",
        "/me/",
    ]
    assert _check(visitor, catalogue, public) == {}
    assert visitor.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"}).status_code == 200
    done = visitor.post(f"/u/{token}", data={"List-Unsubscribe": "One-Click"})
    assert untranslated(done.get_data(as_text=True), catalogue) == []
    failed = _post(visitor, "/login", "/login", email="anna@example.com", password="wrong one")
    assert untranslated(failed.get_data(as_text=True), catalogue) == []


def test_every_message_is_translated_and_the_compiled_catalogue_is_current():
    with (TRANSLATIONS / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    with (TRANSLATIONS / "it" / "LC_MESSAGES" / "messages.po").open("rb") as handle:
        italian = read_po(handle)
    with (TRANSLATIONS / "it" / "LC_MESSAGES" / "messages.mo").open("rb") as handle:
        compiled = read_mo(handle)

    def key(message):  # plural entries are found by their singular id
        return message.id[0] if isinstance(message.id, (tuple, list)) else message.id

    def texts(message):
        text = message.string
        return tuple(text) if isinstance(text, (tuple, list)) else (text,)

    missing = [m.id for m in template if m.id and italian.get(key(m)) is None]
    assert missing == []
    empty = [m.id for m in italian if m.id and not all(texts(m))]
    assert empty == []
    stale = [
        m.id
        for m in italian
        if m.id and (compiled.get(key(m)) is None or texts(compiled.get(key(m))) != texts(m))
    ]
    assert stale == []
