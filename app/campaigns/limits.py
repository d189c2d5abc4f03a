"""The limits of a template render: the size of what it builds, what it writes, its time.

Checks are called by the sandbox (:mod:`app.campaigns.sandbox`) before an operation that could
build a large value runs, because CPython cannot interrupt one huge multiplication; the time
and the writing are counted against the :class:`Budget` of the render in progress.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from jinja2.exceptions import SecurityError
from markupsafe import soft_str

#: The most characters (or items) of any string, list or dict a template builds.
MAX_VALUE = 100_000
#: The largest number a template builds, in bits (about 1,200 decimal digits).
MAX_INT_BITS = 4_096
_SIZED = (str, bytes, list, tuple, dict, set, frozenset)


class LimitExceeded(SecurityError):
    """A template went past a limit; the message completes "Template <part> …"."""


@dataclass
class Budget:
    """What one render may still spend: time until ``deadline``, ``write_limit`` characters."""

    deadline: float
    write_limit: int
    written: int = 0

    def check_time(self) -> None:
        """Stop the render once its deadline has passed."""
        if time.monotonic() > self.deadline:
            raise LimitExceeded("takes too long to render")

    def write(self, size: int) -> None:
        """Count ``size`` characters written; stop past the limit or the deadline."""
        self.written += size
        if self.written > self.write_limit:
            raise LimitExceeded(f"writes more than {self.write_limit:,} characters")
        self.check_time()


_budget: ContextVar[Budget | None] = ContextVar("template_budget", default=None)


@contextmanager
def budget(deadline: float, write_limit: int) -> Iterator[Budget]:
    """Render under a :class:`Budget` (for this thread or task only)."""
    current = Budget(deadline, write_limit)
    token = _budget.set(current)
    try:
        yield current
    finally:
        _budget.reset(token)


def tick() -> None:
    """Stop the render in progress (if any) once its deadline has passed."""
    current = _budget.get()
    if current is not None:
        current.check_time()


def refuse_over(size: int) -> None:
    """Refuse a value of ``size`` characters or items."""
    if size > MAX_VALUE:
        raise LimitExceeded(f"builds a value of more than {MAX_VALUE:,} characters or items")


def _refuse_bits(bits: int) -> None:
    if bits > MAX_INT_BITS:
        raise LimitExceeded(f"builds a number of more than {MAX_INT_BITS:,} bits")


def check_size(value: Any) -> Any:
    """``value`` itself, unless it is larger than a template may build."""
    if isinstance(value, _SIZED):
        refuse_over(len(value))
    elif isinstance(value, int):
        _refuse_bits(value.bit_length())
    return value


def check_binop(operator: str, left: Any, right: Any) -> None:
    """Refuse ``left operator right`` before running it when its result would be too large."""
    if operator == "%" and isinstance(left, str):
        raise LimitExceeded("uses % formatting, which templates do not offer (join with ~)")
    sequences = (str, list, tuple)
    if operator == "*":
        if isinstance(left, int) and isinstance(right, int):
            _refuse_bits(abs(left).bit_length() + abs(right).bit_length())
        elif isinstance(left, sequences) and isinstance(right, int):
            refuse_over(len(left) * right)
        elif isinstance(right, sequences) and isinstance(left, int):
            refuse_over(len(right) * left)
    elif operator == "**" and isinstance(left, int) and isinstance(right, int):
        if right > 0 and left not in (-1, 0, 1):  # the result has at least this many bits
            _refuse_bits((abs(left).bit_length() - 1) * right + 1)
    elif operator == "+" and isinstance(left, sequences) and isinstance(right, sequences):
        refuse_over(len(left) + len(right))


def check_replace(text: Any, old: Any, new: Any, count: Any = None) -> None:
    """Refuse a replacement whose result would be too large (``''`` matches everywhere)."""
    text, old, new = soft_str(text), soft_str(old), soft_str(new)
    found = text.count(old)
    if isinstance(count, int) and 0 <= count < found:
        found = count
    refuse_over(len(text) + found * max(0, len(new) - len(old)))


def check_join(items: list, separator: Any) -> None:
    """Refuse joining ``items`` with ``separator`` when the result would be too large."""
    separator_size = len(soft_str(separator)) * max(0, len(items) - 1)
    refuse_over(sum(len(soft_str(item)) for item in items) + separator_size)


def wrote(size: int) -> None:
    """Count ``size`` characters written by the render in progress (if any)."""
    current = _budget.get()
    if current is not None:
        current.write(size)
