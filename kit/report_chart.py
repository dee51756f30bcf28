"""The broadcast report's chart, drawn on the kit as SVG: no library, nothing from elsewhere.

Pure: the figures sampled while on air (kit.figures) in, one ``<svg>`` element out. The
bitrate is a line; frames dropped since the sample before are bars under it; each
reconnect is a dashed line across, each highlight a numbered triangle on top. Colours
come from the page's stylesheet (classes), so the chart follows light and dark mode and
needs no inline style (the page's Content-Security-Policy allows none).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from itertools import pairwise

from markupsafe import escape

from kit.store import Sample

WIDTH, HEIGHT = 360, 150
LEFT, RIGHT, TOP, BOTTOM = 40, 352, 14, 108  # the bitrate's plot
DROP_TOP, DROP_BOTTOM = 114, 130  # the dropped frames' strip
STEPS = (250, 500, 1000, 2000, 2500, 5000, 10000)


def clock(seconds: float) -> str:
    s = max(0, round(seconds))
    return (
        f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
    )


def _top(kbps: float) -> int:
    """A round number above the highest bitrate, for the axis."""
    for step in STEPS:
        if kbps * 1.1 <= step:
            return step
    return int(-(-kbps * 1.1 // 1000) * 1000)


def chart(
    samples: Sequence[Sample],
    markers_s: Sequence[float],
    duration_s: float,
    labels: Mapping[str, str],
) -> str:
    """The SVG. ``labels``: "title", "kbps" (the axis, with {n}), "highlight" (with {n}),
    "reconnect" and "dropped" (with {n}; "dropped.one" for one frame), in the page's
    language."""
    span = max(duration_s, max((s.at_s for s in samples), default=0.0), 1.0)
    top = _top(max((s.bitrate_kbps for s in samples), default=0.0))

    def x(t: float) -> float:
        return round(LEFT + (RIGHT - LEFT) * min(max(t, 0.0), span) / span, 1)

    def y(kbps: float) -> float:
        return round(BOTTOM - (BOTTOM - TOP) * min(max(kbps, 0.0), top) / top, 1)

    title = escape(labels.get("title", ""))
    out = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="chart-title" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="chart-title">{title}</title>',
        f'<line class="axis" x1="{LEFT}" y1="{BOTTOM}" x2="{RIGHT}" y2="{BOTTOM}"/>',
        f'<line class="axis" x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{BOTTOM}"/>',
        f'<text x="{LEFT - 4}" y="{TOP + 4}" text-anchor="end">{top}</text>',
        f'<text x="{LEFT - 4}" y="{BOTTOM}" text-anchor="end">0</text>',
        f'<text x="{LEFT + 4}" y="{TOP - 4}">{escape(labels.get("kbps", "kb/s"))}</text>',
    ]
    for t, anchor in ((0.0, "start"), (span / 2, "middle"), (span, "end")):
        out.append(f'<text x="{x(t)}" y="{HEIGHT - 6}" text-anchor="{anchor}">{clock(t)}</text>')
    if samples:
        points = " ".join(f"{x(s.at_s)},{y(s.bitrate_kbps)}" for s in samples)
        out.append(f'<polyline class="rate" points="{points}"/>')
    # Frames dropped since the sample before, as bars in their strip.
    drops = [
        (s.at_s, s.dropped_frames - p.dropped_frames)
        for p, s in pairwise(samples)
        if s.dropped_frames > p.dropped_frames
    ]
    most = max((n for _, n in drops), default=0)
    for t, n in drops:
        h = max(1.0, round((DROP_BOTTOM - DROP_TOP) * n / most, 1))
        said = labels.get("dropped.one" if n == 1 else "dropped", labels.get("dropped", "{n}"))
        label = escape(said.format(n=n))
        out.append(
            f'<rect class="drop" x="{x(t) - 1.5}" y="{DROP_BOTTOM - h}" width="3" height="{h}">'
            f"<title>{label}</title></rect>"
        )
    for p, s in pairwise(samples):
        if s.reconnects > p.reconnects:
            out.append(
                f'<line class="rc" x1="{x(s.at_s)}" y1="{TOP}" x2="{x(s.at_s)}" y2="{BOTTOM}">'
                f"<title>{escape(labels.get('reconnect', ''))}</title></line>"
            )
    for n, m in enumerate(markers_s, 1):
        mx = x(m)
        label = escape(labels.get("highlight", "{n}").format(n=n))
        out.append(
            f'<g class="hl"><polygon points="{mx - 5},{TOP - 12} {mx + 5},{TOP - 12} '
            f'{mx},{TOP - 3}"/><text x="{mx}" y="{TOP + 9}" text-anchor="middle">{n}</text>'
            f"<title>{label}</title></g>"
        )
    out.append("</svg>")
    return "\n".join(out)
