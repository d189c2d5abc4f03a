"""Forms of the integration pages: API keys and webhook subscriptions."""

from __future__ import annotations

from wtforms import DateField, SelectChoice, SelectMultipleField, StringField, URLField
from wtforms.validators import DataRequired, Length, Optional
from wtforms.widgets import CheckboxInput, ListWidget

from app.integrations.api_keys import SCOPES
from app.web.forms import Form
from app.webhooks.outbox import EVENT_TYPES


class CheckboxesField(SelectMultipleField):
    """Several choices as a list of check boxes (works without JavaScript)."""

    widget = ListWidget(prefix_label=False)
    option_widget = CheckboxInput()


class ApiKeyForm(Form):
    """Make an API key."""

    name = StringField("Name (who uses the key)", validators=[DataRequired(), Length(max=80)])
    scopes = CheckboxesField("Scopes", choices=[SelectChoice(s, s) for s in SCOPES])
    expires = DateField("Expires on (optional)", validators=[Optional()])
    rate_limit = StringField(
        "Rate limit (optional, e.g. 600 per minute)", validators=[Optional(), Length(max=40)]
    )


class SubscriptionForm(Form):
    """Subscribe a receiver to webhook events."""

    url = URLField("Receiver URL", validators=[DataRequired(), Length(max=2000)])
    event_types = CheckboxesField("Events", choices=[SelectChoice(e, e) for e in EVENT_TYPES])
    description = StringField("Description (optional)", validators=[Optional(), Length(max=200)])
