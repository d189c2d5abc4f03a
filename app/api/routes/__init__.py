"""The API's routes, one module per resource; each registers on :data:`app.api.bp`."""

from app.api.routes import (  # noqa: F401
    consents,
    customers,
    decisions,
    events,
    reference,
    requests,
    webhooks,
)
