"""Drift: how a post's outputs changed between two runs, numbers compared with a tolerance.

`compare_records(old, new)` takes two freeze records (builder.freeze.records.make_record) and returns one
line per change, empty when the outputs agree: text is compared with its numbers taken out and
compared within `rel_tol`/`abs_tol`, figures by their sha256.
"""
from __future__ import annotations

import math
import os
import re
from typing import Any, Mapping

from builder.freeze.records import FreezeRecord

NUMBER = re.compile(r"(?<![\w.])[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:[eE][-+]?\d+)?(?![\w.])")
LONGEST = 100      # characters of a line shown in a message


def compare_records(old: FreezeRecord | Mapping, new: FreezeRecord | Mapping, rel_tol: float = 1e-6,
                    abs_tol: float = 1e-9) -> list[str]:
    """One line per output that changed between two freeze records of a post (or their JSON form)."""
    old_cells = {cell["number"]: cell["outputs"] for cell in json_form(old).get("cells", [])}
    new_cells = {cell["number"]: cell["outputs"] for cell in json_form(new).get("cells", [])}
    changes = []
    for number in sorted(old_cells.keys() | new_cells.keys()):
        if number not in new_cells:
            changes.append(f"cell {number}: removed")
        elif number not in old_cells:
            changes.append(f"cell {number}: added")
        else:
            changes += [f"cell {number}: {change}" for change in
                        compare_outputs(old_cells[number], new_cells[number], rel_tol, abs_tol)]
    return changes


def json_form(record: FreezeRecord | Mapping) -> Mapping:
    return record.as_json() if isinstance(record, FreezeRecord) else record


def compare_outputs(old: list[dict], new: list[dict], rel_tol: float, abs_tol: float) -> list[str]:
    changes = []
    for before, after in zip(old, new):
        change = compare_output(before, after, rel_tol, abs_tol)
        if change:
            changes.append(change)
    changes += [f"output removed: {describe(output)}" for output in old[len(new):]]
    changes += [f"output added: {describe(output)}" for output in new[len(old):]]
    return changes


def compare_output(old: dict, new: dict, rel_tol: float, abs_tol: float) -> str | None:
    """What changed in one output, or None."""
    if kind_of(old) != kind_of(new):
        return f"{describe(old)} → {describe(new)}"
    if old["kind"] == "image":
        if old["path"] != new["path"]:
            return f"figure {old['path']} → {new['path']}"
        return f"figure {old['path']} changed" if old["sha256"] != new["sha256"] else None
    return compare_text(lines_of(old), lines_of(new), rel_tol, abs_tol)


def compare_text(old: list[str], new: list[str], rel_tol: float, abs_tol: float) -> str | None:
    """The first line whose words changed, else the line whose numbers moved most."""
    worded, numeric = [], []          # (old line, new line) and (difference, old line, new line)
    for before, after in zip(old, new):
        if before == after:
            continue
        difference = number_difference(before, after, rel_tol, abs_tol)
        if difference is None:
            worded.append((before, after))
        elif difference > 0:
            numeric.append((difference, before, after))
    if worded:
        before, after = worded[0]
        count = len(worded) + len(numeric)
        return f"{quote(before)} → {quote(after)}" + (f" ({count} lines differ)" if count > 1 else "")
    if len(old) != len(new):
        return line_count_change(old, new)
    if numeric:
        relative, before, after = max(numeric, key=lambda item: item[0])
        more = f", {len(numeric)} lines differ" if len(numeric) > 1 else ""
        return (f"{quote(before)} → {quote(abbreviated(before, after))} "
                f"(max relative difference {relative:.1e}{more})")
    return None


def number_difference(old: str, new: str, rel_tol: float, abs_tol: float) -> float | None:
    """None when the lines differ in more than their numbers; else the largest relative
    difference of the numbers that are not close (math.isclose), 0.0 when all are."""
    if NUMBER.sub("#", old) != NUMBER.sub("#", new):
        return None
    largest = 0.0
    for a, b in zip(map(float, NUMBER.findall(old)), map(float, NUMBER.findall(new))):
        if not math.isclose(a, b, rel_tol=rel_tol, abs_tol=abs_tol):
            largest = max(largest, abs(a - b) / max(abs(a), abs(b)))
    return largest


def line_count_change(old: list[str], new: list[str]) -> str:
    if len(new) > len(old):
        added = len(new) - len(old)
        return f"{added} line{'s' if added > 1 else ''} added: {quote(new[len(old)])}"
    removed = len(old) - len(new)
    return f"{removed} line{'s' if removed > 1 else ''} removed: {quote(old[len(new)])}"


def abbreviated(old: str, new: str) -> str:
    """`new` with the whole words it shares with the start of `old` replaced by '...'."""
    common = os.path.commonprefix([old, new])
    cut = common.rfind(" ") + 1
    return f"... {new[cut:]}" if cut > 0 else new


def kind_of(output: dict) -> tuple[str, str]:
    return output["kind"], output.get("name", "")


def describe(output: dict) -> str:
    """A short name for an output: its kind and first line, or a figure's path."""
    if output["kind"] == "image":
        return f"figure {output['path']}"
    kind = " ".join(filter(None, kind_of(output)))
    lines = [line for line in lines_of(output) if line.strip()]
    return f"{kind} {quote(lines[0])}" if lines else kind


def lines_of(output: dict[str, Any]) -> list[str]:
    text = output.get("text", [])
    lines = text.split("\n") if isinstance(text, str) else list(text)
    while lines and lines[-1] == "":
        lines.pop()
    return lines


def quote(line: str) -> str:
    return f"'{line if len(line) <= LONGEST else line[:LONGEST - 1] + '…'}'"
