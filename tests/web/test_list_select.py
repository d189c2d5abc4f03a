"""The quick select widget writes exactly what WTForms' own widget writes."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
from wtforms import Form, SelectField
from wtforms.fields.choices import SelectChoice

from app.web.forms import ListSelect

text = st.text(min_size=1, max_size=12)


def _forms(choices, selected):
    class Stock(Form):
        pick = SelectField(choices=choices)

    class Quick(Form):
        pick = SelectField(choices=choices, widget=ListSelect())

    return Stock(data={"pick": selected}).pick, Quick(data={"pick": selected}).pick


@given(
    groups=st.dictionaries(
        text, st.lists(st.tuples(text, text), min_size=1, max_size=5), max_size=3
    ),
    pick=st.integers(min_value=0, max_value=20),
)
def test_grouped_options_are_written_alike(groups, pick):
    choices = [
        SelectChoice(value, label, optgroup=group)
        for group, options in groups.items()
        for value, label in options
    ]
    selected = choices[pick % len(choices)].value if choices else None
    stock, quick = _forms(choices, selected)
    assert str(quick()) == str(stock())


def test_options_with_attributes_and_field_attributes_are_written_alike():
    choices = [SelectChoice("it", "Italiano", render_kw={"lang": "it"}), SelectChoice("en", "<b>")]
    stock, quick = _forms(choices, "en")
    assert str(quick(**{"aria-invalid": "true"})) == str(stock(**{"aria-invalid": "true"}))
    assert '<option selected value="en">&lt;b&gt;</option>' in str(quick())
