"""Charts as inline SVG strings, drawn on the server: nothing to download in the browser.

Every point carries a <title> (the browser shows it on hover) and data- attributes, so the
page's script can hide points of models that are not selected.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence

from convzoo.analysis.compare import CompareRow, family_colours, family_order
from convzoo.formatting import human

AXES = {  # key -> (label, log scale)
    "params": ("parameters", True),
    "macs": ("multiply-adds per image", True),
    "activation_bytes": ("activation memory, batch 1 (bytes)", True),
    "depth": ("depth (weight layers)", False),
    "year": ("year", False),
    "top1": ("paper top-1 (%)", False),
}


def _value(row: CompareRow, key: str) -> float | None:
    value = getattr(row, key)
    return None if value is None else float(value)


def _scale(values: list[float], log: bool, lo: float, hi: float) -> Callable[[float], float]:
    f = math.log10 if log else float
    vmin, vmax = f(min(values)), f(max(values))
    span = (vmax - vmin) or 1.0
    return lambda v: lo + (f(v) - vmin) / span * (hi - lo)


def _ticks(values: list[float], log: bool) -> list[float]:
    if log:
        low, high = math.floor(math.log10(min(values))), math.ceil(math.log10(max(values)))
        return [10.0**e for e in range(low, high + 1) if min(values) <= 10.0**e <= max(values)]
    low, high = min(values), max(values)
    step = 10 ** math.floor(math.log10((high - low) or 1))
    if (high - low) / step < 3:
        step /= 2
    first = math.ceil(low / step) * step  # round ticks: 60, 70, ... not 50.6, 60.6, ...
    return [first + i * step for i in range(int((high - first) / step) + 1)]


def scatter(rows: Sequence[CompareRow], x: str = "macs", y: str = "top1") -> str:
    """One dot per model with both values; ``x``/``y`` are keys of `AXES`."""
    for key in (x, y):
        if key not in AXES:
            raise ValueError(f"axis must be one of {', '.join(AXES)}, got {key!r}")
    points = [
        r for r in rows if (_value(r, x) or 0) > 0 and _value(r, y) is not None and _value(r, y)
    ]
    note = ""
    datasets = sorted({r.dataset for r in points})
    if "top1" in (x, y) and len(datasets) > 1:  # accuracies on different datasets don't compare
        keep = "ImageNet" if "ImageNet" in datasets else datasets[0]
        note = f"top-1 on {keep} only ({len([r for r in points if r.dataset != keep])} left out)"
        points = [r for r in points if r.dataset == keep]
    width, height, left, bottom = 760, 420, 70, 50
    out = [
        f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{AXES[y][0]} vs {AXES[x][0]}">'
    ]
    if not points:
        out.append('<text x="20" y="40">no model has both values</text></svg>')
        return "".join(out)
    xs, ys = [_value(r, x) or 0.0 for r in points], [_value(r, y) or 0.0 for r in points]
    sx = _scale(xs, AXES[x][1], left + 10, width - 20)
    sy = _scale(ys, AXES[y][1], height - bottom - 10, 20)
    out.append(
        f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" y2="{height - bottom}" '
        f'stroke="#444"/><line x1="{left}" y1="10" x2="{left}" y2="{height - bottom}" '
        'stroke="#444"/>'
    )
    for t in _ticks(xs, AXES[x][1]):
        px = sx(t)
        out.append(
            f'<text x="{px:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
            f'font-size="11">{html.escape(human(t) if x != "year" else f"{t:.0f}")}</text>'
        )
    for t in _ticks(ys, AXES[y][1]):
        py = sy(t)
        out.append(
            f'<text x="{left - 6}" y="{py + 4:.1f}" text-anchor="end" font-size="11">'
            f"{html.escape(human(t) if y not in ('year', 'top1') else f'{t:g}')}</text>"
            f'<line x1="{left}" y1="{py:.1f}" x2="{width - 10}" y2="{py:.1f}" stroke="#eee"/>'
        )
    log_x, log_y = (" (log scale)" if AXES[k][1] else "" for k in (x, y))
    out.append(
        f'<text x="{(left + width) / 2}" y="{height - 12}" text-anchor="middle" font-size="12">'
        f"{AXES[x][0]}{log_x}</text>"
        f'<text transform="translate(16 {(height - bottom) / 2}) rotate(-90)" '
        f'text-anchor="middle" font-size="12">{AXES[y][0]}{log_y}</text>'
    )
    if note:
        out.append(f'<text x="{left + 10}" y="14" font-size="11">{html.escape(note)}</text>')
    colours = family_colours(family_order(rows))
    for row, vx, vy in zip(points, xs, ys, strict=True):
        tip = (
            f"{row.name} ({row.family}, {row.year}): {human(row.params)} params, "
            f"{human(row.macs)} MACs, top-1 "
            f"{'-' if row.top1 is None else f'{row.top1:g}% ({row.dataset})'}"
        )
        out.append(
            f'<circle class="point" data-model="{row.name}" cx="{sx(vx):.1f}" '
            f'cy="{sy(vy):.1f}" r="6" fill="{colours[row.family]}" fill-opacity="0.8" '
            f'stroke="#222" stroke-width="0.6"><title>{html.escape(tip)}</title></circle>'
        )
    out.append("</svg>")
    return "".join(out)


def timeline(rows: Sequence[CompareRow], link: Callable[[str], str]) -> str:
    """Every model as a dot above its paper's year, 1998 to the newest, linked to its page."""
    years = [r.year for r in rows]
    first, last = min(years), max(years)
    per_year: dict[int, int] = {}
    width, left, step = 1000, 30, 11
    span = max(last - first, 1)
    colours = family_colours(family_order(rows))
    tallest = max(years.count(y) for y in set(years))
    height = 50 + tallest * step
    base = height - 30
    out = [
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} '
        f'{height}" width="100%" role="img" aria-label="timeline {first}-{last}">',
        f'<line x1="{left}" y1="{base}" x2="{width - 20}" y2="{base}" stroke="#444"/>',
    ]

    def px(year: int) -> float:
        return left + (year - first) / span * (width - left - 40)

    for year in range(first, last + 1):
        out.append(
            f'<text x="{px(year):.1f}" y="{base + 18}" text-anchor="middle" '
            f'font-size="10">{year}</text>'
        )
    for row in sorted(rows, key=lambda r: (r.year, r.family, r.params)):
        k = per_year.get(row.year, 0)
        per_year[row.year] = k + 1
        out.append(
            f'<a href="{html.escape(link(row.name))}"><circle cx="{px(row.year):.1f}" '
            f'cy="{base - 8 - k * step}" r="5" fill="{colours[row.family]}" stroke="#222" '
            f'stroke-width="0.5"><title>{html.escape(f"{row.name} ({row.family}, {row.year})")}'
            "</title></circle></a>"
        )
    out.append("</svg>")
    return "".join(out)
