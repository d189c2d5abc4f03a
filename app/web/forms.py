"""The base of every form: fields are read from form-encoded bodies only, so each is text.

Flask-WTF also fills a form from a JSON body when the request says it is JSON; a field would
then hold a number, a list or ``null``, which no validator or view expects. Every form of the
application derives from :class:`Form`, which ignores JSON bodies: such a request is a form
sent empty, refused by validation with the usual messages (and by CSRF protection unless it
carries a token header).
"""

from __future__ import annotations

from flask import request
from flask_wtf import FlaskForm


class Form(FlaskForm):
    """A Flask-WTF form (CSRF-protected) filled only from ``request.form`` and ``request.files``."""

    class Meta(FlaskForm.Meta):
        """Flask-WTF's settings, without reading JSON bodies."""

        def wrap_formdata(self, form, formdata):
            """The posted fields; ``None`` (nothing posted) for a body that is not a form."""
            if request.is_json and not (request.form or request.files):
                formdata = None
            return super().wrap_formdata(form, formdata)
