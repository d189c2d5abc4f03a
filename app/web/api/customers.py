"""Finding the customer an API call names (by the integrator's reference or e-mail address)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from app.customers.models import Customer
from app.vault.directory import find_customer_by_email
from app.vault.references import find_by_reference
from app.web.api.schemas import ByReference, CustomerIdentifier
from app.web.problems import ApiProblem


def resolve(session: Session, who: CustomerIdentifier) -> Customer:
    """The live customer ``who`` names; a 404 problem when there is none."""
    if isinstance(who, ByReference):
        customer = find_by_reference(session, who.reference)
    else:
        customer = find_customer_by_email(session, who.email)
    if customer is None:
        raise ApiProblem(404, "No such customer.", kind="customer-unknown")
    return customer


def resolve_reference(session: Session, reference: str) -> Customer:
    """The live customer known by ``reference``; a 404 problem when there is none."""
    customer = find_by_reference(session, reference)
    if customer is None:
        raise ApiProblem(404, "No such customer.", kind="customer-unknown")
    return customer
