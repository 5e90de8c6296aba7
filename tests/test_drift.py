"""Drift between two freeze records: numbers within a tolerance, figures by hash."""
from __future__ import annotations

import pytest

from builder.freeze.drift import compare_records

FIGURE = {"kind": "image", "path": "assets/img/x/y.png", "sha256": "a" * 64, "width": 10,
          "height": 8, "alt": ""}


def record(*cells: list[dict]) -> dict:
    return {"cells": [{"number": number, "outputs": outputs} for number, outputs in enumerate(cells, 1)]}


def stdout(*lines: str) -> dict:
    return {"kind": "stream", "name": "stdout", "text": [*lines, ""]}


LOG = ["Epoch[980/1000], loss: 0.172487", "Epoch[1000/1000], loss: 0.172483"]


def test_identical_records_have_no_drift():
    old = record([stdout(*LOG)], [FIGURE])
    assert compare_records(old, old) == []


def test_numbers_within_the_tolerance_are_no_drift():
    old = record([stdout("loss: 0.1724830", "w = 1.00")])
    new = record([stdout("loss: 0.1724831", "w = 1.00")])
    assert compare_records(old, new) == []
    assert compare_records(old, new, rel_tol=1e-9) == [
        "cell 1: 'loss: 0.1724830' → '... 0.1724831' (max relative difference 5.8e-07)"]


def test_a_number_that_moved_names_the_line_and_the_difference():
    old = record([], [], [], [], [], [stdout(*LOG)])
    new = record([], [], [], [], [], [stdout(LOG[0], "Epoch[1000/1000], loss: 0.172490")])
    assert compare_records(old, new) == [
        "cell 6: 'Epoch[1000/1000], loss: 0.172483' → '... 0.172490' (max relative difference 4.1e-05)"]


def test_several_moved_lines_show_the_largest_difference_and_count():
    old = record([stdout("a 1.0", "b 2.0", "c 3.0")])
    new = record([stdout("a 1.1", "b 2.0", "c 3.5")])
    assert compare_records(old, new) == [
        "cell 1: 'c 3.0' → '... 3.5' (max relative difference 1.4e-01, 2 lines differ)"]


def test_changed_words_are_shown_whole():
    old = record([stdout("LinearRegression(", "  (linear): Linear(in_features=1)")])
    new = record([stdout("LinearModel(", "  (linear): Linear(in_features=2)")])
    assert compare_records(old, new) == [
        "cell 1: 'LinearRegression(' → 'LinearModel(' (2 lines differ)"]


def test_lines_added_or_removed():
    assert compare_records(record([stdout("a", "b")]), record([stdout("a", "b", "c", "d")])) == [
        "cell 1: 2 lines added: 'c'"]
    assert compare_records(record([stdout("a", "b")]), record([stdout("a")])) == [
        "cell 1: 1 line removed: 'b'"]


def test_figures_are_compared_by_hash():
    changed = dict(FIGURE, sha256="b" * 64)
    moved = dict(FIGURE, path="assets/img/x/z.png")
    assert compare_records(record([FIGURE]), record([changed])) == [
        "cell 1: figure assets/img/x/y.png changed"]
    assert compare_records(record([FIGURE]), record([moved])) == [
        "cell 1: figure assets/img/x/y.png → assets/img/x/z.png"]


def test_outputs_and_cells_added_or_removed():
    old = record([stdout("hello")], [FIGURE])
    new = record([stdout("hello"), {"kind": "text", "text": ["42"]}], [], [stdout("new cell")])
    assert compare_records(old, new) == [
        "cell 1: output added: text '42'",
        "cell 2: output removed: figure assets/img/x/y.png",
        "cell 3: added",
    ]
    assert compare_records(new, old)[-1] == "cell 3: removed"


def test_an_output_of_another_kind():
    old = record([stdout("ok")])
    new = record([{"kind": "error", "text": ["ValueError: bad", ""]}])
    assert compare_records(old, new) == ["cell 1: stream stdout 'ok' → error 'ValueError: bad'"]


@pytest.mark.kernel
def test_forced_re_run_reports_what_drifted(tmp_path):
    from conftest import run_build, write
    site = tmp_path / "site"
    write(site / "posts/2021-01-01-noisy.md",
          "---\ntitle: Noisy\nseed: false\n---\n```python\nimport random\nprint(f'loss: {random.random():.6f}')\n```\n")
    run_build(site)
    forced = run_build(site, force=True)
    assert forced.executed == ["posts/2021-01-01-noisy.md"]
    assert "drift   posts/2021-01-01-noisy.md: cell 1: 'loss: 0." in forced.log
    assert "(max relative difference" in forced.log
