"""A build's new files, written while it renders into a staging tree beside its cache, and moved
into the site only when it commits.

Creating a thousand files and folders costs a fresh site hundreds of ms of system time, and far
more just after the previous site was deleted; written on background threads as pages arrive,
that time overlaps rendering instead of following it. The tree mirrors the site's layout, so a
folder the site does not have yet moves in with one rename (a cold build: the whole site). The
site itself is not touched before the commit: a build killed meanwhile leaves it as it was, and
the next build clears the staging tree.
"""
from __future__ import annotations

import os
import shutil
from concurrent.futures import Future, ThreadPoolExecutor, wait
from pathlib import Path

THREADS = 2
TIMEOUT_SECONDS = 300        # for the last file to be written: a hung disk, not a slow one


class StagingFailed(Exception):
    """Writing or moving the file for site path `relative` failed with `error` (an OSError)."""

    def __init__(self, relative: str, error: OSError):
        super().__init__(relative, error)
        self.relative, self.error = relative, error


class StagingTree:
    """Files under `folder` at their site paths; written at once, or by threads after `start()`."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.pending: dict[str, Future] = {}
        self.threads: ThreadPoolExecutor | None = None
        shutil.rmtree(folder, ignore_errors=True)        # what a killed build left

    @staticmethod
    def usable(folder: Path, root: Path) -> bool:
        """Whether files can move from `folder` to `root` by renaming (one file system)."""
        try:
            return device_of(folder) == device_of(root)
        except OSError:
            return False

    def start(self) -> None:
        """Write files on background threads from now on: call only after forking workers."""
        if self.threads is None:
            self.threads = ThreadPoolExecutor(THREADS, thread_name_prefix="write-ahead")

    def add(self, relative: str, content: bytes) -> None:
        """Stage `content` at the site path `relative` (already checked to stay inside the site)."""
        if self.threads is not None:
            self.pending[relative] = self.threads.submit(self.write, relative, content)

    def finish(self, staged: dict[str, bytes]) -> None:
        """Every file of `staged` (site path -> bytes) on disk in the tree; raises StagingFailed."""
        self.wait_for_threads()
        for relative, content in staged.items():
            if relative not in self.pending:
                try:
                    self.write(relative, content)
                except OSError as error:
                    raise StagingFailed(relative, error) from None

    def wait_for_threads(self) -> None:
        if self.threads is None:
            return
        _, late = wait(self.pending.values(), timeout=TIMEOUT_SECONDS)
        if late:                  # a hung write: give up on it rather than wait on it again
            self.threads.shutdown(wait=False, cancel_futures=True)
            self.threads = None
        self.close()
        for relative, future in self.pending.items():
            error = OSError(f"the disk took over {TIMEOUT_SECONDS} s") if future in late else future.exception()
            if isinstance(error, OSError):
                raise StagingFailed(relative, error)
            if error is not None:
                raise error

    def write(self, relative: str, content: bytes) -> None:
        from builder.site.writer import write_file     # the one way files are written

        path = self.folder / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        write_file(path, content, durable=False)

    def move_into(self, root: Path) -> None:
        """Rename every staged file to its place in `root`; a folder `root` lacks moves whole.
        Raises StagingFailed naming the first that could not move (those before it moved)."""
        if not self.folder.exists():          # nothing staged
            return
        if root.exists():
            move_folder(self.folder, root, "")
            return
        try:
            root.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self.folder, root)
        except OSError as error:
            raise StagingFailed("", error) from None

    def close(self) -> None:
        """Let the writes in progress end (each is one file) and start no other."""
        if self.threads is not None:
            self.threads.shutdown(wait=True, cancel_futures=True)
            self.threads = None

    def discard(self) -> None:
        self.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def move_folder(source: Path, target: Path, relative: str) -> None:
    """Move the contents of `source` into the existing folder `target` (site path `relative`)."""
    with os.scandir(source) as entries:
        names = sorted((entry.name, entry.is_dir(follow_symlinks=False)) for entry in entries)
    for name, is_folder in names:
        there, inside = target / name, f"{relative}{name}"
        if is_folder and there.is_dir() and not there.is_symlink():
            move_folder(source / name, there, inside + "/")
            continue
        try:
            os.replace(source / name, there)
        except OSError as error:
            raise StagingFailed(inside, error) from None


def device_of(path: Path) -> int:
    """The device of `path`, or of its nearest existing parent."""
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return os.stat(path).st_dev
