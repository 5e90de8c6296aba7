"""One build at a time per site folder: `.build-cache/build.lock`, held with flock(2).

The kernel releases an flock when its holder exits, however it ends, so a killed build never
leaves a stale lock behind. A second build refuses at once, naming the first one's pid.
"""
from __future__ import annotations

import fcntl
import os
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from builder.core.errors import ConfigError

CACHE_DIR = ".build-cache"    # as builder.site.incremental (not imported: the CLI starts light)
LOCK_NAME = "build.lock"


class BuildLocked(ConfigError):
    """Another build is running in the same site folder (exit status 2)."""


@contextmanager
def build_lock(site_dir: Path) -> Iterator[None]:
    """Hold the site folder's build lock for the duration of the block, or raise BuildLocked."""
    folder = site_dir / CACHE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise locked_error(fd, site_dir) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)               # releases the lock


def locked_error(fd: int, site_dir: Path) -> BuildLocked:
    holder = os.pread(fd, 32, 0).decode("ascii", "replace").strip() or "unknown"
    return BuildLocked(f"another build (pid {holder}) is running in the site folder {site_dir}", None,
                       "Wait for it to finish, or stop it, then build again; two builds in one "
                       f"folder never run at once ({CACHE_DIR}/{LOCK_NAME}).")
