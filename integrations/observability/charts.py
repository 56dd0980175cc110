"""Bar charts as inline SVG, drawn on the server: no JavaScript, no CDN, nothing the strict
Content-Security-Policy (fintech/settings.py) would block. Each bar is a link to the rows it
counts, with its exact figure in a <title> (the browser's tooltip and the screen reader's text).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH = 640
HEIGHT = 140
AXIS = 16  # room under the bars for the first and last day's label


@dataclass(frozen=True)
class Segment:
    value: int
    label: str  # the tooltip: what and how much, already formatted
    url: str
    colour: str


@dataclass(frozen=True)
class Bar:
    label: str  # the day, shown under the first and last bar
    segments: tuple[Segment, ...]  # stacked from the bottom up; negative values draw nothing

    @property
    def total(self) -> int:
        return sum(max(s.value, 0) for s in self.segments)


def bar_chart_svg(bars: list[Bar], *, title: str) -> SafeString:
    """Stacked bars scaled to the largest; every piece of text goes through format_html."""
    top = max((bar.total for bar in bars), default=0) or 1
    step = WIDTH / max(len(bars), 1)
    width = max(step * 0.8, 1.0)
    plot = HEIGHT - AXIS
    rects: list[tuple[object, ...]] = []
    for i, bar in enumerate(bars):
        y = float(plot)
        for segment in bar.segments:
            if segment.value <= 0:
                continue
            h = segment.value * plot / top
            y -= h
            rects.append(
                (
                    segment.url,
                    i * step,
                    y,
                    width,
                    h,
                    segment.colour,
                    f"{bar.label}: {segment.label}",
                )
            )
    body = format_html_join(
        "",
        '<a href="{}"><rect x="{}" y="{}" width="{}" height="{}" fill="{}">'
        "<title>{}</title></rect></a>",
        rects,
    )
    labels = (
        format_html(
            '<text x="0" y="{}" font-size="11">{}</text>'
            '<text x="{}" y="{}" font-size="11" text-anchor="end">{}</text>',
            HEIGHT - 3,
            bars[0].label,
            WIDTH,
            HEIGHT - 3,
            bars[-1].label,
        )
        if bars
        else ""
    )
    return format_html(
        '<svg class="dashboard-chart" role="img" viewBox="0 0 {} {}" width="100%" height="{}" '
        'preserveAspectRatio="none" xmlns="http://www.w3.org/2000/svg"><title>{}</title>'
        '<line x1="0" y1="{}" x2="{}" y2="{}" stroke="#999" stroke-width="1"/>{}{}</svg>',
        WIDTH,
        HEIGHT,
        HEIGHT,
        title,
        HEIGHT - AXIS,
        WIDTH,
        HEIGHT - AXIS,
        body,
        labels,
    )
