"""What a cluster's workers tell the driver while a build runs: their versions, and each cell started.

One small actor, `CellLog`, lives on the cluster for the length of a build. The driver asks it
which Ray, Python and builder it runs (the workers' environment; each task checks its own worker
too, builder.execute.ray_task) and hands it to every task. A worker tells the log each cell its
post starts without waiting for an answer, so a slow or lost log never holds a post up; the
driver takes what the log holds with bounded waits and passes it to the build's progress
display. Progress is display only: nothing here reaches a post's outputs.
"""
from __future__ import annotations

import hashlib
import platform
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from builder.core.errors import ConfigError

if TYPE_CHECKING:
    from builder.core.model import CodeCell, Post

FEED_SECONDS = 2.0     # longest the driver waits for the log once a post has ended (its last cells)
FLUSH_SECONDS = 2.0    # longest a worker waits, as its post ends, for the log to hold its last cell

Started = tuple[str, int, str]          # a post's path, the cell's number, the worker's host


class CellLog:
    """On the cluster: the cells that workers have started, kept until the driver takes them."""

    def __init__(self) -> None:
        self.started: list[Started] = []

    def add(self, path: str, number: int, host: str) -> None:
        self.started.append((path, number, host))

    def take(self) -> list[Started]:
        taken, self.started = self.started, []
        return taken

    def versions(self) -> dict[str, str]:
        """The versions this process on the cluster runs: what the build's tasks will run."""
        return versions_here()


def versions_here() -> dict[str, str]:
    """The versions a driver and its workers must share for a post to give the same bytes."""
    import ray

    import builder
    return {"Ray": ray.__version__, "Python": platform.python_version(),
            "builder": f"{builder.__version__} (code {code_digest()})"}


def code_digest() -> str:
    """A short hash of the builder's own modules: two checkouts of one version number can differ."""
    import builder
    package, digest = Path(builder.__file__).parent, hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


VERSION_HINT = ("A post gives the same bytes on the cluster only where it runs this machine's Ray, Python "
                "(major.minor) and builder: install this project with `pip install .[cluster]` on the "
                "cluster's nodes (or in their image), or build from an environment with the cluster's versions.")
RAY_MISMATCH = re.compile(r"Ray: (\S+)\s+Python: (\S+)")    # Ray's own message: the cluster's, then ours


def differing_versions(theirs: dict[str, str], mine: dict[str, str]) -> list[str]:
    """The names whose versions differ (Python by major.minor, as Ray asks)."""
    def same(name: str) -> bool:
        there, here = theirs.get(name, "?"), mine[name]
        return there.split(".")[:2] == here.split(".")[:2] if name == "Python" else there == here

    return [name for name in mine if not same(name)]


def version_error(address: str, theirs: dict[str, str], mine: dict[str, str]) -> ConfigError | None:
    """The versions that differ, the cluster's and this machine's, as an error (exit 2); or None."""
    differ = differing_versions(theirs, mine)
    if not differ:
        return None
    there = ", ".join(f"{name} {theirs.get(name, '?')}" for name in differ)
    here = ", ".join(f"{name} {mine[name]}" for name in differ)
    return ConfigError(f"the Ray cluster at {address} runs {there}; this machine runs {here}",
                       "--cluster", VERSION_HINT)


def ray_version_error(address: str, failure: str) -> ConfigError | None:
    """Ray's own refusal to connect (its version or Python's differs) in this backend's words."""
    found = RAY_MISMATCH.findall(failure)
    if "mismatch" not in failure.lower() or len(found) != 2:
        return None
    (ray_there, python_there), (ray_here, python_here) = found
    return version_error(address, {"Ray": ray_there, "Python": python_there},
                         {"Ray": ray_here, "Python": python_here})


def check_versions(ray, asked, address: str, mine: dict[str, str], seconds: float) -> None:
    """Wait (at most `seconds`) for the cell log's answer to `asked` (its versions, the first
    process the build started on the cluster); a ConfigError when it differs or never comes."""
    started = time.monotonic()
    try:
        theirs = ray.get(asked, timeout=seconds)
    except Exception as error:  # noqa: BLE001 - no worker could start: said before any outcome
        raise ConfigError(f"the Ray cluster at {address} could not start a process in "
                          f"{time.monotonic() - started:.0f} s: {type(error).__name__}", "--cluster",
                          "Check that its workers have this project installed (`pip install .[cluster]`).") from None
    error = version_error(address, theirs, mine)
    if error is not None:
        raise error


class CellReports:
    """On a worker: tells the log each cell the post starts, never waiting for its answer."""

    def __init__(self, log: Any, host: str):
        self.log, self.host, self.last = log, host, None

    def started(self, post: Post, cell: CodeCell) -> None:
        if self.log is None:
            return
        try:
            self.last = self.log.add.remote(post.path, cell.number, self.host)
        except Exception:  # noqa: BLE001 - a lost log costs progress lines, never the post
            self.log = None

    def flush(self) -> None:
        """Wait (bounded) until the log holds the last cell, so the driver sees it before the post's end."""
        if self.last is None:
            return
        import ray
        try:
            ray.get(self.last, timeout=FLUSH_SECONDS)
        except Exception:  # noqa: BLE001 - the log is gone or slow: only progress is lost
            pass


class CellFeed:
    """On the driver: passes the cells the log holds to `on_cell(post, cell, host)`, waiting little."""

    def __init__(self, ray: Any, log: Any, on_cell: Callable[[Post, CodeCell, str], None]):
        self.ray, self.log, self.on_cell = ray, log, on_cell
        self.asked = None           # a `take` sent to the log and not answered yet
        self.patient = True         # until the log once fails to answer in FEED_SECONDS

    def deliver(self, running: dict[str, Post], ended: bool) -> None:
        """Show the cells reported so far for the posts still `running` (by path).

        When a post has `ended`, its worker made sure the log holds all its cells, so a `take` sent
        after the end is waited for, a bounded time; otherwise only what has already arrived.
        """
        wait = FEED_SECONDS if ended and self.patient else 0.0
        if wait and self.asked is not None:
            self.take(running, wait)          # the question in flight was asked before the end
        if not self.take(running, wait) and wait:
            self.patient = False              # a slow log costs the build one wait, not one a post

    def take(self, running: dict[str, Post], wait: float) -> bool:
        """Whether the log answered within `wait` seconds (its answer shown)."""
        if self.log is None:
            return False
        if self.asked is None:
            self.asked = self.log.take.remote()
        ready, _ = self.ray.wait([self.asked], timeout=wait)
        if not ready:
            return False            # not answered yet (busy or starting): the same question waits
        asked, self.asked = self.asked, None
        try:
            started = self.ray.get(asked)
        except Exception:  # noqa: BLE001 - the log was lost (its node died): the build goes on without it
            self.log = None
            return False
        for path, number, host in started:
            post = running.get(path)
            cell = next((c for c in post.cells if c.number == number), None) if post else None
            if cell is not None:
                self.on_cell(post, cell, host)
        return True
