"""The API's routes, one module per resource; each registers on :data:`app.api.bp`."""

from app.api.routes import consents, customers, decisions, reference, requests  # noqa: F401
