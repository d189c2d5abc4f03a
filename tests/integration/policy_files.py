"""Builders for tests that change the policies in force (no tests here)."""

from __future__ import annotations

import shutil
from pathlib import Path

from app.policy import load_policies
from app.policy_sets.revisions import PolicyLoad, record_policy_load

SHIPPED = Path(__file__).resolve().parents[2] / "policies"


def policy_copy(folder: Path, edits: dict[str, list[tuple[str, str]]] | None = None) -> Path:
    """A copy of the shipped policy files in ``folder``, with ``edits`` as
    ``{file name: [(old text, new text), ...]}`` (each old text must be found)."""
    shutil.copytree(SHIPPED, folder)
    for name, changes in (edits or {}).items():
        path = folder / name
        text = path.read_text()
        for old, new in changes:
            assert old in text, f"{old!r} not in {name}"
            text = text.replace(old, new)
        path.write_text(text)
    return folder


def put_in_force(session, folder: Path, actor: str = "operator:test", reason=None) -> PolicyLoad:
    """Record the files of ``folder`` as the set in force (as ``flask policy reload`` does)."""
    return record_policy_load(session, load_policies(folder), actor, reason)


#: Surveys no longer direct marketing (an edit a compliance officer might load).
SURVEYS_NOT_MARKETING = {
    "eu-gdpr.yaml": [
        (
            "    # limited by the minimum age and counted in the weekly cap.\n"
            "    direct_marketing: true",
            "    # limited by the minimum age and counted in the weekly cap.\n"
            "    direct_marketing: false",
        )
    ]
}
