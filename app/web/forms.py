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
from markupsafe import Markup, escape
from wtforms.widgets import Select


class Form(FlaskForm):
    """A Flask-WTF form (CSRF-protected) filled only from ``request.form`` and ``request.files``."""

    class Meta(FlaskForm.Meta):
        """Flask-WTF's settings, without reading JSON bodies."""

        def wrap_formdata(self, form, formdata):
            """The posted fields; ``None`` (nothing posted) for a body that is not a form."""
            if request.is_json and not (request.form or request.files):
                formdata = None
            return super().wrap_formdata(form, formdata)


class ListSelect(Select):
    """WTForms' select widget, each plain option written with one format string.

    The stock widget builds every option's attributes through ``html_params``; for the grouped
    list of about 420 time zones that was nearly half of the My data page's time. Options with
    attributes of their own (``render_kw``) still go through the stock code.
    """

    @classmethod
    def render_option(cls, choice, **kwargs):
        """``<option selected value="…">label</option>``, escaped as the stock widget does."""
        if kwargs or choice.render_kw:
            return super().render_option(choice, **kwargs)
        value = str(choice.value) if isinstance(choice.value, bool) else choice.value
        selected = " selected" if choice.selected else ""
        label = escape(choice.label or choice.value)
        # Both parts are escaped here; Markup.format would escape them again, at twice the cost.
        return Markup(f'<option{selected} value="{escape(value)}">{label}</option>')  # noqa: S704
