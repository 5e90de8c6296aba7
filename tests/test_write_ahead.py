"""The staging tree: a build's files written on background threads while it renders, moved into
the site only at the commit, and gone again when the build stops before it."""
from __future__ import annotations

import errno
import os
import threading
from pathlib import Path

import pytest

from builder.site.write_ahead import StagingTree
from builder.site.writer import WriteError, Writer
from conftest import tree_bytes, write

PAGES = {f"notes/{year}/post-{n}/index.html": f"<p>{year} {n}</p>".encode() for year in (2019, 2020) for n in range(30)}


def stage(writer: Writer, files: dict[str, bytes]) -> None:
    for relative, content in files.items():
        writer.write(relative, content)


def test_a_cold_commit_moves_the_tree_in_and_leaves_no_scratch(tmp_path):
    scratch = tmp_path / "cache" / "staging"
    with Writer(tmp_path / "_site", scratch=scratch) as writer:
        writer.write_ahead()
        stage(writer, PAGES)
        assert writer.tree is not None and writer.tree.threads is not None
        writer.commit()
    assert tree_bytes(tmp_path / "_site") == PAGES
    assert not scratch.exists()


def test_an_incremental_commit_replaces_files_and_moves_only_new_folders(tmp_path):
    site = tmp_path / "_site"
    write(site / "notes/2019/post-0/index.html", "old")
    write(site / "notes/2019/post-0/figure.png", "kept file")
    write(site / "about.html", "stale")
    old_folder = os.stat(site / "notes/2019").st_ino
    with Writer(site, scratch=tmp_path / "scratch") as writer:
        writer.write_ahead()
        stage(writer, PAGES)
        writer.write("notes/2019/post-0/figure.png", b"kept file")     # unchanged: not staged
        writer.commit()
    assert tree_bytes(site) == {**PAGES, "notes/2019/post-0/figure.png": b"kept file"}
    assert os.stat(site / "notes/2019").st_ino == old_folder        # merged into, not replaced


def test_a_build_that_stops_before_the_commit_leaves_the_site_and_no_scratch(tmp_path):
    site, scratch = tmp_path / "_site", tmp_path / "scratch"
    write(site / "index.html", "old home")
    before = tree_bytes(tmp_path)
    with pytest.raises(KeyboardInterrupt):
        with Writer(site, scratch=scratch) as writer:
            writer.write_ahead()
            stage(writer, PAGES)
            raise KeyboardInterrupt
    assert tree_bytes(tmp_path) == before
    assert not scratch.exists()
    assert not [thread for thread in threading.enumerate() if thread.name.startswith("write-ahead")]


def test_a_failed_background_write_names_the_file_and_keeps_the_previous_site(tmp_path, monkeypatch):
    site, scratch = tmp_path / "_site", tmp_path / "scratch"
    write(site / "index.html", "old home")
    before = tree_bytes(tmp_path)
    real_open = os.open

    def full_disk(path, flags, mode=0o777, **kwargs):
        if str(path).endswith("post-7/index.html"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_open(path, flags, mode, **kwargs)

    monkeypatch.setattr(os, "open", full_disk)
    with Writer(site, scratch=scratch) as writer:
        writer.write_ahead()
        stage(writer, PAGES)
        with pytest.raises(WriteError) as raised:
            writer.commit()
    assert str(raised.value).startswith("no space left on device while writing _site/notes/2019/post-7/index.html")
    assert tree_bytes(tmp_path) == before
    assert not scratch.exists()


def test_files_staged_before_the_threads_start_are_written_at_the_commit(tmp_path):
    with Writer(tmp_path / "_site", scratch=tmp_path / "scratch") as writer:
        writer.write("index.html", b"home")           # before write_ahead(): kept in memory
        writer.write_ahead()
        stage(writer, PAGES)
        writer.commit()
    assert tree_bytes(tmp_path / "_site") == {"index.html": b"home", **PAGES}


def test_a_scratch_folder_on_another_file_system_is_not_used(tmp_path):
    other = Path("/dev/shm")
    if not other.is_dir() or os.stat(other).st_dev == os.stat(tmp_path).st_dev:
        pytest.skip("needs /dev/shm on a file system of its own")
    assert not StagingTree.usable(other / "staging", tmp_path / "_site")
    writer = Writer(tmp_path / "_site", scratch=other / "builder-test-staging")
    assert writer.tree is None                     # files go beside their targets, as without one
    writer.write("index.html", b"home")
    writer.commit()
    assert tree_bytes(tmp_path / "_site") == {"index.html": b"home"}


def test_a_hung_write_is_a_write_error_within_the_bound_not_a_hang(tmp_path, monkeypatch):
    from builder.site import write_ahead
    monkeypatch.setattr(write_ahead, "TIMEOUT_SECONDS", 0.2)
    release, finished, real_write = threading.Event(), threading.Event(), write_ahead.StagingTree.write

    def hung(self, relative, content):
        if relative.endswith("post-3/index.html"):
            release.wait(10)                 # a disk that does not answer
            finished.set()
        real_write(self, relative, content)

    monkeypatch.setattr(write_ahead.StagingTree, "write", hung)
    try:
        with Writer(tmp_path / "_site", scratch=tmp_path / "scratch") as writer:
            writer.write_ahead()
            stage(writer, PAGES)
            with pytest.raises(WriteError, match="the disk took over 0.2 s while writing _site/notes/2019/post-3"):
                writer.commit()
        assert not finished.is_set()         # neither the commit nor the clean-up waited for it
    finally:
        release.set()
    assert not (tmp_path / "_site").exists()
