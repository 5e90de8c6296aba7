"""Stress the builder with faults: every run must end within its work + 2 s and leave no process.

    python bench/stress.py [--keep]

Each scenario builds a generated site with `python -m builder build` under `timeout` (a hang
shows as exit 124), streams its stderr with a time stamp per line, and reports the wall time,
the exit status, the time from the last failure line (or the signal) to the exit, and the
processes left behind: every process a build starts inherits a marker in its environment,
and /proc is scanned for it after the exit. Writes bench/stress-results.md.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

sys.dont_write_bytecode = True
REPO = Path(__file__).resolve().parent.parent
VENV_PY = REPO / ".venv" / "bin" / "python"
PY = str(VENV_PY if VENV_PY.exists() else Path(sys.executable))
PROBLEM = re.compile(r"(?:failed: |error: )?posts/[^ :]+\.md(?::\d+)?(?: \(cell \d+\))?: ")   # one line per problem
LIMIT_S = 300                 # the outer `timeout`: a build still running then has hung
GRACE_S = 2.0                 # allowed from the last failure (or the signal) to the exit


@dataclass
class Outcome:
    name: str
    command: str
    rc: int
    seconds: float
    tail_seconds: float | None           # last failure line or signal -> exit
    leftovers: list[str]
    failures: int
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        tail_ok = self.tail_seconds is None or self.tail_seconds <= GRACE_S
        return self.rc != 124 and tail_ok and not self.leftovers and not any("NOT" in n for n in self.notes)


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def missing_images(site: Path, count: int = 300) -> None:
    for n in range(1, count + 1):
        write(site / f"posts/2024-01-01-post-{n:03}.md",
              f'---\ntitle: "Post {n:03}"\n---\n\nText.\n\n![fig](/images/fig-{n:03}.png)\n')


def bad_permalinks(site: Path, count: int = 50) -> None:
    for n in range(1, count + 1):
        write(site / f"posts/2024-01-01-bad-{n:02}.md",
              f"---\ntitle: Bad {n}\npermalink: ../../../../tmp/stress-{n}.html\n---\n\nText.\n")
    write(site / "posts/2024-02-01-good.md", "---\ntitle: Good\n---\n\n```python\nprint('ok')\n```\n")


def executing(site: Path, count: int = 20, sleep: float = 0.5) -> None:
    """`count` executing posts: one raises, one kills its own kernel, the others sleep a little."""
    for n in range(1, count + 1):
        code = f"import time\ntime.sleep({sleep})\nprint({n})"
        if n == 7:
            code = "raise ValueError('post 7 fails on purpose')"
        elif n == 13:
            code = "import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"
        write(site / f"posts/2024-03-{n:02}-run-{n:02}.md",
              f"---\ntitle: Run {n}\n---\n\nText.\n\n```python\n{code}\n```\n")


def sleepers(site: Path, count: int = 4) -> None:
    for n in range(1, count + 1):
        write(site / f"posts/2024-04-0{n}-sleep.md",
              f"---\ntitle: Sleep {n}\n---\n\n```python\nimport time\nprint('go', flush=True)\ntime.sleep(120)\n```\n")


def many_plain(site: Path, count: int = 1000) -> None:
    body = "\n\n".join(f"Paragraph {i} with *emphasis* and `code`." for i in range(40))
    for n in range(1, count + 1):
        write(site / f"posts/2024-05-01-plain-{n:04}.md", f"---\ntitle: Plain {n}\ntags: [a, b]\n---\n\n{body}\n")


class Build:
    """One `python -m builder build` under `timeout`, stderr lines time-stamped as they come."""

    def __init__(self, site: Path, args: list[str]):
        self.marker = f"stress-{uuid.uuid4().hex}"
        env = dict(os.environ, PYTHONPATH=str(REPO), BUILDER_STRESS_MARK=self.marker)
        self.command = " ".join(["python -m builder build", *args])
        self.started = time.monotonic()
        self.process = subprocess.Popen(["timeout", str(LIMIT_S), PY, "-m", "builder", "build", *args],
                                        cwd=site, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL,
                                        text=True)
        self.lines: list[tuple[float, str]] = []
        self.reader = threading.Thread(target=self.read, daemon=True)
        self.reader.start()

    def read(self) -> None:
        for line in self.process.stderr:
            self.lines.append((time.monotonic(), line.rstrip("\n")))

    def wait_for(self, text: str, limit: float = 120) -> bool:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline and self.process.poll() is None:
            if any(text in line for _, line in self.lines):
                return True
            time.sleep(0.02)
        return False

    def finish(self) -> tuple[int, float]:
        rc = self.process.wait(LIMIT_S + 10)
        ended = time.monotonic()
        self.reader.join(5)
        return rc, ended

    def leftovers(self) -> list[str]:
        found = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and self.marker.encode() in (entry / "environ").read_bytes():
                    found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()[:80])
            except OSError:
                continue
        return found


def run(name: str, site: Path, args: list[str], signal_after: str | None = None,
        signum: int = signal.SIGINT) -> Outcome:
    build = Build(site, args)
    signalled = None
    if signal_after is not None and build.wait_for(signal_after):
        time.sleep(0.3)
        signalled = time.monotonic()
        os.kill(build.process.pid, signum)        # `timeout` passes it on to the build
    rc, ended = build.finish()
    tail = None if signalled is None else ended - signalled
    tail = tail if tail is not None else tail_after_work(build.lines, ended, "--keep-going" in args)
    time.sleep(0.2)                               # let the kernel finish reparenting the dead
    failures = sum(1 for _, line in build.lines if PROBLEM.match(line))
    return Outcome(name, build.command, rc, ended - build.started, tail, build.leftovers(), failures)


def tail_after_work(lines: list[tuple[float, str]], ended: float, keep_going: bool) -> float | None:
    """Seconds from the end of the build's work to its exit: from the summary line with
    --keep-going (failures are printed while it goes on), else from the failure that stopped it."""
    marks = ("built ",) if keep_going else ("FAILED", "error: ")
    times = [at for at, line in lines if line.startswith(marks)]
    return ended - times[-1] if times else None


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def fresh(work: Path, name: str, make) -> Path:
    site = work / name
    shutil.rmtree(site, ignore_errors=True)
    make(site)
    return site


def scenarios(work: Path) -> list[Outcome]:
    outcomes = []
    site = fresh(work, "images", missing_images)
    outcomes.append(run("300 posts, missing images", site, ["--no-execute"]))
    outcomes.append(run("300 posts, missing images, --keep-going", site, ["--no-execute", "--keep-going"]))
    site = fresh(work, "permalinks", bad_permalinks)
    outcomes.append(run("50 bad permalinks + 1 executing post", site, []))
    outcomes.append(run("50 bad permalinks + 1 executing post, --keep-going", site, ["--keep-going"]))
    site = fresh(work, "executing", executing)
    outcomes.append(run("20 executing posts, one fails, one kills its kernel", site, ["--force"]))
    outcomes.append(run("the same, --keep-going", site, ["--force", "--keep-going"]))
    outcomes.append(interrupted(work, "SIGINT while 4 posts execute", sleepers, [], "run     ", signal.SIGINT))
    outcomes.append(interrupted(work, "SIGTERM while 4 posts execute", sleepers, [], "run     ", signal.SIGTERM))
    for delay in (1.0, 2.5, 4.0):      # reading, rendering or putting the site in place
        outcomes.append(interrupted(work, f"SIGINT {delay:g} s into a 1,000-page build (-j 2)", many_plain,
                                    ["--no-execute", "-j", "2"], None, signal.SIGINT, delay=delay))
    return outcomes


def interrupted(work: Path, name: str, make, args: list[str], after: str | None, signum: int,
                delay: float = 0.0) -> Outcome:
    """A build stopped by a signal, over a site built once before: _site/ must stay as it was."""
    site = fresh(work, name.split()[0].lower() + str(signum), lambda s: write(s / "posts/2024-01-01-x.md",
                                                                             "---\ntitle: X\n---\n\nx\n"))
    run("(first build)", site, ["--no-execute"])
    before = tree(site / "_site")
    make(site)
    if after is None:
        build = Build(site, args)
        time.sleep(delay)
        signalled = time.monotonic()
        os.kill(build.process.pid, signum)
        rc, ended = build.finish()
        time.sleep(0.2)
        outcome = Outcome(name, build.command, rc, ended - build.started, ended - signalled, build.leftovers(), 0)
    else:
        outcome = run(name, site, args, signal_after=after, signum=signum)
    after_tree = tree(site / "_site")
    outcome.notes.append("_site/ unchanged" if after_tree == before else
                         "_site/ fully rebuilt" if rc_complete(site, after_tree) else "_site/ NOT as before")
    return outcome


def rc_complete(site: Path, after_tree: dict[str, bytes]) -> bool:
    """True when the interrupted build had already put a complete new site in place."""
    return len([p for p in after_tree if p.endswith(".html") and "/plain-" in p]) == 1000


def table(outcomes: list[Outcome]) -> str:
    rows = ["| scenario | command | exit | wall s | end of work (or signal) → exit, s | problems listed | "
            "processes left | verdict |", "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for o in outcomes:
        tail = "-" if o.tail_seconds is None else f"{o.tail_seconds:.2f}"
        notes = f" ({'; '.join(o.notes)})" if o.notes else ""
        rows.append(f"| {o.name}{notes} | `{o.command}` | {o.rc} | {o.seconds:.2f} | {tail} | {o.failures} | "
                    f"{len(o.leftovers)} | {'ok' if o.ok else 'FAIL'} |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description="Fault stress test of builder (see the module docstring).")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="builder-stress-"))
    try:
        outcomes = scenarios(work)
    finally:
        if not options.keep:
            shutil.rmtree(work, ignore_errors=True)
    text = (f"# Stress results\n\n`python bench/stress.py` on {os.cpu_count()} cores; each build under "
            f"`timeout {LIMIT_S}` (exit 124 would be a hang). Target: the exit within {GRACE_S:.0f} s of the "
            "failure that stopped the build, of the summary line with --keep-going, or of the signal; no "
            "process left.\n\n" + table(outcomes) + "\n")
    (REPO / "bench" / "stress-results.md").write_text(text, encoding="utf-8")
    print(text)
    return 0 if all(o.ok for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
