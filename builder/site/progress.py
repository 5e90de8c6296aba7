"""What the build tells the author while it runs, and the summary at the end."""
from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field
from typing import TextIO

from builder.core.model import CodeCell, Post


@dataclass
class Summary:
    executed: list[tuple[str, float]] = field(default_factory=list)
    cached: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


class Reporter:
    """Plain, readable lines (one per event); a live status line when writing to a terminal."""

    def __init__(self, stream: TextIO | None = None, verbose: bool = False):
        self.stream = stream or sys.stderr
        self.verbose = verbose
        self.live = self.stream.isatty()
        self.summary = Summary()
        self.started = time.monotonic()
        self.total = 0
        self.lock = threading.Lock()
        self.current: dict[str, str] = {}

    def line(self, text: str) -> None:
        with self.lock:
            if self.live:
                self.stream.write("\r\x1b[K")
            self.stream.write(text + "\n")
            self.draw_status()
            self.stream.flush()

    def draw_status(self) -> None:
        if not self.live or not self.current:
            return
        done = len(self.summary.executed) + len(self.summary.cached) + len(self.summary.failed)
        running = ", ".join(f"{path} [{cell}]" for path, cell in sorted(self.current.items()))
        elapsed = time.monotonic() - self.started
        self.stream.write(f"[{done}/{self.total}] {elapsed:5.1f}s running {running}"[:200])

    def running(self, post: Post, reasons: list[str]) -> None:
        self.current[post.path] = "starting"
        self.line(f"run     {post.path} ({'; '.join(reasons)})")

    def cell(self, post: Post, cell: CodeCell, where: str = "local") -> None:
        """The post has started `cell`, here or on a cluster worker's host (`where`)."""
        on = "" if where == "local" else f" on {where}"
        with self.lock:
            self.current[post.path] = f"cell {cell.number}/{len(post.cells)}{on}"
            if self.live:
                self.stream.write("\r\x1b[K")
                self.draw_status()
                self.stream.flush()

    def output(self, post: Post, text: str) -> None:
        for row in text.rstrip("\n").split("\n"):
            self.line(f"{post.path}| {row}")

    def executed(self, post: Post, seconds: float, where: str = "local") -> None:
        self.current.pop(post.path, None)
        self.summary.executed.append((post.path, seconds))
        on = "" if where == "local" else f" on {where}"      # a cluster worker's host
        self.line(f"done    {post.path} in {seconds:.1f} s{on}")

    def cached(self, post: Post) -> None:
        self.summary.cached.append(post.path)
        if self.verbose:
            self.line(f"cached  {post.path}")

    def failed(self, post_path: str, message: str) -> None:
        self.current.pop(post_path, None)
        self.summary.failed.append((post_path, message))
        self.line(f"FAILED  {post_path}")

    def note(self, text: str) -> None:
        self.line(text)

    def finish(self, pages: int, rendered: int | None = None) -> None:
        s = self.summary
        run_seconds = sum(seconds for _, seconds in s.executed)
        self.current.clear()
        written = "" if rendered is None else f" ({rendered} rendered)"
        self.line(f"built {pages} files{written} in {time.monotonic() - self.started:.1f} s: "
                  f"{len(s.executed)} executed ({run_seconds:.1f} s), {len(s.cached)} from cache, "
                  f"{len(s.failed)} failed")
        for path, message in s.failed:
            self.line(f"\nfailed: {message}")
