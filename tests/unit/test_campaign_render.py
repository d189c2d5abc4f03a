"""Campaign templates: fields used, validation against a purpose, sandboxed strict rendering."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from app.campaigns.render import TemplateFieldMissing, render_message, render_problems
from app.campaigns.template_fields import TemplateError, template_fields, validate_template


def template(subject: str = "", text: str = "", html: str | None = None):
    return SimpleNamespace(subject=subject, body_text=text, body_html=html)


OFFERS = SimpleNamespace(id="offers", fields=frozenset({"first_name", "city", "language"}))
CONTEXT = {"unsubscribe_url": "https://shop.example/u/x", "reason_line": "You asked for offers."}


def test_fields_are_the_undeclared_names_minus_context_names():
    t = template(
        "Hi {{ first_name }}",
        "{% set x = 1 %}{{ x }} {{ offer }} {{ unsubscribe_url }}",
        "<p>{{ city }}</p>{% for i in interests %}{{ i }}{% endfor %}",
    )
    assert template_fields(t) == {"first_name", "city", "interests"}


def test_validation_names_each_field_the_purpose_does_not_allow():
    t = template("{{ first_name }}", "{{ birthday }} {{ phone }} {{ shoe_size }}")
    problems = validate_template(OFFERS, t)
    assert len(problems) == 3
    assert any("'birthday' is not allowed for purpose 'offers'" in p for p in problems)
    assert any("'phone' is not allowed" in p for p in problems)
    assert any("'shoe_size' is not a known profile field" in p for p in problems)
    assert validate_template(OFFERS, template("{{ first_name }}", "{{ city }}")) == []


def test_a_syntax_error_is_a_validation_problem_not_a_crash():
    problems = validate_template(OFFERS, template("{{ first_name ", "x"))
    assert problems and "syntax error" in problems[0]


def test_render_fills_fields_and_context_and_escapes_html():
    t = template(
        "Hi {{ first_name }}",
        "Hello {{ first_name }}\n{{ unsubscribe_url }}",
        "<p>{{ first_name }}</p>",
    )
    message = render_message(t, {"first_name": "<Ann>"}, CONTEXT)
    assert message.subject == "Hi <Ann>"
    assert message.text == "Hello <Ann>\nhttps://shop.example/u/x"
    assert message.html == "<p>&lt;Ann&gt;</p>"


def test_a_field_not_supplied_fails_instead_of_rendering_blank():
    t = template("Hi", "Hello {{ first_name }}")
    with pytest.raises(TemplateFieldMissing, match="first_name"):
        render_message(t, {}, CONTEXT)


def test_the_error_never_repeats_supplied_values():
    t = template("Hi {{ first_name }}", "{{ city }}")
    with pytest.raises(TemplateFieldMissing) as info:
        render_message(t, {"first_name": "Secretname"}, CONTEXT)
    assert "Secretname" not in str(info.value)


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__ }}",
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ first_name.__class__.__init__.__globals__ }}",
        "{{ first_name.format.__globals__ }}",
    ],
)
def test_the_sandbox_blocks_attribute_tricks(source):
    with pytest.raises(TemplateError):
        render_message(template("s", source), {"first_name": "Ann"}, CONTEXT)


def test_subject_is_a_single_line():
    t = template("Hi\n{{ first_name }}\r\nBcc: x@example.com", "x")
    assert "\n" not in render_message(t, {"first_name": "Ann"}, CONTEXT).subject


def test_a_name_given_as_field_and_context_is_refused():
    with pytest.raises(TemplateError, match="both"):
        render_message(template("s", "x"), {"offer": "a"}, {"offer": "b"})


def test_fields_with_a_fallback_are_told_apart_from_required_ones():
    from app.campaigns.template_fields import field_usage

    t = template(
        "Hi {{ first_name|default('there') }}",
        "{{ city|d('your city')|upper }} {{ last_name }} {{ offer }}",
    )
    usage = field_usage(t)
    assert usage.required == {"last_name"}
    assert usage.fallback == {"first_name", "city"}
    both = template("{{ first_name|default('x') }}", "{{ first_name }}")
    assert field_usage(both).required == {"first_name"}
    nested = template(text="{{ first_name|default(last_name) }}")
    assert field_usage(nested) == type(usage)(frozenset({"last_name"}), frozenset({"first_name"}))


def test_a_missing_field_with_a_fallback_renders_the_fallback():
    t = template(text="Hi {{ first_name|default('there') }}")
    assert render_message(t, {}, {}).text == "Hi there"
    assert render_message(t, {"first_name": "Ada"}, {}).text == "Hi Ada"


def test_a_fallback_that_cannot_render_is_found_when_saved():
    t = template(text="Hi {{ (first_name|default(0)) ~ '' + first_name|default(0) }}")
    ok = template(text="Hi {{ first_name|default('there') }}")
    assert render_problems(ok) == []
    assert any("wrong kind" in p for p in render_problems(t))
