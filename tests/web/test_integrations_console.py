"""The admin's integration pages: API keys shown once and revoked, webhooks and replay."""

from __future__ import annotations

import re

from sqlalchemy import select

from app.integrations.models import ApiKey
from app.webhooks.models import WebhookMessage
from app.webhooks.outbox import enqueue
from tests.helpers import csrf_token


def test_an_admin_makes_a_key_sees_it_once_and_revokes_it(client, create_staff, login, session):
    login(create_staff("admin").email)
    token = csrf_token(client, "/admin/api-keys")
    made = client.post(
        "/admin/api-keys",
        data={"csrf_token": token, "name": "till", "scopes": ["decisions:read", "events:write"]},
    )
    assert made.status_code == 201
    secret = re.search(r"ak_[0-9a-f]{12}_[A-Za-z0-9_-]+", made.get_data(as_text=True)).group(0)
    assert secret not in client.get("/admin/api-keys").get_data(as_text=True)
    call = {"customer": {"reference": "x"}, "purpose": "offers", "channel": "email"}
    auth = {"Authorization": f"Bearer {secret}"}
    assert client.post("/api/v1/decisions", json=call, headers=auth).status_code == 200
    key = session.scalar(select(ApiKey).where(ApiKey.name == "till"))
    client.post(f"/admin/api-keys/{key.id}/revoke", data={"csrf_token": token})
    assert client.post("/api/v1/decisions", json=call, headers=auth).status_code == 401


def test_a_key_without_scopes_is_refused(client, create_staff, login):
    login(create_staff("admin").email)
    token = csrf_token(client, "/admin/api-keys")
    response = client.post("/admin/api-keys", data={"csrf_token": token, "name": "none"})
    assert response.status_code == 400


def test_an_admin_subscribes_and_replays_a_message(client, create_staff, login, session):
    login(create_staff("admin").email)
    token = csrf_token(client, "/admin/webhooks")
    made = client.post(
        "/admin/webhooks",
        data={
            "csrf_token": token,
            "url": "https://receiver.example/hook",
            "event_types": ["customer.erased"],
        },
    )
    assert made.status_code == 201
    assert "whsec_" in made.get_data(as_text=True)
    enqueue(session, "customer.erased", "00000000-0000-4000-8000-000000000000", {})
    session.commit()
    message = session.scalars(select(WebhookMessage)).one()
    message.status = "failed"
    session.commit()
    log = client.get(f"/admin/webhooks/{message.subscription_id}")
    assert message.msg_id in log.get_data(as_text=True)
    client.post(
        f"/admin/webhooks/{message.subscription_id}/messages/{message.id}/replay",
        data={"csrf_token": token},
    )
    session.refresh(message)
    assert message.status == "pending"
    client.post(f"/admin/webhooks/{message.subscription_id}/disable", data={"csrf_token": token})
    assert "disabled" in client.get("/admin/webhooks").get_data(as_text=True)
