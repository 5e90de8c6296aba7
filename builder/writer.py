"""The only place that writes the site: held back, contained, and untouched when unchanged.

A build's files are collected in memory; `commit()` puts each in place (temporary file, then
`os.replace`) and removes what the build no longer produces. A build that fails or is killed
before `commit()` leaves the previous output exactly as it was.
"""
from __future__ import annotations

import os
from pathlib import Path

from builder.errors import ContainmentError

TEMPORARY_SUFFIX = ".builder-tmp"


class Writer:
    """Collects a build's files and puts them in place at the end."""

    def __init__(self, root: Path):
        self.root = root.resolve()
        self.produced: set[str] = set()
        self.kept: set[str] = set()
        self.staged: dict[str, tuple[Path, bytes]] = {}

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
        if not (target.is_file() and target.read_bytes() == content):
            self.staged[relative] = (target, content)

    def keep(self, relative: str) -> None:
        """Leave the previous build's file in place (a failed post keeps its last good page)."""
        # Callers pass paths this writer already checked when it first wrote them.
        if os.path.isfile(os.path.join(self.root, relative)):
            self.kept.add(relative)

    def write_page(self, page) -> None:
        """Stage a rendered Page."""
        self.write(page.path, page.content)

    def commit(self) -> None:
        """Put staged files in place and delete outputs this build did not produce."""
        for target, content in self.staged.values():   # checked by contained() when staged
            replace_file(target, content)
        self.staged.clear()
        self.remove_stale()

    def remove_stale(self) -> None:
        """Delete files this build did not produce, then folders left empty (deepest first)."""
        wanted = self.produced | self.kept
        for folder, subfolders, files in os.walk(self.root, topdown=False):
            prefix = os.path.relpath(folder, self.root).replace(os.sep, "/")
            prefix = "" if prefix == "." else prefix + "/"
            for name in files:
                if prefix + name not in wanted:
                    os.unlink(os.path.join(folder, name))
            if folder != str(self.root) and not os.listdir(folder):
                os.rmdir(folder)

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


def write_source_file(site_dir: Path, relative: str, content: bytes, allowed: str) -> bool:
    """Atomically write a build product kept in the source tree (figures, freeze records).

    `allowed` is the folder the file must stay in, e.g. `assets/img/<slug>`. Returns whether
    the file changed.
    """
    root = site_dir.resolve()
    target = Writer.contained(root, relative)
    if not target.is_relative_to(Writer.contained(root, allowed)):
        raise ContainmentError(f"refusing to write {relative!r} outside {allowed}/", relative,
                               "Figure labels and post slugs cannot contain '..' or '/'.")
    if target.is_file() and target.read_bytes() == content:
        return False
    replace_file(target, content)
    return True


def replace_file(target: Path, content: bytes) -> None:
    """Write `target` whole or not at all: a temporary file next to it, then `os.replace`."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}{TEMPORARY_SUFFIX}")
    temporary.write_bytes(content)
    os.replace(temporary, target)


def remove_source_files(site_dir: Path, folder: str, keep: set[str]) -> list[str]:
    """Delete files in `folder` (site-relative) that are not in `keep`; return their paths."""
    root = Writer.contained(site_dir.resolve(), folder)
    removed = []
    if root.is_dir():
        for path in sorted(root.iterdir()):
            relative = path.relative_to(site_dir.resolve()).as_posix()
            if path.is_file() and relative not in keep:
                path.unlink()
                removed.append(relative)
    return removed
