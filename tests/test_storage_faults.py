"""Storage faults: damaged freeze records and build caches, a full disk, a kill mid-write."""
from __future__ import annotations

import errno
import os
import pickle
import re
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from builder.commands.cli import main
from builder.core.errors import FreezeError
from builder.site.incremental import IncrementalState as BuildState, SourceEntry, build_fingerprint, state_file
from builder.site.writer import TEMPORARY_SUFFIX, WriteError, write_source_file
from conftest import REPO, run_build, tree_bytes, write

pytestmark = pytest.mark.kernel

POST = "posts/2020-01-01-hello.md"
RECORD = "_freeze/posts/2020-01-01-hello.json"
HINT = f"Delete it to run the post again, or restore it from git (`git checkout -- {RECORD}`)."
PREFIX = f"{RECORD}: the freeze record of {POST} is unreadable: "

DAMAGE = {   # how a record is damaged -> the reason the error gives
    "truncated": (lambda good: good[:len(good) // 2],
                  None),    # the JSON message depends on where the cut falls; checked below
    "garbage": (lambda good: b"\x89PNG\r\n\x1a\n\x00\xff", "it is not UTF-8 text"),
    "array": (lambda good: b"[1, 2, 3]\n", "it holds a JSON list, not an object"),
    "wrong shape": (lambda good: good.replace(b'"cells": [', b'"cells": 7, "was": [', 1),
                    "it is not shaped like a freeze record (TypeError: 'int' object is not iterable)"),
    "old format": (lambda good: good.replace(b'"schema": 1', b'"schema": 0', 1),
                   "its format is 0, this builder reads format 1"),
}


@pytest.fixture(scope="module")
def executed(tmp_path_factory) -> Path:
    """A one-post site built once with a kernel: its _site/ and its committed record."""
    site = tmp_path_factory.mktemp("executed") / "site"
    write(site / "_config.yml", "title: Faults\nurl: https://example.org\n")
    write(site / POST, '---\ntitle: Hello\n---\nProse.\n\n```python\nprint("hello from the kernel")\n```\n')
    built = run_build(site)
    assert built.result.exit_code == 0, built.log
    return site


@pytest.fixture
def site(executed: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "site"
    shutil.copytree(executed, copy)
    return copy


def damage(site: Path, kind: str) -> str:
    """Damage the post's record; return the reason the builder must give."""
    path = site / RECORD
    spoil, reason = DAMAGE[kind]
    path.write_bytes(spoil(path.read_bytes()))
    if reason is None:
        try:
            __import__("json").loads(path.read_text(encoding="utf-8"))
        except ValueError as error:
            reason = (f"it is not valid JSON ({error.msg} at line {error.lineno}, column {error.colno}; "
                      "truncated?)")
    return reason


@pytest.mark.parametrize("kind", DAMAGE)
@pytest.mark.parametrize("mode", [{"frozen": True}, {"execute": False}])
def test_damaged_record_without_a_kernel_is_an_error_naming_the_file(site, kind, mode):
    reason = damage(site, kind)
    before = tree_bytes(site)
    built = run_build(site, **mode)
    assert built.result.exit_code == 1
    [error] = built.result.failures
    assert isinstance(error, FreezeError)
    assert str(error) == f"{PREFIX}{reason}\n  Hint: {HINT}"
    assert tree_bytes(site) == before      # the record and the previous _site/ untouched


def test_damaged_record_on_the_command_line_is_one_error_not_a_traceback(site, capsys):
    damage(site, "garbage")
    assert main(["build", "--source", str(site), "--frozen"]) == 1
    err = capsys.readouterr().err
    assert f"{PREFIX}it is not UTF-8 text\n  Hint: {HINT}" in err
    assert "Traceback" not in err


def test_damaged_record_runs_the_post_again_saying_why(site):
    reason = damage(site, "truncated")
    built = run_build(site)
    assert built.result.exit_code == 0, built.log
    assert f"run     {POST} (record unreadable: {reason})" in built.log
    record = __import__("json").loads((site / RECORD).read_text(encoding="utf-8"))
    assert record["cells"][0]["outputs"][0]["text"] == ["hello from the kernel", ""]


CACHE_DAMAGE = {
    "truncated": lambda good, fingerprint: good[:len(good) // 3],
    "garbage": lambda good, fingerprint: b"not a pickle at all",
    "a pickled dict": lambda good, fingerprint: pickle.dumps({"fingerprint": fingerprint}),
    "wrong shape": lambda good, fingerprint: pickle.dumps(BuildState(fingerprint, sources=[1, 2])),
    "wrong entries": lambda good, fingerprint: pickle.dumps(
        BuildState(fingerprint, sources={POST: "entry"}, keys={"index.html": 3})),
    "another version": lambda good, fingerprint: good.replace(fingerprint.encode(), b"0" * 64),
}


@pytest.mark.parametrize("kind", CACHE_DAMAGE)
def test_damaged_build_cache_means_a_silent_full_build(site, kind, tmp_path):
    run_build(site, frozen=True)     # the cache is keyed on the output folder's path
    cache = state_file(site, site / "_site")
    fingerprint = build_fingerprint(site)
    assert isinstance(pickle.loads(cache.read_bytes()).sources[POST], SourceEntry)
    cache.write_bytes(CACHE_DAMAGE[kind](cache.read_bytes(), fingerprint))
    (site / "_site/index.html").write_text("edited by hand", encoding="utf-8")
    built = run_build(site, frozen=True)
    assert built.result.exit_code == 0
    clean = run_build(site, dest=tmp_path / "clean", frozen=True)
    # Everything rendered again, without a word about the cache.
    assert untimed(built.log) == untimed(clean.log) == "built 18 files (18 rendered): 0 executed, 1 from cache, 0 failed\n"   # 2 for search
    assert tree_bytes(site / "_site") == tree_bytes(tmp_path / "clean")
    assert isinstance(pickle.loads(cache.read_bytes()), BuildState)   # and the cache rewritten


def untimed(log: str) -> str:
    return re.sub(r" (in [0-9.]+ s|\([0-9.]+ s\))", "", log)


def failing_write(monkeypatch, code: int, after: int = 0):
    """Make writes into our temporary files fail with `code` once `after` bytes went in."""
    real_write, written = os.write, {}

    def write(descriptor, data):
        name = os.readlink(f"/proc/self/fd/{descriptor}")
        if TEMPORARY_SUFFIX in name:
            room = after - written.get(name, 0)
            if room <= 0:
                raise OSError(code, os.strerror(code))
            data = bytes(data[:room])
            written[name] = written.get(name, 0) + len(data)
        return real_write(descriptor, data)

    monkeypatch.setattr(os, "write", write)


def no_temporary_files(root: Path) -> bool:
    return not [p for p in root.rglob("*") if p.name.endswith(TEMPORARY_SUFFIX)]


MESSAGES = {
    errno.ENOSPC: "no space left on device while writing _site/index.html\n"
                  "  Hint: Free some disk space and build again. The previous _site/ is unchanged.",
    errno.EACCES: "permission denied while writing _site/index.html\n"
                  "  Hint: Make the folder writable, or build elsewhere with --dest. "
                  "The previous _site/ is unchanged.",
    errno.EROFS: "read-only file system while writing _site/index.html\n"
                 "  Hint: The folder is on a read-only file system: build elsewhere with --dest. "
                 "The previous _site/ is unchanged.",
}


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to tell our files apart")
@pytest.mark.parametrize("code", MESSAGES)
def test_a_failed_page_write_leaves_the_previous_site_whole(site, monkeypatch, code, tmp_path):
    write(site / "posts/2020-01-02-new.md", "---\ntitle: New\n---\nA new post and a new folder.\n")
    (site / "_config.yml").write_text("title: Faults, renamed\nurl: https://example.org\n", encoding="utf-8")
    before = tree_bytes(site / "_site")
    folders = sorted(p for p in (site / "_site").rglob("*") if p.is_dir())
    failing_write(monkeypatch, code, after=300)
    with pytest.raises(WriteError) as raised:
        run_build(site, frozen=True)
    assert str(raised.value) == MESSAGES[code]
    assert tree_bytes(site / "_site") == before
    assert sorted(p for p in (site / "_site").rglob("*") if p.is_dir()) == folders
    monkeypatch.undo()
    built = run_build(site, frozen=True)       # the cache agrees with what is on disk
    clean = run_build(site, dest=tmp_path / "clean", frozen=True)
    assert built.result.exit_code == clean.result.exit_code == 0
    assert tree_bytes(site / "_site") == tree_bytes(tmp_path / "clean")


def test_a_failure_midway_through_the_moves_leaves_each_file_old_or_new(site, monkeypatch, tmp_path):
    (site / "_config.yml").write_text("title: Faults, renamed\nurl: https://example.org\n", encoding="utf-8")
    before = tree_bytes(site / "_site")
    real_replace, moves = os.replace, []

    def replace(source, target):
        if len(moves) == 2:
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        moves.append(Path(target))
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", replace)
    with pytest.raises(WriteError, match="^input/output error while replacing _site/"):
        run_build(site, frozen=True)
    monkeypatch.undo()
    clean = run_build(site, dest=tmp_path / "clean", frozen=True)
    after, new = tree_bytes(site / "_site"), tree_bytes(tmp_path / "clean")
    assert len(moves) == 2 and sum(after[p] != before[p] for p in before) == 2
    assert all(after[path] in (before[path], new[path]) for path in after)
    assert no_temporary_files(site)
    run_build(site, frozen=True)               # the next build finishes the job
    assert tree_bytes(site / "_site") == new


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc to tell our files apart")
def test_disk_full_while_writing_a_record_keeps_the_old_one(site, monkeypatch):
    before = (site / RECORD).read_bytes()
    failing_write(monkeypatch, errno.ENOSPC, after=100)
    built = run_build(site, force=True)
    assert built.result.exit_code == 1
    assert [str(e) for e in built.result.failures] == [
        f"no space left on device while writing {RECORD}\n"
        "  Hint: Free some disk space and build again. The previous file is unchanged."]
    assert (site / RECORD).read_bytes() == before
    assert no_temporary_files(site)


def test_an_interrupt_mid_write_keeps_the_old_record(site, monkeypatch):
    before = (site / RECORD).read_bytes()
    real_write = os.write

    def interrupted(descriptor, data):
        real_write(descriptor, bytes(data[:len(data) // 2]))
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "write", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_source_file(site, RECORD, b'{"schema": 1, "new": true}\n' * 1000, "_freeze")
    monkeypatch.undo()
    assert (site / RECORD).read_bytes() == before
    assert no_temporary_files(site)


KILLED_WRITER = textwrap.dedent("""
    import os, sys, time
    from pathlib import Path
    from builder.site.writer import write_source_file
    real_write = os.write
    def slow(descriptor, data):
        real_write(descriptor, bytes(data[:len(data) // 2]))
        print("half written", flush=True)
        time.sleep(30)
    os.write = slow
    write_source_file(Path(sys.argv[1]), sys.argv[2], b"x" * 100000, "_freeze")
""")


def test_a_kill_mid_write_keeps_the_old_record_and_the_next_write_succeeds(site):
    before = (site / RECORD).read_bytes()
    child = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(site), RECORD], cwd=REPO,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline() == "half written\n"
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        child.stdout.close()
    assert (site / RECORD).read_bytes() == before
    assert run_build(site, frozen=True).result.exit_code == 0    # the leftover temporary is harmless
    write_source_file(site, RECORD, b"{}\n", "_freeze")
    assert (site / RECORD).read_bytes() == b"{}\n" and no_temporary_files(site)
