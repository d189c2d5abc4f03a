"""Portal forms. Matrix choices (sharing, contact windows) are parsed from the posted names."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    DateField,
    HiddenField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    SubmitField,
)
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.accounts.passwords import MAX_PASSWORD_LENGTH
from app.self_service.contact import MAX_WEEKLY_CAP
from app.vault.settings import LANGUAGE_NAMES
from app.web.forms import Form, ListSelect


class VersionedForm(Form):
    """A form that carries the version or fingerprint of what it showed."""

    version = HiddenField(validators=[DataRequired(), Length(max=64)])


class ConsentForm(VersionedForm):
    """Give consent under the notice shown (``notice_id``) for one purpose and channel."""

    notice_id = HiddenField(validators=[DataRequired(), Length(max=12)])
    submit = SubmitField(_l("I agree"))


class ActionForm(Form):
    """A one-button action (withdraw, object): only the CSRF token."""


class LimitsForm(VersionedForm):
    """Weekly cap, pause and preferred channel; contact windows come from the matrix rows."""

    weekly_cap = IntegerField(
        _l("Maximum messages per week"),
        validators=[Optional(), NumberRange(min=0, max=MAX_WEEKLY_CAP)],
    )
    paused_until = DateField(_l("Pause all messages until"), validators=[Optional()])
    preferred_channel = SelectField(
        _l("Preferred channel"),
        choices=[
            SelectChoice("", _l("No preference")),
            SelectChoice("email", _l("E-mail")),
            SelectChoice("sms", _l("Text message")),
        ],
        validate_choice=True,
    )
    submit = SubmitField(_l("Save contact limits"))


class SettingsForm(VersionedForm):
    """Language and time zone, held once on the account; zone choices come from the view."""

    language = SelectField(
        _l("Language of our messages"),
        choices=[
            SelectChoice(code, name, render_kw={"lang": code})
            for code, name in LANGUAGE_NAMES.items()
        ],
        validate_choice=True,
    )
    timezone = SelectField(_l("Time zone"), validate_choice=True, widget=ListSelect())
    submit = SubmitField(_l("Save language and time zone"))


class DeleteAccountForm(Form):
    """Erasure needs the password again."""

    password = PasswordField(
        _l("Your password"),
        validators=[DataRequired(), Length(max=MAX_PASSWORD_LENGTH)],
    )
    submit = SubmitField(_l("Delete my account and data"))
