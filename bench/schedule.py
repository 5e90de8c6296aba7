"""Duration scheduling: does `-j 2` finish near the lower bound, and what would a big site cost?

    python bench/schedule.py [--simulate-only] [--keep]

1. Measured: 24 posts dominated by `time.sleep` (two of 12 s, twenty-two of 1-3 s), built with
   `-j 2` twice in one run: first cold (no freeze records, so every post expects the same
   duration and they start in file order, as every build did before duration scheduling), then
   `--force` (the records now hold each post's run time, so the longest start first). In file
   order one 12 s post is the 12th and one the last, which starts when all else is done, as
   long tutorials did on round-robin shards (pytorch/tutorials#1899). (Two long posts both last
   would be harmless with 2 workers: they would start together.)
   The makespan runs from the first `run` progress line to the last `done` line (the build's own
   start-up, reading and rendering are in the wall column); it is compared with the lower bound
   max(longest, total / 2) over the run times the build recorded (they include each post's
   kernel start).
2. Simulated: a 200-post site on 15 workers (or 15 single-worker CI shards), durations sampled
   from a log-normal (median 60 s, a few posts of half an hour, as in the PyTorch tutorials);
   file order, round-robin shards and longest-first / greedy bin-packing, with the lower bound.

Writes bench/schedule-results.md and prints the same tables.
"""
from __future__ import annotations

import argparse
import heapq
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
VENV_PY = REPO / ".venv" / "bin" / "python"
PY = str(VENV_PY if VENV_PY.exists() else Path(sys.executable))
SHORT = [1.0 + (i % 3) for i in range(22)]
DURATIONS = SHORT[:11] + [12.0] + SHORT[11:] + [12.0]     # in file order: one long post mid-site, one last


def make_site(site: Path) -> None:
    """24 posts, each sleeping its duration in one cell."""
    (site / "posts").mkdir(parents=True)
    for index, seconds in enumerate(DURATIONS):
        (site / f"posts/2024-01-01-p{index:02}.md").write_text(
            f"---\ntitle: Post {index}\n---\n```python\nimport time\ntime.sleep({seconds})\n```\n",
            encoding="utf-8")


def build(site: Path, *extra: str) -> tuple[float, float]:
    """One `build -j 2`: its wall seconds, and the seconds from its first post starting to its
    last finishing (read from its progress lines as they come)."""
    started = time.perf_counter()
    command = [PY, "-m", "builder", "build", "--source", str(site), "-j", "2", *extra]
    first = last = None
    with subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True) as child:
        for line in child.stderr:
            now = time.perf_counter()
            first = now if first is None and line.startswith("run ") else first
            last = now if line.startswith("done ") else last
        child.wait(timeout=600)
    if child.returncode or first is None:
        sys.exit(f"build failed: {' '.join(command)}")
    return time.perf_counter() - started, last - first


def recorded(site: Path) -> list[float]:
    return [json.loads(path.read_text())["provenance"]["run_seconds"]
            for path in sorted((site / "_freeze/posts").glob("*.json"))]


def lower_bound(durations: list[float], workers: int) -> float:
    return max(max(durations), sum(durations) / workers)


def measure(keep: bool) -> list[str]:
    scratch = Path(tempfile.mkdtemp(prefix="bench-schedule-"))
    site = scratch / "site"
    make_site(site)
    rows = ["| build (24 posts, -j 2) | makespan: first post started to last done | lower bound "
            "max(longest, total/2) of the recorded run times | ratio | whole build (wall) |",
            "|---|---:|---:|---:|---:|"]
    for label, extra in (("file order (cold: no recorded durations)", ()),
                         ("longest recorded first (--force)", ("--force",))):
        wall, seconds = build(site, *extra)
        bound = lower_bound(recorded(site), 2)
        rows.append(f"| {label} | {seconds:.1f} s | {bound:.1f} s | {seconds / bound:.2f}x | {wall:.1f} s |")
    if not keep:
        subprocess.run(["rm", "-rf", str(scratch)], check=False)
    return rows


def makespan(durations: list[float], workers: int) -> float:
    """List scheduling: each job in the given order to the first free worker."""
    free = [0.0] * workers
    for seconds in durations:
        heapq.heapreplace(free, free[0] + seconds)
    return max(free)


def shard_makespan(durations: list[float], shards: int, greedy: bool) -> float:
    """The longest shard: round-robin in file order, or greedy longest-first into the least loaded."""
    loads = [0.0] * shards
    if not greedy:
        for index, seconds in enumerate(durations):
            loads[index % shards] += seconds
        return max(loads)
    return makespan(sorted(durations, reverse=True), shards)


def simulate(posts: int = 200, workers: int = 15, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    durations = [min(3600.0, rng.lognormvariate(4.1, 1.0)) for _ in range(posts)]   # median ~60 s
    bound = lower_bound(durations, workers)
    rows = [f"| {posts} posts, {workers} workers (sampled, seed {seed}) | makespan | vs lower bound |",
            "|---|---:|---:|",
            f"| serial (1 worker) | {sum(durations) / 60:.1f} min | {sum(durations) / bound:.2f}x |"]
    for label, seconds in (("pool, file order", makespan(durations, workers)),
                           ("pool, longest first", makespan(sorted(durations, reverse=True), workers)),
                           ("CI shards, round-robin", shard_makespan(durations, workers, greedy=False)),
                           ("CI shards, greedy by duration (--shard)", shard_makespan(durations, workers, greedy=True))):
        rows.append(f"| {label} | {seconds / 60:.1f} min | {seconds / bound:.2f}x |")
    rows.append(f"| lower bound max(longest, total/{workers}) | {bound / 60:.1f} min | 1.00x |")
    return rows


def main() -> None:
    arguments = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    arguments.add_argument("--simulate-only", action="store_true", help="skip the measured builds")
    arguments.add_argument("--keep", action="store_true", help="keep the scratch site")
    options = arguments.parse_args()
    tables = [] if options.simulate_only else [measure(options.keep), [""]]
    tables.append(simulate())
    text = "\n".join(row for table in tables for row in table)
    print(text)
    if not options.simulate_only:
        (REPO / "bench/schedule-results.md").write_text(
            "# Duration scheduling (`python bench/schedule.py`)\n\n" + text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
