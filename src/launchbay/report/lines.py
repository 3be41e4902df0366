"""SVG line charts of a value per run (the trend page's): gaps where a run did not measure it, rings
where it crossed its threshold, a ? on the axis where it was undefined."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

WIDTH, HEIGHT, LEFT, RIGHT, TOP, BOTTOM = 420, 170, 46, 12, 12, 26
VALUE, THRESHOLD, ESTIMATED, REFERENCE = "#e07b39", "#c0392b", "#3b7dd8", "#8a8a8a"


@dataclass(frozen=True)
class Line:
    """One line of a chart: a value per run (None: a gap), drawn dashed for thresholds."""

    label: str
    colour: str
    values: list[float | None]
    dashed: bool = False
    crossed: list[bool] = field(default_factory=list)  # points drawn as a ring: the value crossed its threshold
    undefined: list[str | None] = field(default_factory=list)  # reasons, marked on the axis


def line_chart(lines: list[Line], runs: int, from_zero: bool) -> str:
    """An SVG line chart of ``lines`` over ``runs`` runs (x: 1..runs), its y axis from 0 when ``from_zero``."""
    known = [v for line in lines for v in line.values if v is not None] + ([0.0] if from_zero else [])
    lo, hi = (min(known), max(known)) if known else (0.0, 1.0)
    pad = (hi - lo) * 0.1 or max(abs(hi) * 0.1, 0.05)
    lo, hi = lo - pad, hi + pad

    def x(i: int) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * (i / (runs - 1) if runs > 1 else 0.5)

    def y(v: float) -> float:
        return TOP + (HEIGHT - TOP - BOTTOM) * (hi - v) / (hi - lo)

    parts = [
        f'<line x1="{LEFT}" y1="{HEIGHT - BOTTOM}" x2="{WIDTH - RIGHT}" y2="{HEIGHT - BOTTOM}" stroke="#999"/>',
        f'<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{HEIGHT - BOTTOM}" stroke="#999"/>',
        *(
            f'<text x="{LEFT - 4}" y="{y(v) + 3:.1f}" font-size="9" text-anchor="end">{v:.3g}</text>'
            for v in sorted({round(v, 12) for v in (lo + pad, (lo + hi) / 2, hi - pad)})
        ),
        *(
            f'<text x="{x(i):.1f}" y="{HEIGHT - 10}" font-size="9" text-anchor="middle">{i + 1}</text>'
            for i in range(runs)
            if runs <= 15 or i % (runs // 15 + 1) == 0
        ),
    ]
    for line in lines:
        dash = ' stroke-dasharray="5 3"' if line.dashed else ""
        segment: list[str] = []
        for i, v in enumerate([*line.values, None]):
            if v is not None:
                segment.append(f"{x(i):.1f},{y(v):.1f}")
            elif segment:
                parts.append(f'<polyline points="{" ".join(segment)}" fill="none" stroke="{line.colour}" stroke-width="1.6"{dash}/>')
                segment = []
        for i, v in enumerate(line.values):
            if v is None or line.dashed:
                continue
            ring = i < len(line.crossed) and line.crossed[i]
            fill = "#fff" if ring else line.colour
            parts.append(
                f'<circle cx="{x(i):.1f}" cy="{y(v):.1f}" r="{4 if ring else 2.5}" fill="{fill}" stroke="{THRESHOLD if ring else line.colour}" '
                f'stroke-width="{2 if ring else 1}"><title>run {i + 1}: {html.escape(line.label)} {v:.4g}'
                f"{' (crossed)' if ring else ''}</title></circle>"
            )
        for i, reason in enumerate(line.undefined):
            if reason:
                parts.append(
                    f'<text x="{x(i):.1f}" y="{HEIGHT - BOTTOM - 3}" font-size="10" fill="#b58900" text-anchor="middle">?'
                    f"<title>run {i + 1}: {html.escape(line.label)} undefined: {html.escape(reason)}</title></text>"
                )
    return f'<svg width="{WIDTH}" height="{HEIGHT}" role="img">{"".join(parts)}</svg>'
