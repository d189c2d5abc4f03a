"""Policy files are small and plain: size, nesting and alias expansion are bounded before
any Python object is built, so a hostile file is refused at once with its line."""

from __future__ import annotations

import itertools
import time
from pathlib import Path

import pytest
from flask import Flask

from app.cli import register
from app.policy import PolicyError, check_policies, load_policy
from app.policy.yamlsource import MAX_DEPTH, MAX_POLICY_BYTES, MAX_VALUES, YamlProblem, parse_yaml

EU = Path(__file__).resolve().parents[2] / "policies" / "eu-gdpr.yaml"


def anchor_bomb(width: int = 9, levels: int = 9) -> str:
    """The "billion laughs": each level an anchored list of aliases of the level before."""
    names = [f"l{level}" for level in range(levels + 1)]
    lines = [f"{names[0]}: &{names[0]} [" + ", ".join(['"' + "lol" * 200 + '"'] * width) + "]"]
    for previous, name in itertools.pairwise(names):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{previous}"] * width) + "]")
    return "\n".join(lines) + "\n"


def test_an_anchor_bomb_of_a_few_kilobytes_is_refused_at_once():
    bomb = anchor_bomb()
    assert 4_000 < len(bomb.encode()) < 8_000  # expands to 9**10 (about 3.5 billion) values
    started = time.perf_counter()
    with pytest.raises(YamlProblem) as info:
        parse_yaml(bomb)
    assert time.perf_counter() - started < 0.5
    assert f"more than {MAX_VALUES:,} values" in info.value.message
    assert info.value.line is not None and info.value.line <= 10


def test_the_loader_names_the_file_and_line_of_the_bomb(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(anchor_bomb(), encoding="utf-8")
    started = time.perf_counter()
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert time.perf_counter() - started < 0.5
    assert str(path) in str(info.value) and "YAML error" in str(info.value)


def test_aliases_within_the_limit_still_load():
    text = "base: &base {a: 1, b: [1, 2, 3]}\ncopies: [*base, *base, *base]\n"
    assert parse_yaml(text).data["copies"][2] == {"a": 1, "b": [1, 2, 3]}


def test_an_alias_inside_the_node_it_names_is_refused():
    with pytest.raises(YamlProblem, match="refers to the node that contains it"):
        parse_yaml("loop: &loop [1, *loop]\n")


@pytest.mark.parametrize("style", ["flow", "block"])
def test_nesting_deeper_than_the_limit_is_refused(style):
    depth = MAX_DEPTH + 1
    if style == "flow":
        text = "[" * depth + "]" * depth
    else:
        text = "".join("  " * level + "- \n" for level in range(depth))
    started = time.perf_counter()
    with pytest.raises(YamlProblem, match=f"nested more than {MAX_DEPTH} levels"):
        parse_yaml(text)
    assert time.perf_counter() - started < 0.5
    ok = MAX_DEPTH - 1
    assert parse_yaml("[" * ok + "]" * ok).data is not None


def test_a_file_over_the_size_limit_is_refused(tmp_path):
    path = tmp_path / "huge.yaml"
    path.write_bytes(EU.read_bytes() + b"#" * MAX_POLICY_BYTES)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert f"larger than {MAX_POLICY_BYTES // 1024} KiB" in str(info.value)
    with pytest.raises(YamlProblem, match="larger than"):
        parse_yaml("#" * (MAX_POLICY_BYTES + 1))


@pytest.mark.parametrize(
    "value", ["2026-02-30", "9" * 5_000], ids=["impossible-date", "huge-integer"]
)
def test_a_value_python_cannot_hold_is_a_problem_not_a_crash(value):
    with pytest.raises(YamlProblem, match="cannot be read"):
        parse_yaml(f"value: {value}\n")


def test_policy_check_reports_a_bomb_without_a_traceback(tmp_path):
    path = tmp_path / "bomb.yaml"
    path.write_text(anchor_bomb(), encoding="utf-8")
    assert any("values" in problem for problem in check_policies([path]))
    app = Flask(__name__)
    register(app)
    result = app.test_cli_runner().invoke(args=["policy", "check", str(path)])
    assert result.exit_code == 1
    assert "Traceback" not in result.output and "bomb.yaml" in result.output
