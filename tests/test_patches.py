"""Patches of other libraries: on a version they were not written for they are off, say so once,
and the result is the same; BUILDER_WARM=0 starts every kernel the usual way."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from builder.core import patches
from builder.core.config import load_config
from builder.execute.executor import ExecutionOptions, execute_post
from builder.execute.warm import start_warm_pool
from builder.render.markup import CellExtension, configured_markdown, new_markdown
from builder.source.reader import read_post
from conftest import write

ROOT = Path(__file__).resolve().parent.parent
DOCUMENT = "# Title\n\nSome *words*, a [link](/x) -- and `code`.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"


def notice(name: str, written_for: str, found: str) -> str:
    distribution = patches.PATCHES[name][0]
    return (f"notice: patch {name} is off: it was written for {distribution} {written_for}, not {found}; "
            "results are the same, only slower\n")


@pytest.fixture
def other_versions(monkeypatch):
    """Every patched library reports a version no patch was written for, decided afresh."""
    monkeypatch.setattr(patches, "library_version", lambda distribution: "0.0.1")
    monkeypatch.setattr(patches, "_decided", {})


def test_every_patch_is_on_for_the_pinned_versions(monkeypatch, capsys):
    monkeypatch.setattr(patches, "_decided", {})
    assert all(patches.enabled(name) for name in patches.PATCHES)
    assert capsys.readouterr().err == ""


def test_markdown_patches_off_on_another_version_give_the_same_html(other_versions, capsys):
    stock = configured_markdown(CellExtension({}), shortcuts=False).convert(DOCUMENT)
    first, second = new_markdown({}), new_markdown({})
    assert type(first.treeprocessors["inline"]).__name__ == "InlineProcessor"   # the stock one
    assert first.convert(DOCUMENT) == second.convert(DOCUMENT) == stock
    # markdown-pattern-search is asked only for a stand-in regex, which needs python-sre (off too)
    asked = [name for name, (distribution, _) in patches.PATCHES.items()
             if distribution == "Markdown" and name != "markdown-pattern-search"]
    expected = {notice(name, "3.11.3", "0.0.1") for name in asked} | {notice("python-sre", "3.11", "0.0.1")}
    assert set(capsys.readouterr().err.splitlines(keepends=True)) == expected      # each said once


def test_nbclient_patch_off_leaves_a_failed_kernel_to_nbclient(other_versions, capsys):
    patches.forget_failed_kernel(object())     # on: it would reach for client._cleanup_kernel
    assert capsys.readouterr().err == notice("nbclient-forget-kernel", "0.11.0", "0.0.1")


def post(site: Path, code: str):
    write(site / "posts" / "2024-01-01-p.md", f"---\ntitle: P\n---\n\n```python\n{code}\n```\n")
    return read_post(site, site / "posts" / "2024-01-01-p.md", load_config(site))


def stream_text(run) -> str:
    return "".join(output.text for output in run.results[1].outputs if output.kind == "stream")


@pytest.mark.kernel
def test_kernel_patches_off_on_another_version_still_run_the_post(tmp_path, other_versions, capsys):
    notes = []
    with start_warm_pool(["import numpy"], log=notes.append) as pool:
        run = execute_post(post(tmp_path, "import sys\nprint(6 * 7, '_builder_warm' in sys.modules)"),
                           tmp_path, ExecutionOptions(), warm=pool)
    assert stream_text(run) == "42 False\n"        # a cold kernel: warm ones need the atexit patch
    assert notes == ["warm kernels off (the atexit-run-handlers patch is off); "
                     "starting each kernel the usual way"]
    assert capsys.readouterr().err == (notice("atexit-run-handlers", "3.11", "0.0.1")
                                       + notice("jupyter-ready", "8.10.0", "0.0.1")
                                       + notice("jupyter-reap-poll", "8.10.0", "0.0.1"))


@pytest.mark.kernel
def test_builder_warm_0_runs_the_post_on_a_cold_kernel(tmp_path, monkeypatch):
    monkeypatch.setenv("BUILDER_WARM", "0")
    notes = []
    with start_warm_pool(["import numpy"], log=notes.append) as pool:
        assert pool.zygotes == {}
        run = execute_post(post(tmp_path, "import sys\nprint('_builder_warm' in sys.modules)"),
                           tmp_path, ExecutionOptions(), warm=pool)
    assert stream_text(run) == "False\n"
    assert notes == ["warm kernels off (BUILDER_WARM=0); starting each kernel the usual way"]


def test_console_main_exits_the_usual_way_when_the_atexit_patch_is_off(tmp_path):
    (tmp_path / "posts").mkdir()
    (tmp_path / "_site").mkdir()
    script = ("import atexit, sys\n"
              "from builder.core import patches\n"
              "patches.library_version = lambda distribution: '0.0.1'\n"
              "atexit.register(lambda: print('exit handler ran'))\n"
              "from builder.commands.cli import console_main\n"
              f"sys.argv = ['builder', 'clean', '--source', {str(tmp_path)!r}]\n"
              "console_main()\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT)
    assert (done.returncode, done.stdout) == (0, "exit handler ran\n")
    assert done.stderr == notice("atexit-run-handlers", "3.11", "0.0.1")
    assert not (tmp_path / "_site").exists()


def test_kernel_clients_retry_a_refused_connection_within_milliseconds():
    """A client connects before its kernel has bound its ports: with ZMQ's default 100 ms
    between tries, every post waited about that long for its kernel."""
    import zmq
    from jupyter_client import AsyncKernelManager
    from builder.core.patches import RECONNECT_MS, quicken_kernel_manager
    km = AsyncKernelManager()
    quicken_kernel_manager(km)
    kc = km.client()
    socket = kc.context.socket(zmq.DEALER)      # as its channels make theirs
    try:
        assert socket.getsockopt(zmq.RECONNECT_IVL) == RECONNECT_MS == 5
    finally:
        socket.close()
        kc.context.term()
