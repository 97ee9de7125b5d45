"""Server-rendered SVG bar charts: geometry only, drawn by templates/web/partials/bar_chart.html."""
from __future__ import annotations

import math
from dataclasses import dataclass

from django.utils.formats import number_format
from django.utils.translation import gettext_lazy as _

WIDTH = 640
BAR_AREA_TOP = 10
BAR_AREA_HEIGHT = 180
LEFT = 40

#: Colours of the GC Design System palette with at least 3:1 contrast on white.
SERIES_COLOURS = ["#26374a", "#2b8000", "#a62a1e", "#6f4d00"]


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: float
    colour: str
    series: str


@dataclass
class Group:
    label: str
    x_label: float
    bars: list[Bar]


@dataclass
class Chart:
    title: str
    unit: str
    series: list[tuple[str, str]]
    groups: list[Group]
    max_value: float
    width: int = WIDTH
    height: int = BAR_AREA_TOP + BAR_AREA_HEIGHT + 40
    baseline: int = BAR_AREA_TOP + BAR_AREA_HEIGHT

    @property
    def ticks(self) -> list[tuple[float, str]]:
        """(y, label) of five grid lines, the labels in the reader's number format."""
        out = []
        for i in range(5):
            value = self.max_value * i / 4
            decimals = next((d for d in range(4) if abs(value * 10 ** d - round(value * 10 ** d)) < 1e-9), 3)
            out.append((self.baseline - BAR_AREA_HEIGHT * i / 4, number_format(round(value, decimals), decimals)))
        return out

    @property
    def empty(self) -> bool:
        return not any(b.value for g in self.groups for b in g.bars)


def nice_max(top: float, *, whole: bool = True) -> float:
    """The top of an axis of four equal steps of 1, 2, 2.5 or 5 × 10^k that holds `top`: scaled
    to the data, so 0.1-minute bars are visible (not drawn against an axis of 0–4). Counts
    (`whole`) keep whole-number steps."""
    if top <= 0:
        return 4
    raw = top / 4
    exp = 10 ** math.floor(math.log10(raw))
    step = next(m * exp for m in (1, 2, 2.5, 5, 10) if raw <= m * exp + 1e-12)
    if whole:
        step = max(1, math.ceil(step))
    return round(step * 4, 10)


def bar_chart(*, title: str, unit: str, labels: list[str], series: dict[str, list[float]]) -> Chart:
    """Grouped bars: one group per label, one bar per series."""
    names = list(series)
    values = [v for vals in series.values() for v in vals]
    max_value = nice_max(max(values + [0]), whole=all(float(v).is_integer() for v in values))
    n = max(len(labels), 1)
    slot = (WIDTH - LEFT - 10) / n
    bar_w = max(min(slot * 0.8 / max(len(names), 1), 60), 4)
    groups = []
    for i, label in enumerate(labels):
        start = LEFT + i * slot + (slot - bar_w * len(names)) / 2
        bars = []
        for j, name in enumerate(names):
            value = series[name][i]
            h = BAR_AREA_HEIGHT * value / max_value
            bars.append(Bar(x=round(start + j * bar_w, 1), y=round(BAR_AREA_TOP + BAR_AREA_HEIGHT - h, 1),
                            width=round(bar_w - 2, 1), height=round(h, 1), value=value,
                            colour=SERIES_COLOURS[j % len(SERIES_COLOURS)], series=name))
        groups.append(Group(label=label, x_label=round(LEFT + i * slot + slot / 2, 1), bars=bars))
    return Chart(title=str(title), unit=str(unit), series=[(n_, SERIES_COLOURS[j % 4]) for j, n_ in enumerate(names)],
                 groups=groups, max_value=max_value)


#: First-response buckets: (upper bound in seconds, label).
FRT_BUCKETS = [
    (5 * 60, _("under 5 min")),
    (15 * 60, _("5–15 min")),
    (60 * 60, _("15–60 min")),
    (4 * 3600, _("1–4 h")),
    (None, _("over 4 h")),
]


def frt_histogram(values: list[float]) -> list[tuple[str, int]]:
    counts = [0] * len(FRT_BUCKETS)
    for v in values:
        for i, (bound, _label) in enumerate(FRT_BUCKETS):
            if bound is None or v < bound:
                counts[i] += 1
                break
    return [(str(label), counts[i]) for i, (_b, label) in enumerate(FRT_BUCKETS)]
