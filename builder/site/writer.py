"""The only place that writes the site: held back, contained, and untouched when unchanged.

A build's files are collected in memory; `commit()` writes every changed file next to its target
first, and only when all of them are on disk moves each in place with `os.replace`, then removes
what the build no longer produces. A build that fails or is killed before the moves leaves the
previous output exactly as it was; each file is always either its old or its new version.
Given a scratch folder on the output's file system, the files are written into a staging tree
there instead, on background threads once `write_ahead()` is called (builder.site.write_ahead);
a writer used as a context manager removes that tree unless it was committed.
"""
from __future__ import annotations

import errno
import os
import posixpath
from dataclasses import dataclass
from pathlib import Path

from builder.core.errors import BuildError, ContainmentError
from builder.site.write_ahead import StagingFailed, StagingTree

TEMPORARY_SUFFIX = ".builder-tmp"
HINTS = {
    errno.ENOSPC: "Free some disk space and build again.",
    errno.EDQUOT: "Free some disk space (you are over quota) and build again.",
    errno.EACCES: "Make the folder writable, or build elsewhere with --dest.",
    errno.EPERM: "Make the folder writable, or build elsewhere with --dest.",
    errno.EROFS: "The folder is on a read-only file system: build elsewhere with --dest.",
}


class WriteError(BuildError):
    """A file that could not be written or removed: disk full, no permission, read-only."""


def write_error(error: OSError, action: str, shown: str, outcome: str = "") -> WriteError:
    """`error` as a message for authors: what failed, on which file, and what to do."""
    reason = os.strerror(error.errno) if error.errno else str(error)
    hint = " ".join(part for part in (HINTS.get(error.errno, ""), outcome) if part)
    return WriteError(f"{reason[:1].lower()}{reason[1:]} while {action} {shown}", None, hint or None)


@dataclass(frozen=True)
class Listing:
    """The output folder as a build's sweep left it: its files, and each folder's stat."""

    files: frozenset[str]
    folders: dict[str, tuple[int, int]]     # folder relative to the root ("" for it) -> (mtime_ns, inode)

    def intact(self, root: Path, besides: set[str] = frozenset()) -> bool:
        """Whether no file or folder was added, removed or renamed since (in the folders but
        `besides`): each of those changes the mtime of the folder holding it, so a stat of every
        folder tells, without listing them. (A file added within the clock tick of the sweep's own
        stat, a few ms, could go unseen until the next change there: the same trust in timestamps
        as the outputs' stat checks.)"""
        return all(folder_stat(os.path.join(root, folder)) == stat
                   for folder, stat in self.folders.items() if folder not in besides)

    def changed_by_us(self, root: Path, folders: set[str], files: frozenset[str] | None = None) -> Listing:
        """This listing after this build changed `folders` (and, given `files`, the set of files)."""
        restat = {folder: folder_stat(os.path.join(root, folder)) for folder in folders}
        return Listing(self.files if files is None else files, {**self.folders, **restat})


def folder_stat(path: str) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_mtime_ns, status.st_ino


class Writer:
    """Collects a build's files and puts them in place at the end."""

    def __init__(self, root: Path, settled: Listing | None = None, scratch: Path | None = None):
        """`settled` is the listing the previous build's sweep left, if any; `scratch` a folder
        for the staging tree (unused where it is on another file system than `root`)."""
        self.root = root.resolve()
        self.produced: set[str] = set()
        self.kept: set[str] = set()
        self.staged: dict[str, tuple[Path, bytes]] = {}
        self.settled = settled
        self.tree = StagingTree(scratch) if scratch and StagingTree.usable(scratch, self.root) else None

    def __enter__(self) -> Writer:
        return self

    def __exit__(self, *exc_info) -> None:
        if self.tree is not None:
            self.tree.discard()

    def write_ahead(self) -> None:
        """Write each file staged from now on at once, on background threads; call after forking
        the render workers (builder.site.forked)."""
        if self.tree is not None:
            self.tree.start()

    @property
    def changed(self) -> list[str]:
        """The files `commit()` will write, in the order they were staged."""
        return list(self.staged)

    def write(self, relative: str, content: bytes) -> None:
        """Stage `content` for `relative`, unless the output already holds these bytes."""
        target = self.contained(self.root, relative)
        if relative in self.produced:
            raise ContainmentError(f"two sources write the same output file {relative}", relative,
                                   "Give one of them a different `permalink:`.")
        self.produced.add(relative)
        if not holds(target, content):
            self.staged[relative] = (target, content)
            if self.tree is not None:
                self.tree.add(self.inside(target), content)

    def keep(self, relative: str) -> None:
        """Leave the previous build's file in place (a failed post keeps its last good page)."""
        # Callers pass paths this writer already checked when it first wrote them.
        if os.path.isfile(os.path.join(self.root, relative)):
            self.kept.add(relative)

    def write_page(self, page) -> None:
        """Stage a rendered Page."""
        self.write(page.path, page.content)

    def commit(self) -> None:
        """Put staged files in place and delete outputs this build did not produce.

        Raises WriteError; until `publish` starts, the previous output is untouched.
        """
        if self.tree is not None:
            self.commit_tree(self.tree)
        else:
            self.publish(self.prepare())
        touched = {posixpath.dirname(self.inside(target)) for target, _ in self.staged.values()}
        self.staged.clear()
        self.remove_stale(touched)

    def commit_tree(self, tree: StagingTree) -> None:
        """Finish the staging tree, then move it into the output."""
        try:
            tree.finish({self.inside(target): content for target, content in self.staged.values()})
        except StagingFailed as failed:
            tree.discard()
            raise write_error(failed.error, "writing", f"{self.root.name}/{failed.relative}",
                              f"The previous {self.root.name}/ is unchanged.") from None
        except BaseException:   # Ctrl-C: the previous output stays as it was
            tree.discard()
            raise
        try:
            tree.move_into(self.root)
        except StagingFailed as failed:
            raise write_error(failed.error, "replacing", f"{self.root.name}/{failed.relative}".rstrip("/"),
                              "Files before it are new, the rest as before; the next build "
                              "finishes the job.") from None
        finally:
            tree.discard()

    def inside(self, target: Path) -> str:
        return target.relative_to(self.root).as_posix()

    def prepare(self) -> list[tuple[Path, Path]]:
        """Write every staged file beside its target; on any failure remove them all again."""
        staging = Staging()
        try:
            for target, content in self.staged.values():   # checked by contained() when staged
                staging.write(target, content)
        except OSError as error:
            staging.discard()
            raise write_error(error, "writing", self.shown(staging.failed),
                              f"The previous {self.root.name}/ is unchanged.") from None
        except BaseException:   # Ctrl-C: the previous output stays as it was
            staging.discard()
            raise
        return staging.written

    def publish(self, written: list[tuple[Path, Path]]) -> None:
        """Move prepared files in place, then remove stale outputs: the step not to interrupt."""
        for index, (temporary, target) in enumerate(written):
            try:
                os.replace(temporary, target)
            except OSError as error:
                for leftover, _ in written[index:]:
                    remove_quietly(leftover)
                raise write_error(error, "replacing", self.shown(target),
                                  "Files before it are new, the rest as before; the next build "
                                  "finishes the job.") from None

    def shown(self, target: Path) -> str:
        return f"{self.root.name}/{target.relative_to(self.root).as_posix()}"

    def remove_stale(self, touched: set[str]) -> None:
        """Delete files this build did not produce, then folders left empty (deepest first).

        Skipped when this build wants exactly the files the previous sweep left and no folder
        changed since but the existing ones this build wrote files into (`touched`): there is
        nothing stale to find, and those folders are stat-ed again.
        """
        wanted, settled = self.produced | self.kept, self.settled
        if settled is not None and settled.files == wanted and touched <= settled.folders.keys() \
                and settled.intact(self.root, besides=touched):
            if touched:
                self.settled = settled.changed_by_us(self.root, touched)
            return
        self.settled = Listing(frozenset(wanted), self.sweep(wanted))

    def sweep(self, wanted: set[str]) -> dict[str, tuple[int, int]]:
        """Remove what is not `wanted`; return the stat of each folder that stays."""
        folders = {}
        for folder, subfolders, files in os.walk(self.root, topdown=False):
            relative = os.path.relpath(folder, self.root).replace(os.sep, "/")
            prefix = "" if relative == "." else relative + "/"
            try:
                for name in files:
                    if prefix + name not in wanted:
                        os.unlink(os.path.join(folder, name))
                if folder != str(self.root) and not os.listdir(folder):
                    os.rmdir(folder)
                    continue
            except OSError as error:
                raise write_error(error, "removing a stale file in", self.shown(Path(folder))) from None
            folders[prefix.rstrip("/")] = folder_stat(folder)   # after its subfolders were swept
        folders.setdefault("", folder_stat(str(self.root)))    # no root yet: a root made later is noticed
        return folders

    @staticmethod
    def contained(root: Path, relative: str) -> Path:
        """`root / relative`, refusing anything that would land outside `root`."""
        if "\x00" in relative or "\\" in relative or relative.startswith("/"):
            raise ContainmentError(f"refusing to write {relative!r}: not a plain relative path", relative,
                                   "Use a relative path without NUL or backslashes.")
        target = (root / relative).resolve()
        if not target.is_relative_to(root) or target == root:
            raise ContainmentError(f"refusing to write {relative!r}: it would land outside {root.name}/",
                                   relative, "Remove '..' segments and absolute paths.")
        return target


class Staging:
    """Temporary files written beside their targets, and the folders made for them."""

    def __init__(self, durable: bool = False):
        self.durable = durable            # fsync: for committed files that cannot be rebuilt
        self.written: list[tuple[Path, Path]] = []
        self.folders: list[Path] = []
        self.failed: Path | None = None   # the target being written when an error came

    def write(self, target: Path, content: bytes) -> Path:
        """Write `content` to a temporary file next to `target`; return its path."""
        temporary = target.with_name(f".{target.name}{TEMPORARY_SUFFIX}")
        self.failed = target
        try:
            self.make_folder(target.parent)
            write_file(temporary, content, self.durable)
        except BaseException:
            remove_quietly(temporary)
            raise
        self.written.append((temporary, target))
        return temporary

    def make_folder(self, folder: Path) -> None:
        missing = []
        while not folder.is_dir():
            missing.append(folder)
            folder = folder.parent
        for path in reversed(missing):
            os.mkdir(path)
            self.folders.append(path)

    def discard(self) -> None:
        """Remove every temporary file and every folder made for them."""
        for temporary, _ in self.written:
            remove_quietly(temporary)
        for folder in reversed(self.folders):
            try:
                os.rmdir(folder)
            except OSError:
                pass        # not empty: something else put a file there meanwhile
        self.written.clear()


def write_file(path: Path, content: bytes, durable: bool) -> None:
    """Write `content` to a new file at `path`, all of it, optionally flushed to the disk."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        view = memoryview(content)
        while view:
            view = view[os.write(descriptor, view):]
        if durable:
            os.fsync(descriptor)
    finally:
        os.close(descriptor)


def remove_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def holds(target: Path, content: bytes) -> bool:
    """Whether `target` already holds exactly `content` (an unreadable file does not)."""
    try:
        return target.stat().st_size == len(content) and target.read_bytes() == content
    except OSError:
        return False


def write_source_file(site_dir: Path, relative: str, content: bytes, allowed: str) -> bool:
    """Atomically and durably write a build product kept in the source tree (figures, freeze records).

    `allowed` is the folder the file must stay in, e.g. `assets/img/<slug>`. Returns whether
    the file changed. Raises WriteError, leaving the previous file as it was.
    """
    root = site_dir.resolve()
    target = Writer.contained(root, relative)
    if not target.is_relative_to(Writer.contained(root, allowed)):
        raise ContainmentError(f"refusing to write {relative!r} outside {allowed}/", relative,
                               "Figure labels and post slugs cannot contain '..' or '/'.")
    if holds(target, content):
        return False
    replace_file(target, content, relative, durable=True)
    return True


def replace_file(target: Path, content: bytes, shown: str, durable: bool = False) -> None:
    """Write `target` whole or not at all: a temporary file next to it, then `os.replace`."""
    staging = Staging(durable)
    try:
        temporary = staging.write(target, content)
        os.replace(temporary, target)
    except OSError as error:
        staging.discard()
        raise write_error(error, "writing", shown, "The previous file is unchanged.") from None
    except BaseException:
        staging.discard()
        raise
    if durable:
        sync_folder(target.parent)


def sync_folder(folder: Path) -> None:
    """Make a rename in `folder` survive a power cut (where the platform allows it)."""
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass            # some file systems cannot sync a folder; the rename itself is atomic
    finally:
        os.close(descriptor)


def remove_source_files(site_dir: Path, folder: str, keep: set[str]) -> list[str]:
    """Delete files in `folder` (site-relative) that are not in `keep`; return their paths."""
    root = Writer.contained(site_dir.resolve(), folder)
    removed = []
    if root.is_dir():
        for path in sorted(root.iterdir()):
            relative = path.relative_to(site_dir.resolve()).as_posix()
            if path.is_file() and relative not in keep:
                try:
                    path.unlink()
                except OSError as error:
                    raise write_error(error, "removing", relative) from None
                removed.append(relative)
    return removed
