# ruff: noqa: F811  (fixtures imported from test_portal_support)
"""Malformed input reaches no view as a crash: each root cause answers 400 or 404 clearly.

JSON bodies never fill a form, ids in paths stop at 64 bits, page cursors, assignees and
notice versions are read by one parser, and templates that cannot render are refused.
"""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from werkzeug.routing import IntegerConverter

import app.web
from app.campaigns.models import Campaign
from app.compliance import requests as dsr
from app.extensions import db
from app.ledger.models import Notice
from app.vault.directory import find_customer_by_email
from app.web.access import PUBLIC, rule_for
from app.web.forms import Form
from app.web.ids import MAX_BIG_ID, MAX_ID, IdConverter
from tests.conftest import TEST_PASSWORD
from tests.helpers import csrf_token, sign_in
from tests.integration.builders import make_customer
from tests.web.test_marketing_console import campaign_form
from tests.web.test_portal_support import mailbox, portal_app, portal_client  # noqa: F401
from tests.web.urls import concrete_url

ODD_NUMBERS = ["²", "١٢", str(MAX_BIG_ID + 1), "99999999999999999999", "-1", "1.5", "1e3", " 1"]


def _all_form_classes() -> set[type]:
    for module in pkgutil.walk_packages(app.web.__path__, "app.web."):
        importlib.import_module(module.name)
    found, pending = set(), [FlaskForm]
    while pending:
        for subclass in pending.pop().__subclasses__():
            found.add(subclass)
            pending.append(subclass)
    return {cls for cls in found if cls.__module__.startswith("app.")}


def test_every_form_of_the_application_reads_form_bodies_only():
    forms = _all_form_classes() - {Form}
    assert len(forms) > 10
    assert [cls.__qualname__ for cls in forms if not issubclass(cls, Form)] == []


@pytest.fixture
def staff(client, create_staff):
    """Sign ``client`` in as a new staff member of ``role``."""

    def sign_in_as(role: str):
        user = create_staff(role)
        sign_in(client, user.email, TEST_PASSWORD)
        return user

    return sign_in_as


def test_a_json_body_never_fills_a_form(client, staff):
    staff("marketer")
    token = csrf_token(client, "/marketing/campaigns/new")
    body = {**campaign_form(), "name": ["a", "list"], "holdout_percent": 7, "save": True}
    response = client.post("/marketing/campaigns/new", json=body, headers={"X-CSRFToken": token})
    assert response.status_code == 400
    assert "This field is required." in response.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0
    language = client.post(
        "/language", json={"lang": 7, "next": True}, headers={"X-CSRFToken": token}
    )
    assert language.status_code == 302


def test_every_id_route_answers_404_up_to_and_beyond_what_its_column_holds(app, client, staff):
    """Run on every engine: PostgreSQL refuses an ``integer`` parameter beyond 32 bits, so a
    route whose converter allows more than its column holds would answer 500 there."""
    routes = [
        (rule, name, converter)
        for rule in app.url_map.iter_rules()
        for name, converter in rule._converters.items()
        if isinstance(converter, IntegerConverter)
    ]
    assert routes and all(isinstance(converter, IdConverter) for _, _, converter in routes)
    for role in ("marketer", "compliance_officer"):
        staff(role)
        token = csrf_token(client, "/account/password")
        for rule, name, converter in routes:
            allowed = rule_for(app, rule.endpoint)
            if allowed != PUBLIC and role not in allowed:
                continue
            for number in (converter.max, converter.max + 1, 10**30, "9" * 5000):
                url = concrete_url(rule, **{name: number})
                method = "GET" if "GET" in rule.methods else "POST"
                response = client.open(url, method=method, data={"csrf_token": token})
                assert response.status_code == 404, (rule.endpoint, str(number)[:20])


@pytest.mark.parametrize(
    ("path", "names", "largest"),
    [
        ("/compliance/ledger", ("before", "after"), MAX_BIG_ID),
        ("/compliance/access-log", ("before",), MAX_ID),
    ],
)
def test_a_malformed_page_cursor_is_a_clear_400(client, staff, path, names, largest):
    staff("compliance_officer")
    for name in names:
        for value in [*ODD_NUMBERS, str(largest + 1)]:
            response = client.get(path, query_string={name: value})
            assert response.status_code == 400, (name, value)
            assert f"The page cursor &#39;{name}&#39; must be an entry number." in response.text
        assert client.get(path, query_string={name: str(largest)}).status_code == 200
        assert client.get(path, query_string={name: ""}).status_code == 200


@pytest.fixture
def rectification(session, client, staff):
    """An open rectification request, with an officer signed in."""
    staff("compliance_officer")
    customer = make_customer(session, email="rectify.me@example.org")
    row = dsr.file_request(session, customer, "rectification", channel="staff", actor="t")
    return row


def _act(client, row, action: str, **data):
    token = csrf_token(client, f"/compliance/requests/{row.id}")
    return client.post(
        f"/compliance/requests/{row.id}/{action}", data={"csrf_token": token, **data}
    )


def test_an_assignee_that_is_not_a_staff_id_is_a_clear_400(client, rectification):
    for value in [*ODD_NUMBERS, "abc"]:
        response = _act(client, rectification, "assign", assignee=value)
        assert response.status_code == 400, value
        assert "Choose the assignee from the list of staff." in response.text
    assert _act(client, rectification, "assign", assignee="").status_code == 303


def test_rectification_refuses_unknown_fields_and_empty_values(client, rectification):
    unknown, empty = "Choose the field to correct from the list.", "Enter the corrected value"
    for field, value, message in [
        ("shoe_size", "", unknown),
        ("shoe_size", "42", unknown),
        ("", "", unknown),
        ("city", "", empty),
        ("city", "  ", empty),
    ]:
        response = _act(client, rectification, "rectify", field=field, value=value)
        assert response.status_code == 400, (field, value)
        assert message in response.text


def test_signup_with_a_malformed_notice_version_creates_nothing(portal_client):
    notice = db.session.scalar(select(Notice.id).where(Notice.purpose == "offers"))
    data = {
        "email": "odd@example.com",
        "password": TEST_PASSWORD,
        "confirm": TEST_PASSWORD,
        "language": "en",
        "timezone": "Europe/Rome",
        "age_confirmed": "y",
        "consent": ["offers:email"],
    }
    for value in ODD_NUMBERS:
        token = csrf_token(portal_client, "/signup")
        response = portal_client.post(
            "/signup", data={**data, "csrf_token": token, "notice-offers": value}
        )
        assert response.status_code == 400, value
        assert "Please read the notice before agreeing." in response.text
        assert find_customer_by_email(db.session, "odd@example.com") is None
    token = csrf_token(portal_client, "/signup")
    fine = portal_client.post(
        "/signup", data={**data, "csrf_token": token, "notice-offers": str(notice)}
    )
    assert fine.status_code == 302


@pytest.mark.parametrize(
    ("text", "reason"),
    [("{{ 1/0 }}", "divides by zero"), ("{{ 'x' * 100000000 }}", "more than 100,000")],
)
def test_a_template_that_cannot_render_is_refused_with_the_reason(client, staff, text, reason):
    staff("marketer")
    token = csrf_token(client, "/marketing/campaigns/new")
    form = {"csrf_token": token, **campaign_form(body_text_a=text)}
    preview = client.post("/marketing/campaigns/new", data={**form, "preview": "Preview"})
    assert preview.status_code == 400 and reason in preview.text
    as_json = client.post("/marketing/campaigns/preview.json", data=form)
    assert as_json.status_code == 400
    assert any(reason in problem for problem in as_json.get_json()["problems"])
    saved = client.post("/marketing/campaigns/new", data={**form, "save": "Save draft"})
    assert saved.status_code == 400 and reason in saved.text
    assert len(preview.data) < 200_000
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"segment": "[" * 5_000}, "The segment is not valid JSON."),
        ({"segment": '{"a": ' * 3_000}, "The segment is not valid JSON."),
        ({"segment": "9" * 5_000}, "The segment is not valid JSON."),
        (
            {
                "schedule_kind": "at",
                "scheduled_at": "9999-12-31T23:59",
                "timezone": "America/New_York",
            },
            "Choose a date between the years 2000 and 9998.",
        ),
        (
            {"schedule_kind": "at", "scheduled_at": "0001-01-01T00:00", "timezone": "Asia/Tokyo"},
            "Choose a date between the years 2000 and 9998.",
        ),
    ],
)
def test_a_campaign_with_an_impossible_segment_or_moment_is_refused(client, staff, fields, message):
    staff("marketer")
    token = csrf_token(client, "/marketing/campaigns/new")
    data = {"csrf_token": token, **campaign_form(**fields), "save": "Save draft"}
    response = client.post("/marketing/campaigns/new", data=data)
    assert response.status_code == 400
    assert message in response.text
    assert db.session.scalar(select(func.count()).select_from(Campaign)) == 0


def test_a_nul_character_anywhere_is_a_clear_400_on_every_engine(app_factory, create_staff):
    """PostgreSQL cannot hold or compare text with NUL: it never reaches a query."""
    app = app_factory(SMS_INBOUND_SECRET="sms-secret-for-tests")
    client = app.test_client()
    officer = create_staff("compliance_officer")
    sign_in(client, officer.email, TEST_PASSWORD)
    token = csrf_token(client, "/compliance/requests/new")
    message = "The request holds a NUL character, which no field may contain."
    answers = [
        client.get("/compliance/access-log", query_string={"actor": "x\x00"}),
        client.get("/compliance/ledger", query_string={"ref": "\x00"}),
        client.get("/compliance/ledger/%00/receipt.json"),
        client.post("/compliance/requests/new", data={"csrf_token": token, "details": "\x00"}),
        client.post("/compliance/requests/new", data={"csrf_token": token, "x\x00": "y"}),
    ]
    for response in answers:
        assert response.status_code == 400, response.request.url
        assert message in response.text
    secret = {"X-Assenso-Sms-Secret": "sms-secret-for-tests", "Accept": "application/json"}
    sms = client.post("/sms/inbound", json={"text": "STOP", "message_id": "\x00"}, headers=secret)
    assert sms.status_code == 400 and sms.get_json()["error"]["message"] == message
    deep = client.post(
        "/sms/inbound", data="[" * 100_000, headers=secret, content_type="application/json"
    )
    assert deep.status_code == 400
