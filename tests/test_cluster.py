"""Posts run on a real local Ray cluster (one head, started once for the module): same bytes as a
local build, only stale posts shipped, each cell a worker starts shown while it runs, a killed
worker's post retried, an unreachable or version-mismatched cluster is exit 2, Ctrl-C cancels the
remote task. Ray is optional: these tests skip without it."""
from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import tree_bytes, write

pytest.importorskip("ray")
pytestmark = [pytest.mark.slow, pytest.mark.kernel]

from builder.commands.cli import main  # noqa: E402
from builder.execute.ray_log import code_digest  # noqa: E402
from builder.site.progress import Reporter  # noqa: E402

RAY = Path(sys.executable).with_name("ray")
POST = "posts/2020-01-02-numbers.md"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, seconds: float = 90.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"the Ray head did not open its client port {port} (exit {process.poll()})")


@pytest.fixture(scope="module")
def cluster(tmp_path_factory) -> str:
    """A one-node Ray cluster with 2 CPUs and a small object store; its client address."""
    port, client_port = free_port(), free_port()
    temp = tmp_path_factory.mktemp("ray")
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
    head = subprocess.Popen(
        [str(RAY), "start", "--head", "--block", f"--port={port}", f"--ray-client-server-port={client_port}",
         "--num-cpus=2", "--object-store-memory=80000000", "--include-dashboard=false",
         "--disable-usage-stats", f"--temp-dir={temp}", "--min-worker-port=0", "--max-worker-port=0"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for_port(client_port, head)
        yield f"ray://127.0.0.1:{client_port}"
    finally:
        head.send_signal(signal.SIGTERM)        # `ray start --block` stops the processes it started
        try:
            head.wait(timeout=20)
        except subprocess.TimeoutExpired:
            pass
        try:
            os.killpg(head.pid, signal.SIGKILL)  # whatever of its group outlived it
        except ProcessLookupError:
            pass
        head.wait(timeout=10)


def build(site: Path, *args: str) -> int:
    return main(["build", "--source", str(site), "-j", "2", *args])


RUN_TIME = re.compile(rb"(seed 0, )[0-9.]+( s\.</p>)")


def outputs(site: Path) -> dict[str, bytes]:
    """_site/, _freeze/ and assets/img/ of a built site, the run time (which no two runs share) aside."""
    found = {}
    for folder in ("_site", "_freeze", "assets/img"):
        for name, data in tree_bytes(site / folder).items():
            if folder == "_freeze":
                data = b"\n".join(line for line in data.split(b"\n") if b"run_seconds" not in line)
            found[f"{folder}/{name}"] = RUN_TIME.sub(rb"\1-\2", data)
    found.pop("_site/pagefind/builder-pages.txt", None)    # a digest of the pages, run times included
    return found


def record_cells(monkeypatch) -> list[tuple[str, str]]:
    """Each cell start the build's progress display is told of: the post and its status text."""
    seen, show = [], Reporter.cell

    def recording(reporter, post, cell, where="local"):
        show(reporter, post, cell, where)
        seen.append((post.path, reporter.current[post.path]))

    monkeypatch.setattr(Reporter, "cell", recording)
    return seen


def test_cluster_build_gives_the_local_bytes_and_ships_only_stale_posts(cluster, numpy_site, tmp_path, capsys,
                                                                        monkeypatch):
    local = tmp_path / "local"
    shutil.copytree(numpy_site, local)
    assert build(local) == 0
    cells = record_cells(monkeypatch)
    assert build(numpy_site, "--cluster", cluster) == 0
    log = capsys.readouterr().err
    assert outputs(numpy_site) == outputs(local)        # with the workers reporting every cell
    assert f"done    {POST} in " in log and f" on {socket.gethostname()}" in log
    host = socket.gethostname()
    assert cells == [(POST, f"cell {n}/5 on {host}") for n in range(1, 6)]   # while the post ran
    write(numpy_site / "posts/2020-01-03-more.md", """
        ---
        title: More
        ---
        ```python
        print(6 * 7)
        ```
    """)
    assert build(numpy_site, "--cluster", cluster) == 0
    log = capsys.readouterr().err
    assert "2020-01-03-more.md" in log
    assert f"run     {POST}" not in log


def test_a_killed_worker_is_retried_once_then_reported(cluster, numpy_site, tmp_path, capsys):
    once, always = tmp_path / "killed-once", tmp_path / "never-created"
    write(numpy_site / "posts/2020-01-04-crash.md", f"""
        ---
        title: Crash
        ---
        ```python
        import os, pathlib, signal
        marker = pathlib.Path({str(once)!r})
        if not marker.exists():
            marker.write_text("first attempt")
            os.kill(int(os.environ["JPY_PARENT_PID"]), signal.SIGKILL)    # the Ray worker running this post
            os._exit(1)
        print("second attempt")
        ```
    """)
    assert build(numpy_site, "--cluster", cluster, "--force") == 0
    assert once.read_text() == "first attempt"
    assert "second attempt" in (numpy_site / "_freeze/posts/2020-01-04-crash.json").read_text()
    capsys.readouterr()
    write(numpy_site / "posts/2020-01-04-crash.md", f"""
        ---
        title: Crash
        ---
        ```python
        import os, signal
        os.kill(int(os.environ["JPY_PARENT_PID"]), signal.SIGKILL)
        os._exit(1)
        ```
    """)
    assert build(numpy_site, "--cluster", cluster, "--keep-going") == 1
    err = capsys.readouterr().err
    assert "posts/2020-01-04-crash.md" in err
    assert "the cluster worker running this post died, twice (it was retried once on another worker)" in err
    assert not always.exists()


def test_posts_on_one_worker_get_fresh_kernels_forked_from_its_warm_pool(cluster, numpy_site, tmp_path,
                                                                         monkeypatch):
    seen = tmp_path / "kernels"
    for name in ("a", "b"):      # two CPUs each: one at a time on the test cluster, on the worker Ray reuses
        write(numpy_site / f"posts/2020-01-09-kernel-{name}.md", f"""
            ---
            title: Kernel {name}
            cpus: 2
            ---
            ```python
            import os
            with open(f"/proc/{{os.getppid()}}/cmdline", "rb") as parent:
                forked = b"zygote" in parent.read()
            with open({str(seen)!r}, "a") as out:
                out.write(f"{{os.environ['JPY_PARENT_PID']}} {{os.getppid()}} {{os.getpid()}} {{forked}}\\n")
            ```
        """)
    assert build(numpy_site, "--cluster", cluster) == 0
    (worker, parent, first, forked), (worker_2, parent_2, second, forked_2) = kernels(seen)
    assert worker == worker_2                # the same Ray worker ran both posts
    assert first != second                   # each post its own fresh kernel
    assert parent == parent_2 != worker      # both forked by the one zygote of that worker's pool
    assert forked == forked_2 == "True"
    seen.unlink()
    monkeypatch.setenv("BUILDER_WARM", "0")           # the driver's switch holds on the workers
    assert build(numpy_site, "--cluster", cluster, "--force") == 0
    assert [(parent == worker, forked) for worker, parent, _, forked in kernels(seen)] == [(True, "False")] * 2


def kernels(seen: Path) -> list[list[str]]:
    """Each post's kernel as it wrote itself down: its Ray worker's pid, its parent's, its own, and
    whether its parent is a zygote."""
    return [line.split() for line in seen.read_text().splitlines()]


def test_an_application_error_is_not_retried_and_timeouts_hold_on_the_worker(cluster, numpy_site, tmp_path, capsys):
    count = tmp_path / "attempts"
    write(numpy_site / "posts/2020-01-05-fails.md", f"""
        ---
        title: Fails
        ---
        ```python
        with open({str(count)!r}, "a") as attempts:
            attempts.write("x")
        1 / 0
        ```
    """)
    write(numpy_site / "posts/2020-01-07-slow.md", """
        ---
        title: Slow
        timeout: 2
        ---
        ```python
        import time
        time.sleep(60)
        ```
    """)
    assert build(numpy_site, "--cluster", cluster, "--keep-going") == 1
    err = capsys.readouterr().err
    assert "ZeroDivisionError: division by zero" in err
    assert count.read_text() == "x"
    assert ("posts/2020-01-07-slow.md:5 (cell 1): the cell ran longer than its time limit (timeout: 2 s) "
            "and was stopped") in err


def test_an_unreachable_cluster_is_exit_2_before_anything_runs(numpy_site, capsys):
    port = free_port()
    assert build(numpy_site, "--cluster", f"ray://127.0.0.1:{port}") == 2
    err = capsys.readouterr().err
    assert f"cannot reach the Ray cluster at ray://127.0.0.1:{port}" in err
    assert not (numpy_site / "_freeze").exists()
    assert build(numpy_site, "--cluster", "127.0.0.1:6379") == 2
    assert "`127.0.0.1:6379` is not a Ray cluster address" in capsys.readouterr().err


def test_a_cluster_named_in_the_config_starts_no_kernels_here(numpy_site, capsys, monkeypatch):
    from builder.commands import cli
    started = []
    monkeypatch.setattr(cli, "early_warm_pool", lambda *args: started.append(args))
    port = free_port()
    config = numpy_site / "_config.yml"
    config.write_text(config.read_text(encoding="utf-8") + f"cluster: ray://127.0.0.1:{port}\n", encoding="utf-8")
    assert build(numpy_site) == 2
    assert f"cannot reach the Ray cluster at ray://127.0.0.1:{port}" in capsys.readouterr().err
    assert started == []                # its posts would run there: no zygote imports torch here


def test_a_cluster_on_other_versions_is_exit_2_before_any_post_runs(cluster, numpy_site, capsys,
                                                                          monkeypatch):
    import platform

    import ray

    import builder
    ray_version, python, version = ray.__version__, platform.python_version(), builder.__version__
    monkeypatch.setattr(ray, "__version__", "2.0.0")         # what this driver believes it runs:
    assert build(numpy_site, "--cluster", cluster) == 2     # Ray's own check refuses it
    err = capsys.readouterr().err
    assert f"--cluster: the Ray cluster at {cluster} runs Ray {ray_version}; this machine runs Ray 2.0.0" in err
    assert "Hint: A post gives the same bytes on the cluster only where it runs this machine's Ray" in err
    monkeypatch.setattr(ray, "__version__", ray_version)
    monkeypatch.setattr(builder, "__version__", "0.0.1")     # the cluster's log answers with its own
    monkeypatch.setattr(platform, "python_version", lambda: "3.8.10")
    assert build(numpy_site, "--cluster", cluster) == 2
    err = capsys.readouterr().err
    assert (f"the Ray cluster at {cluster} runs Python {python}, builder {version} (code {code_digest()}); "
            f"this machine runs Python 3.8.10, builder 0.0.1 (code {code_digest()})") in err
    assert not (numpy_site / "_freeze").exists()


def test_a_worker_on_other_versions_runs_nothing_and_says_which(numpy_site, tmp_path):
    from builder.core.config import validate_config
    from builder.execute.executor import ExecutionOptions
    from builder.execute.ray_task import run_post_task, worker_versions
    from builder.source.reader import read_post

    ran = tmp_path / "ran"
    path = write(numpy_site / "posts/2020-01-10-marks.md", f"""
        ---
        title: Marks
        ---
        ```python
        open({str(ran)!r}, "w").close()
        ```
    """)
    post = read_post(numpy_site, path, validate_config({}, "_config.yml"))
    driver = dict(worker_versions(), builder="0.0.1 (code 000000000000)")
    result, host = run_post_task(post, ExecutionOptions(), b"", None, True, driver)
    assert (result, host) == (worker_versions(), socket.gethostname())
    assert not ran.exists()


def test_ctrl_c_cancels_the_remote_task(cluster, numpy_site, tmp_path):
    started = tmp_path / "kernel-pid"
    write(numpy_site / "posts/2020-01-06-sleeps.md", f"""
        ---
        title: Sleeps
        ---
        ```python
        import os, pathlib, time
        pathlib.Path({str(started)!r}).write_text(str(os.getpid()))
        time.sleep(120)
        ```
    """)
    driver = subprocess.Popen([sys.executable, "-m", "builder", "build", "--source", str(numpy_site),
                               "--cluster", cluster], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 90
        while not started.exists() and time.monotonic() < deadline and driver.poll() is None:
            time.sleep(0.2)
        assert started.exists(), driver.communicate(timeout=30)
        kernel = int(started.read_text())
        driver.send_signal(signal.SIGINT)
        assert driver.wait(timeout=10) == 128 + signal.SIGINT
    finally:
        if driver.poll() is None:
            driver.kill()
            driver.wait(timeout=10)
    deadline = time.monotonic() + 10      # its worker was killed; the kernel follows its parent
    while process_alive(kernel) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not process_alive(kernel)
    assert not (numpy_site / "_freeze/posts/2020-01-06-sleeps.json").exists()


def process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]


def test_local_and_frozen_builds_never_import_ray(numpy_site):
    code = ("import sys; from builder.commands.cli import main; "
            f"codes = [main(['build', '--source', {str(numpy_site)!r}]), "
            f"main(['build', '--source', {str(numpy_site)!r}, '--frozen'])]; "
            "assert codes == [0, 0], codes; "
            "assert 'ray' not in sys.modules and 'builder.execute.ray_backend' not in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr


def test_bad_cpus_or_too_many_files_stop_before_anything_is_shipped(numpy_site, capsys, monkeypatch):
    write(numpy_site / "posts/2020-01-08-cpus.md", """
        ---
        title: CPUs
        cpus: 0
        ---
        ```python
        print(1)
        ```
    """)
    unreachable = f"ray://127.0.0.1:{free_port()}"
    assert build(numpy_site, "--cluster", unreachable) == 2
    err = capsys.readouterr().err
    assert "posts/2020-01-08-cpus.md: `cpus: 0` is not a whole number of CPUs (1 or more)" in err
    (numpy_site / "posts/2020-01-08-cpus.md").unlink()
    monkeypatch.setattr("builder.execute.ray_backend.MAX_FILES_MB", 0)
    assert build(numpy_site, "--cluster", unreachable) == 2
    assert "the site's files that posts may read are over 0 MB, too many to ship to the cluster" in \
        capsys.readouterr().err
