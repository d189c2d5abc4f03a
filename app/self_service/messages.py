"""Messages of domain errors the portal shows, listed so they are extracted for translation.

Services raise errors in English (logs and the API stay English); the portal shows them through
``gettext``, which finds the translations of exactly these texts.
"""

from flask_babel import lazy_gettext as _l

DOMAIN_MESSAGES = (
    _l("This reset link is not valid, has expired or was already used."),
    _l("This confirmation link has expired. Please ask again."),
    _l("This confirmation link is not valid."),
    _l("This request was already confirmed, cancelled or replaced."),
    _l("An account with this e-mail address already exists."),
    _l("Another account already uses this e-mail address."),
    _l("Add a mobile number to agree to text messages."),
    _l("Add a mobile number on the My data page first."),
    _l("Please read the notice before agreeing."),
    _l("The notice was updated since you opened the page. Please read it again."),
    _l("This choice was changed in another window. Reload to see it."),
    _l("This page was changed in another window. Reload it to see the current values."),
    _l("These settings were changed in another window. Reload to see them, then try again."),
    _l("The password is not correct. Nothing was deleted."),
    _l("Choose a pause date in the future."),
    _l("That choice is not offered."),
    _l("The form could not be read. Please reload the page and try again."),
    _l("Contact windows need days (Monday to Sunday) and a start and end time that differ."),
    _l("This field cannot be empty."),
    _l("Use at least 12 characters."),
    _l("Enter a date like 1990-04-25."),
    _l("A birthday cannot be in the future."),
    _l("Choose a time zone from the list, like Europe/Rome."),
    _l("Enter interests as a comma-separated list."),
    _l("Interests use letters, digits and hyphens, 32 at most."),
    _l("A postcode has up to 10 letters, digits, spaces or hyphens."),
    _l("Choose one of the offered languages."),
)
