"""Property-based fuzzing of the API from its own OpenAPI document (Schemathesis).

Every operation gets bodies, queries and headers drawn from the document, valid and not, with
a key holding every scope and some real customers in the database. Every answer must be below
500 and match the document: status code, content type, body schema. Bounded (``FUZZ_EXAMPLES``
examples per operation) so it adds seconds to ``make test``, on SQLite.
"""

from __future__ import annotations

import os
import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, settings

from app.integrations.api_keys import SCOPES, create_key
from tests.integration.builders import ensure_notice, make_customer

pytestmark = pytest.mark.fuzz
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10"))
_KEY: dict[str, str] = {}
#: A request the document allows may still break a rule of the domain that no schema states
#: (an unknown purpose or jurisdiction, a time zone that does not exist): that is a 400 with
#: the reason. A 422 for such a request would mean the document and the validation disagree.
CONFIG = schemathesis.Config.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "400", "401", "403", "404", "409", "429"]
            }
        }
    }
)


@pytest.fixture
def api_schema(engine_name, app_factory):
    """The API's document, loaded from the application under test, and a world to call."""
    if engine_name != "sqlite":
        pytest.skip("the schema fuzz runs on SQLite")
    app = app_factory()
    from app.extensions import db

    with app.app_context():
        session = db.session
        _row, _KEY["secret"] = create_key(session, name="fuzz", scopes=SCOPES, created_by="t")
        for purpose in ("offers", "birthday"):
            ensure_notice(session, purpose)
        make_customer(session, email="fuzz@example.org")
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, config=CONFIG)


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_operation_answers_as_documented_and_never_fails(case):
    if case.headers and "Idempotency-Key" in case.headers:
        # Drawn keys repeat across different bodies, which is rightly a 422 of its own
        # (tests/api/test_idempotency.py): each case gets a key of its own.
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
    case.call_and_validate(headers={"Authorization": f"Bearer {_KEY['secret']}"})
