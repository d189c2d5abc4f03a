"""Customer-side forms: sign up, forgotten password, new password, language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    PasswordField,
    SelectChoice,
    SelectField,
    StringField,
    SubmitField,
    TelField,
)
from wtforms.validators import DataRequired, EqualTo, Length

from app.accounts.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from app.web.forms import Form, ListSelect

LANGUAGE_CHOICES = [
    SelectChoice("en", "English", render_kw={"lang": "en"}),
    SelectChoice("it", "Italiano", render_kw={"lang": "it"}),
]
PASSWORD_HINT = _l(
    "At least %(n)d characters. A few unrelated words work well.", n=MIN_PASSWORD_LENGTH
)
LENGTH_MESSAGE = _l(
    "Use between %(a)d and %(b)d characters.", a=MIN_PASSWORD_LENGTH, b=MAX_PASSWORD_LENGTH
)


def _new_password(label) -> PasswordField:
    return PasswordField(
        label,
        validators=[
            DataRequired(message=_l("Choose a password.")),
            Length(
                min=MIN_PASSWORD_LENGTH,
                max=MAX_PASSWORD_LENGTH,
                message=LENGTH_MESSAGE,
            ),
        ],
    )


def _repeat() -> PasswordField:
    return PasswordField(
        _l("Repeat the password"),
        validators=[
            DataRequired(message=_l("Repeat the password.")),
            EqualTo("password", message=_l("The passwords differ.")),
        ],
    )


class SignUpForm(Form):
    """Account details; consents are per purpose x channel checkboxes parsed by the view."""

    email = EmailField(
        _l("E-mail address"),
        validators=[DataRequired(message=_l("Enter your e-mail address.")), Length(max=254)],
    )
    first_name = StringField(_l("First name (optional)"), validators=[Length(max=80)])
    phone = TelField(
        _l("Mobile number (optional, needed for text messages)"), validators=[Length(max=32)]
    )
    password = _new_password(_l("Password"))
    confirm = _repeat()
    language = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, validate_choice=True)
    timezone = SelectField(_l("Time zone"), validate_choice=True, widget=ListSelect())
    age_confirmed = BooleanField()
    submit = SubmitField(_l("Create my account"))


class ForgotPasswordForm(Form):
    """The e-mail address to send a reset link to."""

    email = EmailField(
        _l("E-mail address"),
        validators=[DataRequired(message=_l("Enter your e-mail address.")), Length(max=254)],
    )
    submit = SubmitField(_l("Send me a reset link"))


class ResetPasswordForm(Form):
    """A new password, twice."""

    password = _new_password(_l("New password"))
    confirm = _repeat()
    submit = SubmitField(_l("Set the new password"))


class ConfirmForm(Form):
    """One button confirming a consent (a GET alone never confirms: mail scanners follow links)."""

    submit = SubmitField(_l("Confirm"))


class LanguageForm(Form):
    """The language switcher."""

    lang = SelectField(_l("Language"), choices=LANGUAGE_CHOICES, validate_choice=True)
    next = HiddenField()
