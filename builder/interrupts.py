"""Ctrl-C (SIGINT) and SIGTERM during a build: stop at once, clean up, write nothing half-way.

The first signal raises `Interrupted` in the main thread, so every `finally` on the way out runs
(kernels and workers are killed and reaped); a second one ends the process at once. Inside
`deferred()` (the step that puts the new site in place) a signal waits until the step is done,
so the output is either the previous build's or this build's, never a mix.
"""
from __future__ import annotations

import os
import signal
from contextlib import contextmanager
from typing import Iterator

from builder.children import kill_descendants

HANDLED = (signal.SIGINT, signal.SIGTERM)
_deferring: list[bool] = []
_pending: list[int] = []
_raised: list[int] = []


class Interrupted(KeyboardInterrupt):
    """The build was stopped by a signal; `exit_code` is 128 + its number, as shells report."""

    def __init__(self, signum: int, after_commit: bool = False):
        super().__init__(signal.Signals(signum).name)
        self.signum, self.after_commit = signum, after_commit

    @property
    def exit_code(self) -> int:
        return 128 + self.signum

    def __str__(self) -> str:
        state = ("the new site was already in place" if self.after_commit
                 else "_site/ is as it was before this build")
        return f"interrupted ({signal.Signals(self.signum).name}): stopped the build; {state}"


def install() -> None:
    """Handle SIGINT and SIGTERM as described above (call from the main thread)."""
    _pending.clear()
    _raised.clear()
    for signum in HANDLED:
        signal.signal(signum, _on_signal)


def _on_signal(signum: int, frame) -> None:
    if _deferring:
        _pending.append(signum)
        return
    if _raised:                      # asked twice: no more clean-up, end now
        kill_descendants(0.5)
        os._exit(128 + signum)
    _raised.append(signum)
    raise Interrupted(signum)


@contextmanager
def deferred() -> Iterator[None]:
    """Act on a signal that arrives inside the block only once the block has finished."""
    _deferring.append(True)
    try:
        yield
    finally:
        _deferring.pop()
    if _pending and not _deferring and not _raised:
        signum = _pending[0]
        _pending.clear()
        _raised.append(signum)
        raise Interrupted(signum, after_commit=True)
