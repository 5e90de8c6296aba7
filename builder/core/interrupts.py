"""Ctrl-C (SIGINT) and SIGTERM during a build: stop at once, clean up, write nothing half-way.

The first signal raises `Interrupted` in the main thread, so every `finally` on the way out runs
(kernels and workers are killed and reaped); a second one ends the process at once, and so does
a clean-up that takes longer than CLEANUP_SECONDS. Inside `deferred()` (the step that puts the
new site in place) a signal waits until the step is done, so the output is either the previous
build's or this build's, never a mix.

An exception raised inside the import machinery can leave an import lock held (and other
threads importing then wait forever), and one raised inside a weakref callback or `__del__` is
printed and dropped. A signal that lands there is retried a moment later instead.
"""
from __future__ import annotations

import os
import signal
from contextlib import contextmanager
from typing import Iterator

from builder.core.children import kill_descendants

HANDLED = (signal.SIGINT, signal.SIGTERM)
RETRY_SECONDS = 0.05        # a signal that came at an unsafe moment is acted on this much later
CLEANUP_SECONDS = 5.0       # the clean-up after a signal ends the process after this, at the latest
_deferring: list[bool] = []
_pending: list[int] = []
_raised: list[int] = []
_committed: list[bool] = []       # the new site is in place: later steps (the search index) only add


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
    _committed.clear()
    for signum in HANDLED:
        signal.signal(signum, _on_signal)
    signal.signal(signal.SIGALRM, _on_alarm)


def _on_signal(signum: int, frame) -> None:
    if _raised:                      # asked twice: no more clean-up, end now
        _end_now(_raised[0])
    if _deferring or _unsafe(frame):
        _pending[:] = [signum]
        if not _deferring:
            signal.setitimer(signal.ITIMER_REAL, RETRY_SECONDS)
        return
    _raise(signum, after_commit=bool(_committed))


def _on_alarm(signum: int, frame) -> None:
    if _raised:                      # the clean-up did not finish in time
        _end_now(_raised[0])
    if _pending:
        _on_signal(_pending.pop(), frame)


def _raise(signum: int, after_commit: bool) -> None:
    _raised.append(signum)
    signal.setitimer(signal.ITIMER_REAL, CLEANUP_SECONDS)
    raise Interrupted(signum, after_commit)


def _unsafe(frame) -> bool:
    """Whether the code running is the import machinery or a finalizer (see the module doc)."""
    while frame is not None:
        code = frame.f_code
        if code.co_filename.startswith("<frozen importlib") or code.co_name == "__del__":
            return True
        frame = frame.f_back
    return False


def _end_now(signum: int) -> None:
    kill_descendants(0.5)
    os._exit(128 + signum)


@contextmanager
def deferred() -> Iterator[None]:
    """Act on a signal that arrives inside the block only once the block has finished."""
    _deferring.append(True)
    try:
        yield
    finally:
        _deferring.pop()
    if _pending and not _deferring and not _raised:
        signum = _pending.pop()
        _raise(signum, after_commit=bool(_committed))


def site_committed() -> None:
    """Say that the new site is in place, so an interrupt from now on reports it as such."""
    _committed[:] = [True]
