"""Forms of the marketer console (Flask-WTF; choices are ``SelectChoice`` objects)."""

from __future__ import annotations

from wtforms import (
    DateTimeLocalField,
    HiddenField,
    IntegerField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import (
    InputRequired,
    Length,
    NumberRange,
    Optional,
    Regexp,
    ValidationError,
)

from app.campaigns.models import SCHEDULE_KINDS
from app.campaigns.schedule import valid_timezone
from app.marketing.calendar import moments
from app.policy_sets.in_force import known_channels, marketing_purposes, purpose_labels
from app.web.forms import Form

SCHEDULE_LABELS = {
    "now": "As soon as scheduled",
    "at": "At a date and time",
    "local_time": "At a time of day in each recipient's time zone",
    "cron": "Recurring (cron expression)",
}
TEXT_LIMIT = 100_000
#: How channels read in the console (the policy names them by id only).
CHANNEL_LABELS = {"email": "E-mail", "sms": "SMS (text message)"}


def _choices(values, labels=None) -> list[SelectChoice]:
    return [SelectChoice(v, (labels or {}).get(v, v)) for v in values]


class CampaignForm(Form):
    """A campaign draft: settings, segment, schedule and up to two template variants."""

    name = StringField("Campaign name", validators=[InputRequired(), Length(max=200)])
    purpose = SelectField("Purpose", validators=[InputRequired()])
    channel = SelectField("Channel", validators=[InputRequired()])
    segment = TextAreaField(
        "Segment JSON (advanced, optional)", validators=[Optional(), Length(max=20_000)]
    )
    schedule_kind = SelectField(
        "When", choices=_choices(SCHEDULE_KINDS, SCHEDULE_LABELS), default="now"
    )
    moment = SelectField("Calendar moment (optional)", default="")
    scheduled_at = DateTimeLocalField(
        "Date and time", format="%Y-%m-%dT%H:%M", validators=[Optional()]
    )
    timezone = StringField(
        "Time zone of the date, time and recurrence",
        default="UTC",
        validators=[InputRequired(), Length(max=64)],
    )
    local_time = StringField(
        "Local send time (HH:MM)",
        validators=[Optional(), Regexp(r"^([01]\d|2[0-3]):[0-5]\d$", message="Use HH:MM.")],
    )
    cron = StringField("Cron expression", validators=[Optional(), Length(max=120)])
    holdout_percent = IntegerField(
        "Holdout group (% not contacted, for comparison)",
        default=0,
        validators=[Optional(), NumberRange(0, 50)],
    )
    throttle_per_minute = IntegerField(
        "Throttle (messages per minute, optional)", validators=[Optional(), NumberRange(1, 10**6)]
    )
    subject_a = StringField("Subject (variant A)", validators=[Length(max=300)])
    body_text_a = TextAreaField(
        "Text (variant A)", validators=[InputRequired(), Length(max=TEXT_LIMIT)]
    )
    body_html_a = TextAreaField(
        "HTML (variant A, optional)", validators=[Optional(), Length(max=TEXT_LIMIT)]
    )
    weight_a = IntegerField(
        "Weight of A", default=100, validators=[Optional(), NumberRange(0, 10_000)]
    )
    subject_b = StringField("Subject (variant B)", validators=[Optional(), Length(max=300)])
    body_text_b = TextAreaField(
        "Text (variant B, optional: leave empty for no A/B test)",
        validators=[Optional(), Length(max=TEXT_LIMIT)],
    )
    body_html_b = TextAreaField(
        "HTML (variant B, optional)", validators=[Optional(), Length(max=TEXT_LIMIT)]
    )
    weight_b = IntegerField(
        "Weight of B", default=100, validators=[Optional(), NumberRange(0, 10_000)]
    )
    version = HiddenField()
    preview = SubmitField("Preview")
    save = SubmitField("Save draft")

    def __init__(self, *args, **kwargs) -> None:
        """Fill the choices from the loaded policies and the calendar."""
        super().__init__(*args, **kwargs)
        self.purpose.choices = _choices(marketing_purposes(), purpose_labels())
        self.channel.choices = _choices(known_channels(), CHANNEL_LABELS)
        self.moment.choices = [SelectChoice("", "None")] + [
            SelectChoice(m.id, f"{m.name} ({', '.join(m.countries)})") for m in moments()
        ]

    def validate_scheduled_at(self, field) -> None:
        """A moment every time zone can express in UTC (years 2000 to 9998)."""
        if field.data is not None and not 2000 <= field.data.year <= 9998:
            raise ValidationError("Choose a date between the years 2000 and 9998.")

    def validate_timezone(self, field) -> None:
        """An IANA time zone such as Europe/Rome."""
        if not valid_timezone(field.data or ""):
            raise ValidationError("Use an IANA time zone, such as Europe/Rome or UTC.")


class ActionForm(Form):
    """A state change of a campaign (schedule, pause…), bound to the version shown."""

    version = HiddenField(validators=[InputRequired(), Regexp(r"^\d{1,9}$")])


class RecomputeForm(Form):
    """Recompute the customer value scores."""

    submit = SubmitField("Recompute value scores")
