"""Inline SVG charts rendered in Python: no JavaScript, no CDN, nothing to build.

Only presentation attributes are used (fill=, stroke=), never style attributes, so the
pages keep a Content-Security-Policy without 'unsafe-inline'. Every label goes through
markupsafe escaping."""

from __future__ import annotations

from collections.abc import Sequence

from markupsafe import Markup, escape

Series = Sequence[tuple[str, float]]
COLOUR = "#2b6cb0"
GRID = "#d0d7de"
FONT = 'font-family="sans-serif" font-size="11" fill="#24292f"'


def _nice_max(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2, 5 × 10^n)."""
    if value <= 0:
        return 1.0
    scale = 1.0
    while scale * 10 <= value:
        scale *= 10
    for step in (1, 2, 5, 10):
        if step * scale >= value:
            return step * scale
    return 10 * scale


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 10 or value == int(value) else f"{value:.2f}"


def _empty(width: int, height: int) -> Markup:
    return Markup(
        f'<svg class="chart" role="img" aria-label="no data" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">'
        f'<text x="{width // 2}" y="{height // 2}" text-anchor="middle" {FONT}>no data</text>'
        "</svg>")


def bar_chart(series: Series, width: int = 520, bar: int = 22) -> Markup:
    """Horizontal bars, largest first as given; label left, value right."""
    if not series:
        return _empty(width, 60)
    label_w, value_w, gap = 170, 60, 6
    height = len(series) * (bar + gap) + gap
    top = _nice_max(max(v for _, v in series))
    span = width - label_w - value_w
    parts = [f'<svg class="chart" role="img" aria-label="bar chart" width="{width}" '
             f'height="{height}" viewBox="0 0 {width} {height}" '
             'xmlns="http://www.w3.org/2000/svg">']
    for i, (label, value) in enumerate(series):
        y = gap + i * (bar + gap)
        w = max(1.0, span * value / top)
        text = str(escape(label if len(label) <= 26 else label[:25] + "…"))
        parts.append(
            f'<g><title>{escape(label)}: {_fmt(value)}</title>'
            f'<text x="{label_w - 6}" y="{y + bar * 0.7:.1f}" text-anchor="end" {FONT}>'
            f'{text}</text>'
            f'<rect x="{label_w}" y="{y}" width="{w:.1f}" height="{bar}" fill="{COLOUR}"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + bar * 0.7:.1f}" {FONT}>{_fmt(value)}'
            "</text></g>")
    parts.append("</svg>")
    return Markup("".join(parts))


def line_chart(series: Series, unit: str = "", width: int = 520, height: int = 200) -> Markup:
    """A line with dots over ordered labels (e.g. days), y axis from zero."""
    if not series:
        return _empty(width, height)
    left, right, top_pad, bottom = 50, 10, 10, 40
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    top = _nice_max(max(v for _, v in series))
    step = plot_w / max(1, len(series) - 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        x = left + (i * step if len(series) > 1 else plot_w / 2)
        return x, top_pad + plot_h * (1 - v / top)

    points = [xy(i, v) for i, (_, v) in enumerate(series)]
    parts = [f'<svg class="chart" role="img" aria-label="line chart of {escape(unit)}" '
             f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
             'xmlns="http://www.w3.org/2000/svg">']
    for frac in (0, 0.5, 1):
        y = top_pad + plot_h * (1 - frac)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" '
                     f'stroke="{GRID}"/><text x="{left - 4}" y="{y + 4:.1f}" '
                     f'text-anchor="end" {FONT}>{_fmt(top * frac)}</text>')
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    parts.append(f'<polyline points="{path}" fill="none" stroke="{COLOUR}" stroke-width="2"/>')
    every = max(1, len(series) // 6)  # at most ~7 x labels
    for i, ((label, value), (x, y)) in enumerate(zip(series, points, strict=True)):
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{COLOUR}">'
                     f"<title>{escape(label)}: {_fmt(value)} {escape(unit)}</title></circle>")
        if i % every == 0 or i == len(series) - 1:
            # first and last labels hang inwards so that they are not clipped
            anchor = ("start" if i == 0 and len(series) > 1 else
                      "end" if i == len(series) - 1 and len(series) > 1 else "middle")
            parts.append(f'<text x="{x:.1f}" y="{height - bottom + 16}" '
                         f'text-anchor="{anchor}" {FONT}>{escape(label[-5:])}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
