"""The README's settings table is the one generated from the settings' declarations."""

from __future__ import annotations

import pytest

from app.settings import readme
from app.settings.load import declarations


def test_the_readme_table_is_the_generated_one():
    held = readme.table_in(readme.README.read_text())
    assert held == readme.table(), (
        "README.md's settings table differs from app/settings/catalogue.py: "
        "run `python -m app.settings.readme --write`"
    )


def test_every_declared_setting_has_a_row_and_a_description():
    rows = readme.table().splitlines()[2:]
    assert len(rows) == len(declarations())
    for spec, row in zip(declarations().values(), rows, strict=True):
        assert row.startswith(f"| `{spec.variable}` | ") and spec.description.strip()


def test_writing_replaces_only_the_table(tmp_path):
    stale = f"# Title\n\n{readme.BEGIN}\n| old |\n{readme.END}\n\nAfter.\n"
    path = tmp_path / "README.md"
    path.write_text(stale)
    assert readme.main(["--write", "--readme", str(path)]) == 0
    written = path.read_text()
    assert written.startswith("# Title\n\n") and written.endswith(f"{readme.END}\n\nAfter.\n")
    assert readme.table_in(written) == readme.table()
    with pytest.raises(ValueError, match="no settings table"):
        readme.table_in("# no markers")
