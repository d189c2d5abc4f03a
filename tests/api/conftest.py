"""Fixtures of the API tests: keys with chosen scopes, and a client sending them."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from app.integrations.api_keys import SCOPES, create_key

_count = iter(range(1, 10**6))


@pytest.fixture
def make_key(session) -> Callable[..., str]:
    """``make_key(*scopes, **options)`` -> the full key (every scope when none is named)."""

    def build(*scopes: str, **options) -> str:
        _row, secret = create_key(
            session,
            name=options.pop("name", f"integration {next(_count)}"),
            scopes=scopes or SCOPES,
            created_by="test",
            **options,
        )
        return secret

    return build


@pytest.fixture
def api(client, make_key):
    """``api.post(path, json=..., key=None, headers=None)``: calls with a full-scope key."""
    default = make_key(name="default integration")

    class Api:
        key = default

        def _headers(self, key, headers):
            return {"Authorization": f"Bearer {key or default}", **(headers or {})}

        def get(self, path, key=None, headers=None, **kw):
            return client.get("/api/v1" + path, headers=self._headers(key, headers), **kw)

        def post(self, path, json=None, key=None, headers=None, **kw):
            return client.post(
                "/api/v1" + path, json=json, headers=self._headers(key, headers), **kw
            )

        def delete(self, path, key=None, headers=None, **kw):
            return client.delete("/api/v1" + path, headers=self._headers(key, headers), **kw)

    return Api()
