"""Reading and validating policy files.

Every file is checked in three steps, each reporting file, location and problem:
YAML syntax (duplicate keys rejected), ``policies/schema.json`` (draft 2020-12), then the
semantic checks of :mod:`app.policy.semantics`. A policy is identified by the SHA-256 of its
exact bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from app.policy.document import Policy, PolicyError
from app.policy.policyset import PolicySet
from app.policy.semantics import build_policy, semantic_problems
from app.policy.yamlsource import YamlDocument, YamlProblem, parse_yaml, read_policy_bytes

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "policies" / "schema.json"
POLICY_SUFFIXES = (".yaml", ".yml")


@cache
def _validator() -> Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema)


def _pointer(path: Iterable[str | int]) -> str:
    parts = [str(p).replace("~", "~0").replace("/", "~1") for p in path]
    return "/" + "/".join(parts)


def _where(name: str, doc: YamlDocument, path: tuple[str | int, ...]) -> str:
    line = doc.line_of(path)
    return f"{name}:{line}: {_pointer(path)}" if line else f"{name}: {_pointer(path)}"


def policy_from_bytes(raw: bytes, name: str = "<policy>") -> Policy:
    """Validate and build a policy from the bytes of a file named ``name`` (for messages)."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PolicyError(f"{name}: byte {exc.start}: not valid UTF-8") from None
    try:
        doc = parse_yaml(text)
    except YamlProblem as exc:
        where = f"{name}:{exc.line}:{exc.column}" if exc.line else name
        raise PolicyError(f"{where}: YAML error: {exc.message}") from None
    problems = _schema_problems(name, doc)
    if not problems:
        problems = [
            f"{_where(name, doc, path)}: {message}" for path, message in semantic_problems(doc.data)
        ]
    if problems:
        raise PolicyError(problems)
    return build_policy(doc.data, hashlib.sha256(raw).hexdigest(), text, name)


def _schema_problems(name: str, doc: YamlDocument) -> list[str]:
    errors = sorted(_validator().iter_errors(doc.data), key=lambda e: list(map(str, e.path)))
    problems = []
    for error in errors:
        path: tuple[Any, ...] = tuple(error.absolute_path)
        problems.append(f"{_where(name, doc, path)}: {error.message}")
    return problems


def load_policy(path: str | Path) -> Policy:
    """Load one policy file; raise :class:`PolicyError` naming file, line and problem."""
    path = Path(path)
    try:
        raw = read_policy_bytes(path)
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read: {exc.strerror}") from None
    except YamlProblem as exc:
        raise PolicyError(f"{path}: {exc.message}") from None
    return policy_from_bytes(raw, str(path))


def policy_files(directory: str | Path) -> list[Path]:
    """The policy files of a directory (``*.yaml``, ``*.yml``), in name order."""
    directory = Path(directory)
    if not directory.is_dir():
        raise PolicyError(f"{directory}: not a directory")
    return sorted(p for p in directory.iterdir() if p.suffix in POLICY_SUFFIXES and p.is_file())


def load_policies(directory: str | Path, default: str | None = None) -> PolicySet:
    """Load and cross-check every policy file of ``directory``.

    ``default`` names the policy_id used for unclaimed jurisdictions, overriding a file's
    ``default: true``. All problems of all files are collected into one :class:`PolicyError`.
    """
    policies: list[Policy] = []
    problems: list[str] = []
    files = policy_files(directory)
    if not files:
        raise PolicyError(f"{directory}: no policy files (*.yaml)")
    for path in files:
        try:
            policies.append(load_policy(path))
        except PolicyError as exc:
            problems.extend(exc.problems)
    if problems:
        raise PolicyError(problems)
    return PolicySet(policies, default=default)


def policies_from_texts(files: Iterable[tuple[str, str, str]]) -> PolicySet:
    """Rebuild a policy set from stored files ``(name, text, sha256)``, checked like files.

    A text whose SHA-256 is not the one recorded with it is refused: the set would not be the
    one the hashes in decisions name.
    """
    policies: list[Policy] = []
    problems: list[str] = []
    for name, text, sha256 in files:
        try:
            policy = policy_from_bytes(text.encode("utf-8"), name)
        except PolicyError as exc:
            problems.extend(exc.problems)
            continue
        if policy.sha256 != sha256:
            problems.append(f"{name}: the stored text does not match its recorded SHA-256")
        policies.append(policy)
    if problems:
        raise PolicyError(problems)
    if not policies:
        raise PolicyError("the set in force holds no policy file")
    return PolicySet(policies)


def check_policies(paths: Iterable[str | Path]) -> list[str]:
    """Every problem in the given files or directories (empty list: all valid and consistent).

    Meant for ``flask policy check [PATH]``: directories are checked as one policy set.
    """
    problems: list[str] = []
    for path in map(Path, paths):
        try:
            if path.is_dir():
                load_policies(path)
            else:
                load_policy(path)
        except PolicyError as exc:
            problems.extend(exc.problems)
    return problems
