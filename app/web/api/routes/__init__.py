"""The API's routes, one module per resource; each registers on :data:`app.web.api.bp`."""

from app.web.api.routes import (  # noqa: F401
    consents,
    customers,
    decisions,
    events,
    reference,
    requests,
    webhooks,
)
