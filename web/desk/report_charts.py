"""The office's figures as pictures: SVG drawn here, on the server, from the body of
GET /api/console/reports. Pure functions, no I/O.

Why SVG from the server rather than a charting library in the console: two bar charts do not
need 70 KB of gzipped script (Chart.js; uPlot would still be 20 KB) nor a canvas, which a
screen reader cannot read and which blurs when zoomed. An SVG is drawn from the very numbers
the JSON and the CSV give, is tested here with them, stays sharp when zoomed or printed, and
the page shows it as an <img> with its alternative text, its data table beside it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from bot.i18n import t

OPENED = "#0b4a88"
CLOSED = "#1d6b3a"
GRID = "#d5dbe3"
INK = "#1a1a1a"
MUTED = "#5a6470"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif"
WIDTH = 720
LABEL_CHARS = 34


def _svg(height: int, title: str, body: list[str]) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {height}" '
        f'width="{WIDTH}" height="{height}" role="img" font-family={quoteattr(FONT)} '
        f'font-size="13" fill="{INK}"><title>{escape(title)}</title>'
        f'<rect width="{WIDTH}" height="{height}" fill="#fff"/>' + "".join(body) + "</svg>"
    )


def _text(x: float, y: float, text: str, **attrs: str) -> str:
    extra = "".join(f" {k.replace('_', '-')}={quoteattr(v)}" for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{escape(text)}</text>'


def nice_step(largest: int, ticks: int = 4) -> int:
    """A round step (1, 2 or 5 times a power of ten) that divides 0..largest in about `ticks`."""
    raw = max(1.0, largest / ticks)
    power = 10 ** math.floor(math.log10(raw))
    return int(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))


def _day_label(day: str, lang: str) -> str:
    when = date.fromisoformat(day)
    months = t("report.chart.months", lang).split()
    return f"{when.day} {months[when.month - 1]}"


def _no_data(height: int, title: str, lang: str) -> str:
    return _svg(height, title, [
        _text(WIDTH / 2, height / 2, t("report.chart.none", lang), text_anchor="middle",
              fill=MUTED)
    ])


def day_chart(by_day: Sequence[Mapping[str, Any]], lang: str) -> str:
    """Tickets opened and closed on each day of the window: two bars a day."""
    height, left, right, top, bottom = 280, 44, 12, 40, 34
    title = t("report.chart.by_day", lang)
    largest = max((max(d["opened"], d["closed"]) for d in by_day), default=0)
    if not largest:
        return _no_data(height, title, lang)
    step = nice_step(largest)
    ceiling = step * math.ceil(largest / step)
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    slot = plot_w / len(by_day)
    bar = max(1.0, slot * 0.4)
    body = [
        f'<rect x="{left}" y="10" width="12" height="12" fill="{OPENED}"/>',
        _text(left + 18, 21, t("report.chart.opened", lang)),
        f'<rect x="{left + 130}" y="10" width="12" height="12" fill="{CLOSED}"/>',
        _text(left + 148, 21, t("report.chart.closed", lang)),
    ]
    for value in range(0, ceiling + 1, step):
        y = top + plot_h - plot_h * value / ceiling
        body.append(f'<line x1="{left}" x2="{WIDTH - right}" y1="{y:.1f}" y2="{y:.1f}" '
                    f'stroke="{GRID}"/>')
        body.append(_text(left - 6, y + 4, str(value), text_anchor="end", fill=MUTED))
    every = math.ceil(len(by_day) / 10)
    for i, d in enumerate(by_day):
        x = left + i * slot + (slot - 2 * bar) / 2
        label = _day_label(d["day"], lang)
        for offset, key, colour in ((0.0, "opened", OPENED), (bar, "closed", CLOSED)):
            h = plot_h * d[key] / ceiling
            body.append(
                f'<rect x="{x + offset:.1f}" y="{top + plot_h - h:.1f}" width="{bar:.1f}" '
                f'height="{h:.1f}" fill="{colour}"><title>'
                f'{escape(label)}: {d[key]} {escape(t(f"report.chart.{key}", lang).lower())}'
                "</title></rect>"
            )
        if (len(by_day) - 1 - i) % every == 0:  # today always has its label
            # centred under its bar, but today's ends there: centred, it overran the edge
            last = i == len(by_day) - 1 and len(by_day) > 1
            x_label = left + (i + 1) * slot if last else left + (i + 0.5) * slot
            body.append(_text(x_label, height - 12, label,
                              text_anchor="end" if last else "middle", fill=MUTED))
    return _svg(height, title, body)


def subtopic_chart(rows: Sequence[tuple[str, int]], lang: str) -> str:
    """(label, tickets opened) per subtopic, most first: one horizontal bar each."""
    row, top, label_w, value_w = 28, 8, 270, 50
    height = max(80, top * 2 + row * len(rows))
    title = t("report.chart.by_subtopic", lang)
    if not rows:
        return _no_data(height, title, lang)
    largest = max(n for _, n in rows)
    plot_w = WIDTH - label_w - value_w
    body = []
    for i, (label, n) in enumerate(rows):
        y = top + i * row
        short = label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1] + "…"
        w = max(2.0, plot_w * n / largest)
        body.append(_text(label_w - 8, y + 18, short, text_anchor="end"))
        body.append(f'<rect x="{label_w}" y="{y + 5}" width="{w:.1f}" height="{row - 10}" '
                    f'fill="{OPENED}" rx="3"><title>{escape(label)}: {n}</title></rect>')
        body.append(_text(label_w + w + 6, y + 18, str(n), font_weight="600"))
    return _svg(height, title, body)
