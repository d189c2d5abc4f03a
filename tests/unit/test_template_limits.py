"""The template sandbox: what a template builds, writes and takes in time is bounded, and
every template that cannot render says why (before it is saved, not when it is sent)."""

from __future__ import annotations

import time
import tracemalloc
from itertools import pairwise
from types import SimpleNamespace

import pytest

from app.campaigns import limits, render
from app.campaigns.limits import MAX_VALUE
from app.campaigns.render import OUTPUT_LIMITS, render_message, render_problems
from app.campaigns.template_fields import TemplateError, template_fields

CONTEXT = {"unsubscribe_url": "https://shop.example/u/x", "offer": "Wine"}
FIELDS = {"first_name": "Ann", "interests": "books,wine", "city": "Turin"}


def template(text: str, subject: str = "Hello", html: str | None = None):
    return SimpleNamespace(subject=subject, body_text=text, body_html=html)


def problem(text: str, **kw) -> str:
    problems = render_problems(template(text), **kw)
    assert len(problems) == 1, problems
    return problems[0]


@pytest.fixture
def short_budget(monkeypatch):
    """A render budget of 0.2 s, so the tests that hit it stay quick."""
    monkeypatch.setattr(render, "RENDER_SECONDS", 0.2)


@pytest.fixture
def time_checks(monkeypatch):
    """Every check of a render's deadline: (processor time of the thread, and "stopped" when it
    stopped the render, "overdue" when it let a render past its deadline go on, else "due")."""
    checks: list[tuple[float, str]] = []
    check_time = limits.Budget.check_time

    def recorded(current: limits.Budget) -> None:
        spent = time.thread_time()
        # Read before the check: a check that reads the clock later and still lets the render go
        # on was given a time already past the deadline (read after it, a busy machine could put
        # the reading past a deadline the check itself had not yet reached).
        now = time.monotonic()
        try:
            check_time(current)
        except limits.LimitExceeded:
            checks.append((spent, "stopped"))
            raise
        checks.append((spent, "overdue" if now > current.deadline else "due"))

    monkeypatch.setattr(limits.Budget, "check_time", recorded)
    return checks


@pytest.fixture
def ample_budget(monkeypatch):
    """A render budget of 60 s: the budget is wall-clock time, which a busy machine stretches, so
    a test of another limit (the recursion limit) must not race it."""
    monkeypatch.setattr(render, "RENDER_SECONDS", 60.0)


def test_ordinary_templates_render_as_before():
    t = template(
        "{% macro hi(name) %}Hi {{ name|title }}{% endmacro %}{{ hi(first_name) }} from "
        "{{ city ~ '!' }}\n{% for i in interests.split(',') %}{{ i|upper }}"
        "{% if not loop.last %}, {% endif %}{% endfor %}\n{{ offer|default('none') }} "
        "{{ unsubscribe_url }}",
        subject="{{ first_name }}, {{ offer|lower }}",
        html="<p>{{ first_name ~ ' & ' ~ city }}</p>{% filter upper %}{{ offer }}{% endfilter %}",
    )
    message = render_message(t, {**FIELDS, "first_name": "<ann>"}, CONTEXT)
    assert message.text.startswith("Hi <Ann> from Turin!\nBOOKS, WINEWine https://")
    assert message.subject == "<ann>, wine"
    assert message.html == "<p>&lt;ann&gt; &amp; Turin</p>WINE"
    assert render_problems(t) == []


@pytest.mark.parametrize(
    ("source", "reason"),
    [
        ("{{ 1/0 }}", "divides by zero"),
        ("{{ first_name|nosuchfilter }}", "No filter named 'nosuchfilter'"),
        ("{% if false %}{{ x|nosuchfilter }}{% endif %}", "No filter named 'nosuchfilter'"),
        ("{{ first_name is nosuchtest }}", "No test named 'nosuchtest'"),
        ("{{ first_name", "syntax error on line 1"),
        ("{% include 'other.txt' %}", "cannot include, import or extend"),
        ("{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}", "nests macros or loops too deeply"),
        ("{{ first_name.__class__ }}", "the sandbox forbids"),
        ("{{ [] .append(1) }}", "the sandbox forbids"),
    ],
)
def test_a_template_that_cannot_render_says_why(ample_budget, source, reason):
    assert reason in problem(source)
    assert problem(source).startswith("Template text")


@pytest.mark.parametrize(
    "source",
    [
        "{{ 'x' * 100000000 }}",
        "{{ [0] * 100000000 }}",
        "{{ 'xx'|replace('', 'y' * 60000) }}",
        "{{ 'xx'.replace('', 'y' * 60000) }}",
        "{{ range(100000)|join('x' * 1000) }}",
        "{{ ('x' * 1000).join(['a'] * 100000) }}",
        "{% set s = 'x' * 100000 %}{{ s ~ s }}",
        "{% set s = 'x' * 60000 %}{{ s + s }}",
        "{% set n = namespace(s='x') %}{% for i in range(40) %}{% set n.s = n.s ~ n.s %}"
        "{% endfor %}",
    ],
)
def test_values_are_capped_before_they_are_built(source):
    tracemalloc.start()
    try:
        assert f"more than {MAX_VALUE:,} characters or items" in problem(source)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * MAX_VALUE  # a few copies of the largest value, never the huge one


@pytest.mark.parametrize(
    "source",
    ["{{ 9 ** 999999999 }}", "{{ (2 ** 4000) * (2 ** 4000) }}", "{{ 10 ** (10 ** 10) }}"],
)
def test_numbers_are_capped_before_they_are_computed(source):
    started = time.thread_time()  # the work done, which the machine's other load does not add to
    assert "bits" in problem(source)
    assert time.thread_time() - started < 0.5


@pytest.mark.parametrize(
    "source",
    [
        "{{ '%*s' % (100000000, 'x') }}",
        "{{ '{:>100000000}'.format(1) }}",
        "{{ 'x'.center(100000000) }}",
        "{{ 'x'|center(100000000) }}",
        "{{ [1]|batch(100000000, 'x')|list }}",
        "{{ lipsum(100000) }}",
    ],
)
def test_padding_and_formatting_are_not_offered(source):
    problem(source)  # refused, whatever the wording


@pytest.mark.parametrize(
    "source",
    [
        "{% for i in range(99999) %}{% for j in range(99999) %}{% endfor %}{% endfor %}",
        "{% set s = 'x' * 9999 %}{% for a in s %}{% for b in s %}{% for c in s %}{% endfor %}"
        "{% endfor %}{% endfor %}",
        "{% macro m(n) %}{% for i in range(10) %}{{ m(n) if n else '' }}{% endfor %}"
        "{% endmacro %}{% for i in range(99999) %}{% for j in range(99999) %}{{ m(0) }}"
        "{% endfor %}{% endfor %}",
    ],
)
def test_the_render_time_is_capped(short_budget, time_checks, source):
    # The processor time spent, never more than the wall-clock time the budget counts, so the
    # machine's other load cannot make it exceed the bound; a render that went on past its
    # deadline would.
    started = time.thread_time()
    assert "takes too long to render" in problem(source)
    assert time.thread_time() - started < 0.2 + 0.3
    # However busy the machine: the first check after the deadline stopped the render, and
    # the checks came at most the overshoot allowed above (0.3 s) of work apart.
    outcomes = [outcome for _, outcome in time_checks]
    assert outcomes[-1] == "stopped" and "overdue" not in outcomes
    work = [spent for spent, _ in time_checks]
    assert max(later - earlier for earlier, later in pairwise(work)) < 0.3


@pytest.mark.parametrize(
    ("source", "channel", "limit"),
    [
        ("{{ 'x' * 100000 }}{{ 'x' * 100000 }}", "email", OUTPUT_LIMITS["email"]["text"]),
        ("{{ 'x' * 1000 }}{{ 'x' * 1000 }}", "sms", OUTPUT_LIMITS["sms"]["text"]),
    ],
)
def test_each_channel_caps_the_rendered_length(source, channel, limit):
    assert f"longer than {limit:,} characters" in problem(source, channel=channel)


def test_text_written_into_blocks_macros_and_variables_counts_too():
    source = (
        "{% filter upper %}{% for i in range(1000) %}{{ 'y' * 1000 }}{% endfor %}{% endfilter %}"
    )
    assert "writes more than" in problem(source)
    macro = (
        "{% macro m() %}{% for i in range(1000) %}lots of literal text{% endfor %}{% endmacro %}"
    )
    assert "writes more than" in problem(
        macro + "{% for i in range(100) %}{% set x = m() %}{% endfor %}"
    )


def test_a_failure_never_quotes_the_customers_value():
    t = template("{{ first_name|int / 0 }}{{ {}[first_name] }}")
    with pytest.raises(TemplateError) as info:
        render_message(t, {"first_name": "Secretname"}, CONTEXT)
    assert "Secretname" not in str(info.value)


def test_fields_are_still_found_in_templates_with_loops_and_sets():
    t = template(
        "{% set x = 1 %}{{ x }} {{ offer }}", html="{% for i in interests %}{{ i }}{% endfor %}"
    )
    assert template_fields(t) == {"interests"}
