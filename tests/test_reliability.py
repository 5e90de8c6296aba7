"""No build hangs, --keep-going keeps going, interrupts and concurrent builds leave nothing behind.

The command-line tests run `python -m builder` in a subprocess with a marker in its environment;
every process a build starts (forked workers, zygotes, kernel launchers, kernels) inherits it,
so scanning /proc for the marker finds anything left behind.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from builder.core import interrupts
from builder.site.lock import build_lock
from conftest import REPO, run_build, tree_bytes, write

MISSING_IMAGE_POST = '---\ntitle: "Post {n}"\n---\n\nText.\n\n![fig](/images/fig-{n}.png)\n'
BAD_PERMALINK_POST = "---\ntitle: Bad {n}\npermalink: ../../../../tmp/x{n}.html\n---\n\nText.\n"
HEALTHY_POST = "---\ntitle: Good\n---\n\nText.\n\n```python\nprint('healthy')\n```\n"
BAD_URL = "URL '/../../../../tmp/x{n}.html' contains '..' or '.'"


class Cli:
    """`python -m builder` in a subprocess whose processes carry a marker in their environment."""

    def __init__(self, site: Path):
        self.site = site
        self.marker = f"builder-test-{uuid.uuid4().hex}"
        self.env = dict(os.environ, PYTHONPATH=str(REPO), BUILDER_TEST_MARK=self.marker)

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "builder", *args], cwd=self.site, env=self.env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def run(self, *args: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "builder", *args], cwd=self.site, env=self.env,
                              capture_output=True, text=True, timeout=timeout)

    def leftovers(self) -> list[str]:
        """Command lines of live processes carrying this marker (none once a build has ended)."""
        found = []
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and self.marker.encode() in (entry / "environ").read_bytes():
                    found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
            except OSError:
                continue
        return found


def many_missing_images(site: Path, count: int) -> None:
    for n in range(1, count + 1):
        write(site / f"posts/2024-01-01-post-{n:03}.md", MISSING_IMAGE_POST.format(n=f"{n:03}"))


# -- the two hangs of issue 11 --

def test_many_missing_images_end_the_build_with_exit_1_and_no_process_left(tmp_path):
    many_missing_images(tmp_path, 300)
    cli = Cli(tmp_path)
    result = cli.run("build", "--no-execute", "-j", "2")
    assert result.returncode == 1
    assert result.stderr.endswith(
        "failed: posts/2024-01-01-post-001.md:7: the image /images/fig-001.png does not exist "
        "(no file images/fig-001.png in the site folder)\n"
        "  Hint: Add it as assets/images/fig-001.png (only assets/ is copied into the site) and write "
        "/assets/images/fig-001.png, or fix the path.\n")
    assert cli.leftovers() == []
    assert not (tmp_path / "_site").exists()


def test_keep_going_reports_every_missing_image_and_builds_the_rest(tmp_path):
    many_missing_images(tmp_path, 120)
    write(tmp_path / "posts/2024-02-01-fine.md", "---\ntitle: Fine\n---\n\nNo images here.\n")
    cli = Cli(tmp_path)
    result = cli.run("build", "--no-execute", "--keep-going", "-j", "2")
    assert result.returncode == 1
    assert result.stderr.count("\nfailed: posts/2024-01-01-post-") == 120
    assert ", 120 failed\n" in result.stderr
    assert (tmp_path / "_site/2024/02/01/fine.html").is_file()
    assert cli.leftovers() == []


def bad_permalinks_and_a_healthy_post(site: Path) -> None:
    for n in range(1, 5):
        write(site / f"posts/2024-01-0{n}-bad-{n}.md", BAD_PERMALINK_POST.format(n=n))
    write(site / "posts/2024-02-01-good.md", HEALTHY_POST)


def test_bad_permalinks_stop_the_default_build_naming_every_post(tmp_path):
    bad_permalinks_and_a_healthy_post(tmp_path)
    cli = Cli(tmp_path)
    result = cli.run("build")
    assert result.returncode == 1
    for n in range(1, 5):
        assert f"posts/2024-01-0{n}-bad-{n}.md: {BAD_URL.format(n=n)}" in result.stderr
    assert "run     posts/2024-02-01-good.md" not in result.stderr     # stopped before running
    assert cli.leftovers() == []
    assert not (tmp_path / "_site").exists()
    assert not list(Path("/tmp").glob("x[1-4].html"))


@pytest.mark.kernel
def test_keep_going_builds_the_healthy_post_beside_bad_permalinks(tmp_path):
    bad_permalinks_and_a_healthy_post(tmp_path)
    cli = Cli(tmp_path)
    result = cli.run("build", "--keep-going")
    assert result.returncode == 1
    assert "done    posts/2024-02-01-good.md" in result.stderr
    assert ": 1 executed (" in result.stderr and ", 4 failed\n" in result.stderr
    for n in range(1, 5):
        assert f"\nfailed: posts/2024-01-0{n}-bad-{n}.md: {BAD_URL.format(n=n)}" in result.stderr
    assert "healthy" in (tmp_path / "_site/2024/02/01/good.html").read_text(encoding="utf-8")
    assert cli.leftovers() == []


# -- --keep-going and duplicate URLs --

def test_keep_going_builds_the_first_of_two_posts_with_one_url_and_says_so(tmp_path):
    write(tmp_path / "posts/2024-02-02-a.md", "---\ntitle: A\npermalink: /same/\n---\n\nFrom A.\n")
    write(tmp_path / "posts/2024-02-03-b.md", "---\ntitle: B\npermalink: /same/\n---\n\nFrom B.\n")
    write(tmp_path / "posts/2024-02-04-c.md", "---\ntitle: C\n---\n\nFrom C.\n")
    built = run_build(tmp_path, keep_going=True)
    assert built.result.exit_code == 1
    assert [str(error) for error in built.result.failures] == [
        "posts/2024-02-03-b.md: the URL /same/ is also claimed by posts/2024-02-02-a.md; "
        "posts/2024-02-02-a.md is built and this file is skipped\n"
        "  Hint: Give one of the two posts a different `permalink:` or file name."]
    assert "From A." in (tmp_path / "_site/same/index.html").read_text(encoding="utf-8")
    assert (tmp_path / "_site/2024/02/04/c.html").is_file()


# -- execute: false --

def test_execute_false_shows_the_code_without_running_it(tmp_path):
    write(tmp_path / "posts/2024-02-01-shown.md",
          "---\ntitle: Shown\nexecute: false\n---\n\nText.\n\n```python\nraise SystemExit('never run')\n```\n")
    built = run_build(tmp_path)
    assert built.result.exit_code == 0
    assert built.executed == [] and built.summary.cached == []
    page = (tmp_path / "_site/2024/02/01/shown.html").read_text(encoding="utf-8")
    assert "never run" in page
    assert not (tmp_path / "_freeze").exists()
    assert not (tmp_path / "_site/2024/02/01/shown.ipynb").exists()


# -- interrupts --

SLEEPING_POST = """---
title: Sleeper
---

Text.

```python
import pathlib, time
pathlib.Path({marker!r}).write_text("started")
time.sleep(60)
```
"""


@pytest.mark.kernel
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_mid_execution_stops_everything_and_leaves_the_site_untouched(tmp_path, signum):
    site = tmp_path / "site"
    write(site / "posts/2024-01-01-plain.md", "---\ntitle: Plain\n---\n\nText.\n")
    cli = Cli(site)
    assert cli.run("build").returncode == 0
    before = tree_bytes(site / "_site")
    started = tmp_path / "kernel-started"
    write(site / "posts/2024-02-01-sleeper.md", SLEEPING_POST.format(marker=str(started)))
    build = cli.start("build")
    deadline = time.monotonic() + 60
    while not started.exists() and time.monotonic() < deadline and build.poll() is None:
        time.sleep(0.05)
    assert started.exists(), build.communicate(timeout=10)[1]
    build.send_signal(signum)
    _, stderr = build.communicate(timeout=10)
    name = signal.Signals(signum).name
    assert build.returncode == 128 + signum
    assert stderr.endswith(f"interrupted ({name}): stopped the build; _site/ is as it was before this build\n")
    assert cli.leftovers() == []
    assert tree_bytes(site / "_site") == before
    assert not (site / "_freeze/posts/2024-02-01-sleeper.json").exists()


SIGINT_IN_COMMIT = """
import os, signal, sys, time
from builder.site import writer
from builder.commands.cli import main

put_in_place = writer.Writer.commit

def commit(self):
    os.kill(os.getpid(), signal.SIGINT)
    time.sleep(0.05)                  # the handler has run by now, and waits
    put_in_place(self)

writer.Writer.commit = commit
sys.exit(main(["build"]))
"""


@pytest.mark.kernel
def test_sigint_while_the_site_is_put_in_place_finishes_that_step_first(tmp_path):
    write(tmp_path / "posts/2024-01-01-one.md", "---\ntitle: One\n---\n\nText.\n")
    cli = Cli(tmp_path)
    assert cli.run("build").returncode == 0
    write(tmp_path / "posts/2024-01-02-two.md", "---\ntitle: Two\n---\n\nMore text.\n")
    result = subprocess.run([sys.executable, "-c", SIGINT_IN_COMMIT], cwd=tmp_path, env=cli.env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 130
    assert result.stderr.endswith("interrupted (SIGINT): stopped the build; the new site was already in place\n")
    committed = tree_bytes(tmp_path / "_site")
    assert "2024/01/02/two.html" in committed
    again = cli.run("build")
    assert "(0 rendered)" in again.stderr             # the state was saved with the site
    # The search index, skipped by the interrupted build, is the one thing the next build adds.
    pages = lambda tree: {path: data for path, data in tree.items() if not path.startswith("pagefind/")}  # noqa: E731
    assert pages(tree_bytes(tmp_path / "_site")) == pages(committed)


def test_a_signal_during_the_commit_step_waits_until_it_is_done():
    previous = {signum: signal.getsignal(signum) for signum in (*interrupts.HANDLED, signal.SIGALRM)}
    steps = []
    try:
        interrupts.install()
        with pytest.raises(interrupts.Interrupted) as caught:
            with interrupts.deferred():
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.01)          # the handler has run by now, and waited
                steps.append("committed")
                interrupts.site_committed()
        assert steps == ["committed"]
        assert caught.value.after_commit and caught.value.exit_code == 130
        assert str(caught.value) == "interrupted (SIGINT): stopped the build; the new site was already in place"
        # what runs after the commit (the search index) is stopped saying the same
        interrupts.install()
        interrupts.site_committed()
        with pytest.raises(interrupts.Interrupted) as caught:
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(1)
        assert str(caught.value) == "interrupted (SIGINT): stopped the build; the new site was already in place"
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)       # the deadline set for the clean-up
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def test_a_signal_inside_the_import_machinery_is_acted_on_a_moment_later():
    previous = {signum: signal.getsignal(signum) for signum in (*interrupts.HANDLED, signal.SIGALRM)}
    importing = compile("handler(signal.SIGINT, sys._getframe())", "<frozen importlib._bootstrap>", "exec")
    try:
        interrupts.install()
        handler = signal.getsignal(signal.SIGINT)
        exec(importing, {"handler": handler, "signal": signal, "sys": sys})     # returns: deferred
        with pytest.raises(interrupts.Interrupted) as caught:
            time.sleep(1)                          # the retry comes within RETRY_SECONDS
        assert caught.value.exit_code == 130 and not caught.value.after_commit
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        for signum, handler in previous.items():
            signal.signal(signum, handler)


# -- two builds in one folder --

def test_a_second_build_in_the_same_folder_refuses_naming_the_first(tmp_path):
    write(tmp_path / "posts/2024-01-01-plain.md", "---\ntitle: Plain\n---\n\nText.\n")
    cli = Cli(tmp_path)
    with build_lock(tmp_path):
        refused = cli.run("build")
    assert refused.returncode == 2
    assert refused.stderr == (f"error: another build (pid {os.getpid()}) is running in the site folder .\n"
                              "  Hint: Wait for it to finish, or stop it, then build again; two builds "
                              "in one folder never run at once (.build-cache/build.lock).\n")
    assert not (tmp_path / "_site").exists()
    assert cli.run("build").returncode == 0          # released: the next build runs


def test_a_killed_build_leaves_no_stale_lock(tmp_path):
    write(tmp_path / "posts/2024-01-01-plain.md", "---\ntitle: Plain\n---\n\nText.\n")
    holder = subprocess.Popen([sys.executable, "-c", "import sys, time; from pathlib import Path; "
                               "from builder.site.lock import build_lock\nwith build_lock(Path('.')):\n"
                               "    print('locked', flush=True); time.sleep(60)"],
                              cwd=tmp_path, env=dict(os.environ, PYTHONPATH=str(REPO)),
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline() == "locked\n"
        assert Cli(tmp_path).run("build").returncode == 2
    finally:
        holder.kill()
        holder.wait(timeout=10)
    assert Cli(tmp_path).run("build").returncode == 0


# -- forking only from a single-threaded process --

FORK_CHECK = """
import os, threading
from builder.site.forked import can_fork, map_with_helper

def pids():
    return {pid for _, pid in map_with_helper(lambda job: (job, os.getpid()), list(range(8)), minimum=2)}

print(can_fork(), len(pids()))
release = threading.Event()
thread = threading.Thread(target=release.wait, args=(10,))
thread.start()
print(can_fork(), pids() == {os.getpid()})
release.set()
thread.join(10)
print(can_fork(), len(pids()))
"""


def test_helpers_are_not_forked_while_another_thread_runs():
    # In a fresh interpreter: this one may hold threads of earlier tests (ZeroMQ's, for one).
    result = subprocess.run([sys.executable, "-c", FORK_CHECK], env=dict(os.environ, PYTHONPATH=str(REPO)),
                            capture_output=True, text=True, timeout=60)
    assert result.stdout == "True 2\nFalse True\nTrue 2\n", result.stderr


# -- kernels that die or cannot start --

@pytest.mark.kernel
def test_a_kernel_that_kills_itself_is_an_error_of_its_post_without_a_traceback(tmp_path):
    write(tmp_path / "posts/2024-02-02-die.md",
          "---\ntitle: Die\n---\n\n```python\nimport os, signal\nos.kill(os.getpid(), signal.SIGKILL)\n```\n")
    cli = Cli(tmp_path)
    result = cli.run("build")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert ("failed: posts/2024-02-02-die.md:5 (cell 1): the kernel died while running this cell "
            "(a crash, os._exit or running out of memory)\n") in result.stderr
    assert cli.leftovers() == []


def test_a_zygote_that_cannot_start_leaves_kernels_to_start_the_usual_way(tmp_path, monkeypatch):
    from builder.execute import warm

    def cannot_start(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    pool = warm.WarmPool({}, log=None)
    try:
        monkeypatch.setattr(warm.subprocess, "Popen", cannot_start)
        assert pool.start(("numpy",)) is None
        assert pool.problem == "a zygote could not be started ([Errno 13] Permission denied)"
    finally:
        pool.close()


# -- serve: rebuilds beside the HTTP and watchdog threads never fork --

SERVE_FORKS = """
import io, sys
from pathlib import Path
from builder.site import render_pool
from builder.site.build import BuildOptions
from builder.commands.serve import Server

forks = []
real = render_pool.ForkedWorkers

def recording(*args, **kwargs):
    forks.append(1)
    return real(*args, **kwargs)

render_pool.ForkedWorkers = recording
site = Path(sys.argv[1])
with Server(BuildOptions(source=site, jobs=2), port=0, stream=io.StringIO()) as server:
    first = len(forks)                       # the first build runs before any thread starts
    for path in (site / "posts").glob("*.md"):
        path.write_text(path.read_text() + "More.\\n")
    server.rebuild()                         # HTTP and watchdog threads are alive now
    print(first, len(forks) - first, server.state.error)
"""


def test_serve_forks_renderers_only_before_its_threads_start(tmp_path):
    for n in range(1, 101):
        write(tmp_path / f"posts/2024-01-01-post-{n:03}.md", f"---\ntitle: Post {n}\n---\n\nText {n}.\n")
    result = subprocess.run([sys.executable, "-c", SERVE_FORKS, str(tmp_path)], capture_output=True, text=True,
                            env=dict(os.environ, PYTHONPATH=str(REPO)), timeout=120)
    assert result.stdout == "1 0 None\n", result.stderr


def test_pages_of_a_killed_render_worker_are_rendered_here(tmp_path, monkeypatch):
    from builder.site import render_pool

    class KilledWorkers(render_pool.ForkedWorkers):
        def results(self):
            for pid in self.pids:               # as the out-of-memory killer would
                os.kill(pid, signal.SIGKILL)
            yield from super().results()

    many_plain = [f"---\ntitle: Post {n}\n---\n\nText {n}.\n" for n in range(1, 101)]
    for n, text in enumerate(many_plain, 1):
        write(tmp_path / "a" / f"posts/2024-01-01-post-{n:03}.md", text)
        write(tmp_path / "b" / f"posts/2024-01-01-post-{n:03}.md", text)
    monkeypatch.setattr(render_pool, "can_fork", lambda: True)
    expected = run_build(tmp_path / "a", execute=False, jobs=1)
    monkeypatch.setattr(render_pool, "ForkedWorkers", KilledWorkers)
    rendered_here, parent = [], os.getpid()
    render_safely = render_pool.render_safely

    def counted(*args):
        if os.getpid() != parent:    # a worker never gets to send a page: it is killed first
            time.sleep(60)
        rendered_here.append(1)
        return render_safely(*args)

    monkeypatch.setattr(render_pool, "render_safely", counted)
    killed = run_build(tmp_path / "b", execute=False, jobs=2)
    assert killed.result.exit_code == expected.result.exit_code == 0
    assert len(rendered_here) == 100      # the first page before the fork, then every chunk here
    assert tree_bytes(tmp_path / "b/_site") == tree_bytes(tmp_path / "a/_site")
