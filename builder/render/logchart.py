"""Recognise training logs in cell output and draw them as small inline SVG charts."""
from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from typing import NamedTuple

MIN_LOG_LINES = 3
MAX_METRICS = 4
METRIC_COLOURS = ("#ee4c2c", "#1f77b4", "#2ca02c", "#9467bd")
LOG_SCALE_SPAN = 100.0

_STEP_WORDS = ("epoch", "step", "iteration", "iter")
_STEP = re.compile(
    r"\b(?P<label>" + "|".join(_STEP_WORDS) + r")\b\s*[\[(:#]?\s*(?P<number>\d+)(?:\s*/\s*\d+)?\s*[\])]?",
    re.IGNORECASE,
)
_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:e[-+]?\d+)?"
# The lookahead rejects values that are really "5/100", "2.3s" or "0.9.1".
_METRIC = re.compile(
    r"(?P<name>[a-z_][\w.\-]*)\s*(?:[:=]\s*|\s+)(?P<value>" + _NUMBER + r"|nan|[-+]?inf)(?![\w./])",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class TrainingLog:
    """Metrics read from a training log: name -> (step, value) points in log order."""

    steps_label: str
    metrics: dict[str, tuple[tuple[float, float], ...]]


class _LogLine(NamedTuple):
    label: str
    step: float
    values: tuple[tuple[str, float], ...]


def parse_training_log(text: str) -> TrainingLog | None:
    """Read step/epoch metrics from log text, or None when it is not a training log."""
    lines = [line for line in map(_parse_line, text.splitlines()) if line is not None]
    label = _dominant_label(lines)
    lines = [line for line in lines if line.label == label]
    if len(lines) < MIN_LOG_LINES:
        return None
    return TrainingLog(steps_label=label, metrics=_collect_metrics(lines))


def _parse_line(line: str) -> _LogLine | None:
    step = _STEP.search(line)
    if step is None:
        return None
    rest = line[:step.start()] + " " + line[step.end():]
    values = tuple(
        (match["name"], float(match["value"]))
        for match in _METRIC.finditer(rest)
        if match["name"].lower() not in _STEP_WORDS and math.isfinite(float(match["value"]))
    )
    if not values:
        return None
    label = "epoch" if step["label"].lower() == "epoch" else "step"
    return _LogLine(label, float(step["number"]), values)


def _dominant_label(lines: list[_LogLine]) -> str:
    # A log that prints both per-step and per-epoch lines is charted along
    # whichever it prints more often; mixing the two would garble the x axis.
    labels = [line.label for line in lines]
    return max(dict.fromkeys(labels), key=labels.count, default="step")


def _collect_metrics(lines: list[_LogLine]) -> dict[str, tuple[tuple[float, float], ...]]:
    points: dict[str, list[tuple[float, float]]] = {}
    for line in lines:
        for name, value in line.values:
            points.setdefault(name, []).append((line.step, value))
    return {name: tuple(series) for name, series in points.items()}


@dataclass(frozen=True)
class _Frame:
    left: float
    top: float
    right: float
    bottom: float


@dataclass(frozen=True)
class _Axis:
    low: float
    high: float
    log: bool

    def fraction(self, value: float) -> float:
        low, high, value = (math.log10(v) if self.log else v for v in (self.low, self.high, value))
        return 0.5 if high == low else (value - low) / (high - low)


def render_chart_svg(log: TrainingLog, width: int = 360, height: int = 180) -> str:
    """Draw up to four metrics of `log` as a deterministic, accessible SVG line chart."""
    metrics = dict(list(log.metrics.items())[:MAX_METRICS])
    frame = _Frame(left=52.0, top=22.0, right=width - 12.0, bottom=height - 24.0)
    x_axis = _Axis(*_bounds(metrics, 0), log=False)
    y_axis = _y_axis(metrics)
    parts = [
        f'<svg class="training-chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' xmlns="http://www.w3.org/2000/svg" role="img"'
        f' aria-label="{html.escape(_description(log.steps_label, metrics, y_axis.log))}">',
        *_axes(frame),
        *_axis_labels(frame, x_axis, y_axis, log.steps_label),
        *_series(frame, x_axis, y_axis, metrics),
        *_legend(frame, metrics),
        "</svg>",
    ]
    return "\n".join(parts)


def _bounds(metrics: dict[str, tuple[tuple[float, float], ...]], index: int) -> tuple[float, float]:
    values = [point[index] for series in metrics.values() for point in series]
    return min(values, default=0.0), max(values, default=0.0)


def _y_axis(metrics: dict[str, tuple[tuple[float, float], ...]]) -> _Axis:
    low, high = _bounds(metrics, 1)
    return _Axis(low, high, log=low > 0 and any(_spans_orders(series) for series in metrics.values()))


def _spans_orders(series: tuple[tuple[float, float], ...]) -> bool:
    values = [value for _, value in series]
    return min(values) > 0 and max(values) / min(values) > LOG_SCALE_SPAN


def _description(steps_label: str, metrics: dict[str, tuple[tuple[float, float], ...]], log: bool) -> str:
    parts = [
        f"{name} over {_count(len(series), steps_label)}, "
        f"from {_format_value(series[0][1])} to {_format_value(series[-1][1])}"
        for name, series in metrics.items()
    ]
    return "; ".join(parts) + (" (log scale)" if log else "")


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}" + ("" if number == 1 else "s")


def _axes(frame: _Frame) -> list[str]:
    return [
        '<g class="axes" stroke="currentColor" stroke-opacity="0.4" stroke-width="1">',
        _line(frame.left, frame.bottom, frame.right, frame.bottom),
        _line(frame.left, frame.top, frame.left, frame.bottom),
        "</g>",
    ]


def _axis_labels(frame: _Frame, x_axis: _Axis, y_axis: _Axis, steps_label: str) -> list[str]:
    below = frame.bottom + 14
    return [
        '<g class="axis-labels" font-family="sans-serif" font-size="10" fill="currentColor">',
        _text(frame.left - 4, frame.top + 4, "end", _format_value(y_axis.high)),
        _text(frame.left - 4, frame.bottom, "end", _format_value(y_axis.low)),
        _text(frame.left, below, "start", _format_step(x_axis.low)),
        _text((frame.left + frame.right) / 2, below, "middle", steps_label),
        _text(frame.right, below, "end", _format_step(x_axis.high)),
        "</g>",
    ]


def _series(
    frame: _Frame, x_axis: _Axis, y_axis: _Axis, metrics: dict[str, tuple[tuple[float, float], ...]]
) -> list[str]:
    lines = []
    for index, series in enumerate(metrics.values()):
        points = " ".join(
            f"{_x(frame, x_axis, step):.2f},{_y(frame, y_axis, value):.2f}" for step, value in series
        )
        lines.append(f'<polyline class="metric-{index}" stroke="{METRIC_COLOURS[index]}" points="{points}"/>')
    return ['<g class="series" fill="none" stroke-width="1.5">', *lines, "</g>"]


def _legend(frame: _Frame, metrics: dict[str, tuple[tuple[float, float], ...]]) -> list[str]:
    slot = (frame.right - frame.left) / max(len(metrics), 1)
    items = []
    for index, name in enumerate(metrics):
        x = frame.left + index * slot
        items.append(
            f'<line class="metric-{index}" x1="{x:.2f}" y1="10.00" x2="{x + 14:.2f}" y2="10.00"'
            f' stroke="{METRIC_COLOURS[index]}" stroke-width="2"/>'
        )
        items.append(_text(x + 18, 13, "start", name))
    return ['<g class="legend" font-family="sans-serif" font-size="10" fill="currentColor">', *items, "</g>"]


def _x(frame: _Frame, axis: _Axis, step: float) -> float:
    return frame.left + axis.fraction(step) * (frame.right - frame.left)


def _y(frame: _Frame, axis: _Axis, value: float) -> float:
    return frame.bottom - axis.fraction(value) * (frame.bottom - frame.top)


def _line(x1: float, y1: float, x2: float, y2: float) -> str:
    return f'<line x1="{x1:.2f}" y1="{y1:.2f}" x2="{x2:.2f}" y2="{y2:.2f}"/>'


def _text(x: float, y: float, anchor: str, content: str) -> str:
    return f'<text x="{x:.2f}" y="{y:.2f}" text-anchor="{anchor}">{html.escape(content)}</text>'


def _format_value(value: float) -> str:
    # Fixed precision keeps output deterministic; exponent form keeps
    # learning rates like 1e-05 from collapsing to "0.00".
    if value == 0 or 0.01 <= abs(value) < 1e5:
        return f"{value:.2f}"
    return f"{value:.2e}"


def _format_step(step: float) -> str:
    return str(int(step)) if step.is_integer() else f"{step:.2f}"
