"""The API's request and response bodies (pydantic models; the OpenAPI document is built
from them)."""

from __future__ import annotations

from datetime import datetime
from ipaddress import ip_address
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
)

Name = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9_]+$")


class Strict(BaseModel):
    """Bodies refuse unknown fields (a misspelt field is an error, not silently ignored) and
    values of another JSON type (no ``"5"`` for 5, no number for a date-time)."""

    model_config = ConfigDict(extra="forbid", strict=True)


class Query(BaseModel):
    """Query strings: unknown parameters refused; numbers arrive as text."""

    model_config = ConfigDict(extra="forbid")


def _text_only(value: object) -> object:
    if value is not None and not isinstance(value, str):
        raise ValueError("give this value as a string")
    return value


def _number_only(value: object) -> object:
    if isinstance(value, str | bool):
        raise ValueError("give this value as a JSON number")
    return value


#: A whole number (``1.0`` counts, ``"1"`` does not).
Whole = Annotated[int, Field(strict=False), BeforeValidator(_number_only)]
#: A date-time with its offset, given as an RFC 3339 string.
Moment = Annotated[AwareDatetime, Field(strict=False), BeforeValidator(_text_only)]


def _ip_address(value: str) -> str:
    return str(ip_address(value))


#: An IPv4 or IPv6 address, given as a string.
IpAddress = Annotated[
    str,
    AfterValidator(_ip_address),
    WithJsonSchema({"type": "string", "anyOf": [{"format": "ipv4"}, {"format": "ipv6"}]}),
]


class Problem(BaseModel):
    """An RFC 9457 problem: what went wrong, for a person to read."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str


#: An integrator's reference: 1 to 200 characters, no control characters.
REFERENCE_PATTERN = r"^[^\x00-\x1f\x7f]{1,200}$"
Reference = Field(min_length=1, max_length=200, pattern=REFERENCE_PATTERN)


class ByReference(Strict):
    """A customer known by the integrator's own reference."""

    reference: str = Reference


class ByEmail(Strict):
    """A customer known by e-mail address."""

    email: str = Field(min_length=3, max_length=320)


#: A customer, by the integrator's own reference or by e-mail address.
CustomerIdentifier = ByReference | ByEmail


class Intent(Strict):
    """What is to be sent: why, how, when and with which profile fields."""

    purpose: str = Name
    channel: str = Name
    at: Moment | None = Field(None, description="when it would be sent (default: now)")
    template_fields: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(
        default_factory=list, max_length=50
    )


class DecisionRequest(Intent):
    """May this customer be contacted for this purpose on this channel (at this time)?"""

    customer: CustomerIdentifier


class BatchDecisionRequest(Intent):
    """The same question for up to 1,000 customers."""

    customers: list[CustomerIdentifier] = Field(min_length=1, max_length=1000)


class Decision(BaseModel):
    """The answer the campaign pipeline would give: allow, deny or defer until a time."""

    customer: CustomerIdentifier
    outcome: Literal["allow", "deny", "defer"]
    rule_id: str
    explanation: str
    defer_until: datetime | None
    policy_hash: str


class BatchDecision(BaseModel):
    """One decision per customer asked about, in the order asked."""

    decisions: list[Decision]


class NewCustomer(Strict):
    """A customer made by the integrator, known by their own reference."""

    reference: str = Reference
    email: str = Field(min_length=3, max_length=320)
    profile: dict[str, Any] = Field(default_factory=dict, max_length=30)
    language: str = Field("en", min_length=2, max_length=8)
    jurisdiction: str = Field(min_length=2, max_length=8)
    timezone: str = Field("Europe/Rome", min_length=1, max_length=64)


class CustomerCreated(BaseModel):
    """The new customer: the integrator's reference and the platform's pseudonymous id."""

    reference: str
    customer_id: str
    created_at: datetime


class Notice(BaseModel):
    """A notice as shown to customers when asking for consent."""

    id: int
    purpose: str
    language: str
    version: int
    title: str
    text: str
    sha256: str
    effective_at: datetime


class NoticeQuery(Query):
    """Which notices: one purpose (default every purpose) in one language."""

    purpose: str | None = Field(None, min_length=1, max_length=64)
    language: str = Field("en", min_length=2, max_length=8)


class NoticeList(BaseModel):
    """The notices in force."""

    items: list[Notice]


class Evidence(Strict):
    """How the customer gave or withdrew consent: when, from which address and browser."""

    at: Moment | None = None
    ip_address: IpAddress | None = None
    user_agent: str | None = Field(None, max_length=400)


class ConsentGrant(Strict):
    """Consent given by the customer after reading the notice ``notice_id``."""

    customer: CustomerIdentifier
    purpose: str = Name
    channel: str = Name
    notice_id: Whole = Field(ge=1, le=2**31 - 1)
    evidence: Evidence = Field(default_factory=lambda: Evidence.model_validate({}))


class ConsentWithdrawal(Strict):
    """Consent withdrawn by the customer."""

    customer: CustomerIdentifier
    purpose: str = Name
    channel: str = Name
    evidence: Evidence = Field(default_factory=lambda: Evidence.model_validate({}))


class ConsentRecorded(BaseModel):
    """The consent record and its receipt (record, notice, inclusion proof, checkpoint)."""

    status: Literal["granted", "pending", "withdrawn", "unchanged"]
    record_id: str | None
    receipt: dict[str, Any] | None


class ConsentStateOut(BaseModel):
    """The state of one (purpose, channel)."""

    purpose: str
    channel: str
    status: str
    granted_at: datetime | None
    expires_at: datetime | None
    notice_version: int | None


class Preferences(BaseModel):
    """What the customer allows: consents, limits, what they share; profile values only
    with ``customers:read``."""

    reference: str
    language: str
    jurisdiction: str
    timezone: str
    objected: bool
    consents: list[ConsentStateOut]
    contact: dict[str, Any]
    sharing: dict[str, list[str]]
    profile: dict[str, str] | None


class NewRequest(Strict):
    """A data-subject request received by the integrator."""

    customer: CustomerIdentifier
    kind: str = Name
    details: str | None = Field(None, max_length=4000)


class RequestFiled(BaseModel):
    """The request as the compliance queue holds it."""

    id: int
    kind: str
    status: str
    received_at: datetime
    due_at: datetime


class Purchase(Strict):
    """A purchase: stored only for customers who share their purchase history."""

    customer: CustomerIdentifier
    at: Moment
    amount: str = Field(pattern=r"^\d{1,9}(\.\d{1,2})?$", description="e.g. 12.50")
    currency: str = Field(pattern=r"^[A-Z]{3}$")
    category: str = Field(min_length=1, max_length=40, pattern=r"^[a-z0-9][a-z0-9_-]*$")
    order_reference: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._-]+$")


class PurchaseOutcome(BaseModel):
    """Whether the purchase was stored, and why not when it was not."""

    stored: bool
    reason: str | None


class PageQuery(Query):
    """Cursor pagination: at most ``limit`` items after ``cursor``."""

    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, max_length=40)


class NewSubscription(Strict):
    """A webhook subscription."""

    url: str = Field(min_length=8, max_length=2000, pattern=r"^https?://")
    event_types: list[str] = Field(min_length=1, max_length=16)
    description: str = Field("", max_length=200)


class Subscription(BaseModel):
    """A webhook subscription (its secret is shown only when it is made)."""

    id: int
    url: str
    event_types: list[str]
    description: str
    active: bool
    disabled_reason: str | None
    created_at: datetime
    secret: str | None = None


class SubscriptionPage(BaseModel):
    """A page of subscriptions."""

    items: list[Subscription]
    next_cursor: str | None


class Message(BaseModel):
    """One webhook message and its delivery state."""

    id: int
    msg_id: str
    event_type: str
    status: str
    attempts: int
    created_at: datetime
    delivered_at: datetime | None
    last_status_code: int | None = None
    last_error: str | None = None


class MessagePage(BaseModel):
    """A page of a subscription's messages, newest first."""

    items: list[Message]
    next_cursor: str | None
