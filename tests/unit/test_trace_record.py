"""A stored decision trace reads back exactly as the engine produced it."""

from __future__ import annotations

from datetime import UTC

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.policy.decision import FAILED, PASSED, SKIPPED, Decision, RuleResult
from app.policy.trace_record import decode_decision, encode_decision

results = st.builds(
    RuleResult, st.text(min_size=1, max_size=40), st.sampled_from([PASSED, FAILED, SKIPPED]),
    st.text(max_size=200),
)  # fmt: skip


@given(
    st.sampled_from(["allow", "deny", "defer"]),
    st.text(max_size=40),
    st.text(max_size=300),
    st.one_of(st.none(), st.datetimes(timezones=st.just(UTC))),
    st.lists(results, max_size=25),
)
def test_round_trip(outcome, rule, explanation, until, trace):
    decision = Decision(outcome, rule, explanation, "ab" * 32, until, tuple(trace))
    assert decode_decision(encode_decision(decision)) == decision


def test_garbage_is_refused():
    with pytest.raises(ValueError):
        decode_decision(b"not zlib")
    with pytest.raises(ValueError):
        import zlib

        decode_decision(zlib.compress(b'{"v": 99}'))


def test_a_full_trace_is_compact():
    trace = tuple(
        RuleResult(f"rule_number_{i}", PASSED, "every template field is allowed and shared")
        for i in range(20)
    )
    decision = Decision("allow", "allowed", "all rules passed", "c" * 64, None, trace)
    assert len(encode_decision(decision)) < 400
