"""Forms of the administration area."""

from __future__ import annotations

from wtforms import EmailField, PasswordField, SelectChoice, SelectField, SubmitField
from wtforms.validators import DataRequired, Length

from app.accounts.models import STAFF_ROLES
from app.accounts.passwords import MAX_PASSWORD_LENGTH, MIN_PASSWORD_LENGTH
from app.web.forms import Form

ROLE_LABELS = {
    "admin": "Administrator",
    "marketer": "Marketer",
    "compliance_officer": "Compliance officer",
}


class StaffUserForm(Form):
    """Create a staff account with one role."""

    email = EmailField("E-mail address", validators=[DataRequired(), Length(max=254)])
    role = SelectField("Role", choices=[SelectChoice(r, ROLE_LABELS[r]) for r in STAFF_ROLES])
    password = PasswordField(
        "Initial password",
        validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH, max=MAX_PASSWORD_LENGTH)],
    )
    submit = SubmitField("Create account")
