"""Server-rendered bar charts: geometry only; the template draws the SVG (no inline style).

:func:`bar_chart` turns labelled values into bars with coordinates in a fixed view box, so a
template can emit ``<rect>`` elements with classes and presentation attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

WIDTH = 640
ROW = 34
LABEL_WIDTH = 170
VALUE_WIDTH = 90


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: label, value text, and its rectangle."""

    label: str
    value_text: str
    x: int
    y: int
    width: int
    height: int
    css_class: str


@dataclass(frozen=True, slots=True)
class BarChart:
    """A horizontal bar chart with its view box size and an accessible title."""

    title: str
    width: int
    height: int
    bars: tuple[Bar, ...]


def bar_chart(
    title: str,
    rows: Sequence[tuple[str, float, str]],
    *,
    css_classes: Sequence[str] = ("bar",),
    maximum: float | None = None,
) -> BarChart:
    """Bars for ``rows`` of (label, value, value text), scaled to the largest value."""
    top = maximum if maximum is not None else max((value for _, value, _ in rows), default=0)
    span = WIDTH - LABEL_WIDTH - VALUE_WIDTH
    bars = []
    for index, (label, value, text) in enumerate(rows):
        length = round(span * value / top) if top > 0 else 0
        bars.append(
            Bar(
                label,
                text,
                LABEL_WIDTH,
                index * ROW + 6,
                max(length, 0),
                ROW - 12,
                css_classes[index % len(css_classes)],
            )
        )
    return BarChart(title, WIDTH, max(len(rows), 1) * ROW, tuple(bars))
