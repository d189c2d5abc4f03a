"""Messages of domain errors the portal shows, listed so they are extracted for translation.

Services raise errors in English (logs and the API stay English); the portal shows them through
``gettext``, which finds the translations of exactly these texts.
"""

from flask_babel import lazy_gettext as _l

DOMAIN_MESSAGES = (
    # app/web/errors.py: the error pages
    _l("The request could not be understood. Please check what you sent and try again."),
    _l("Please sign in to continue."),
    _l("You do not have access to this page."),
    _l("There is no page at this address."),
    _l("This page does not accept that kind of request."),
    _l("What you sent is too large."),
    _l("Too many attempts. Please wait a minute and try again."),
    _l("Something went wrong on our side. It has been logged; please try again later."),
    _l("Your form expired or was sent from elsewhere. Please reload the page and retry."),
    _l("The current password is not correct."),
    _l("Do not use your e-mail address in your password."),
    _l("This password is too common or too easy to guess. A few unrelated words work well."),
    _l("Use at most 256 characters."),
    _l("An account with this e-mail address is being created. Please try again."),
    _l("Your account could not be created just now. Please try again."),
    _l("The erasure could not be finished just now. Please try again."),
    _l("That is not a valid e-mail address."),
    _l("This link cannot be used."),
    _l("This unsubscribe link has expired."),
    _l("This unsubscribe link is not valid."),
    # app/self_service/consents.py and app/web/portal
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
    _l(
        "We cannot send text messages at the moment, so a consent to text messages cannot be "
        "confirmed. You can agree to e-mail instead."
    ),
)
