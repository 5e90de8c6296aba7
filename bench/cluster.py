"""Posts on a Ray cluster: does the cluster finish near the lower bound, and what does it cost?

    python bench/cluster.py [--keep]

A local Ray cluster (one node offering 3 CPUs: 3 worker processes of 1 CPU each, as every post
asks for one; separate worker nodes on one machine contend for the same fixed agent ports) and
two measurements, each against the local pool in the same run:
1. Scaling: bench/schedule.py's 24 `time.sleep` posts (two of 12 s, twenty-two of 1-3 s). A cold
   `-j 1` local build records every post's run time; then `--force --cluster` runs them again,
   longest first (the scheduler reads the records). Its makespan is compared with the lower
   bound max(longest, total / 3) over the run times the local build recorded (each includes the
   post's kernel start), and with the `-j 1` build. Less sensitive to the machine's load: each
   post's overhead, its recorded run time (kernel start to end, on the worker) minus its sleep.
2. Overhead: the repository's tutorial post, `--force` locally and then on the cluster, taking
   turns TUTORIAL_TURNS times; the fastest of each is compared (a build of a few seconds on a
   shared machine varies by more than the difference measured).
The load average (1 minute) at the start and end of the run goes with the table: this machine
is often shared.

Writes bench/cluster-results.md and prints the same table. Needs `pip install .[cluster]`.
"""
from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from schedule import DURATIONS, PY, make_site, recorded  # noqa: E402 - the same 24 posts

REPO = Path(__file__).resolve().parent.parent
RAY = str(Path(PY).with_name("ray"))
WORKERS = 3
TUTORIAL_TURNS = 3
RESULTS = REPO / "bench" / "cluster-results.md"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class LocalCluster:
    """A `ray start --head --block` process offering WORKERS CPUs, stopped by its id."""

    def __init__(self, temp: Path):
        self.port, self.client_port, self.processes = free_port(), free_port(), []
        self.start("--head", f"--port={self.port}", f"--ray-client-server-port={self.client_port}",
                   f"--num-cpus={WORKERS}", "--include-dashboard=false", f"--temp-dir={temp}")
        try:
            wait_for_port(self.client_port)
            self.wait_for_workers()
        except BaseException:
            self.stop()
            raise

    @property
    def address(self) -> str:
        """`auto` with RAY_ADDRESS set (see build): a driver on a cluster node joins it directly,
        without the Ray client's per-driver server, which a loaded machine can be slow to start."""
        return "auto"

    def start(self, *args: str) -> None:
        env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0"}
        self.processes.append(subprocess.Popen(
            [RAY, "start", "--block", "--disable-usage-stats", "--object-store-memory=80000000", *args],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True))

    def wait_for_workers(self, seconds: float = 120.0) -> None:
        code = ("import ray; ray.init(address='auto', logging_level='ERROR'); "
                "print(int(ray.cluster_resources().get('CPU', 0)))")
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            done = subprocess.run([PY, "-c", code], capture_output=True, text=True, timeout=120,
                                  env={**os.environ, "RAY_ADDRESS": f"127.0.0.1:{self.port}"})
            if done.stdout.strip() == str(WORKERS):
                return
            time.sleep(2)
        raise RuntimeError(f"the cluster did not reach {WORKERS} CPUs")

    def stop(self) -> None:
        for process in reversed(self.processes):       # workers first, then the head
            process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            process.wait(timeout=10)


def wait_for_port(port: int, seconds: float = 120.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.5)
    raise RuntimeError(f"nothing listens on port {port}")


def build(site: Path, *extra: str, ray_port: int = 0) -> float:
    """Wall seconds of one build (a failed build stops the benchmark)."""
    env = {**os.environ, "RAY_ADDRESS": f"127.0.0.1:{ray_port}"} if ray_port else None
    started = time.perf_counter()
    done = subprocess.run([PY, "-m", "builder", "build", "--source", str(site), *extra],
                          capture_output=True, text=True, timeout=900, env=env)
    seconds = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"build failed:\n{done.stderr[-3000:]}")
    return seconds


def tutorial_site(site: Path) -> None:
    site.mkdir(parents=True)
    shutil.copy(REPO / "_config.yml", site / "_config.yml")
    shutil.copytree(REPO / "posts", site / "posts")


def overhead(durations: list[float]) -> float:
    """The mean of each post's recorded run time minus its sleep (the posts in file order)."""
    return sum(run - sleep for run, sleep in zip(durations, DURATIONS)) / len(DURATIONS)


def measure(cluster: LocalCluster, work: Path) -> list[tuple[str, float, str, bool]]:
    sleeps = work / "sleeps"
    make_site(sleeps)
    local_j1 = build(sleeps, "-j", "1")
    durations = recorded(sleeps)
    bound = max(max(durations), sum(durations) / WORKERS)
    print(f"local -j 1: {local_j1:.1f} s; bound {bound:.1f} s", flush=True)
    on_cluster = build(sleeps, "--force", "-j", str(WORKERS), "--cluster", cluster.address, ray_port=cluster.port)
    on_cluster_overhead = overhead(recorded(sleeps))
    print(f"cluster: {on_cluster:.1f} s", flush=True)
    tutorial_local, tutorial_cluster = tutorial_turns(cluster, work / "tutorial")
    return [
        ("24 sleep posts, local pool `-j 1`", local_j1, "", True),
        ("lower bound max(longest, total/3) of the recorded run times", bound,
         f"longest {max(durations):.1f} s, total {sum(durations):.1f} s", True),
        ("24 sleep posts on the cluster (3 workers)", on_cluster,
         f"{on_cluster / bound:.2f}x the bound (goal ≤ 1.15x); {on_cluster / local_j1:.2f}x `-j 1` "
         "(goal ≤ 0.4x)", on_cluster <= 1.15 * bound and on_cluster <= 0.4 * local_j1),
        ("per-post overhead (run time minus sleep, mean): local `-j 1` / on the cluster",
         on_cluster_overhead, f"local {overhead(durations):.2f} s, cluster {on_cluster_overhead:.2f} s", True),
        ("tutorial post, local `--force` (fastest of its turns)", min(tutorial_local),
         "turns " + ", ".join(f"{seconds:.1f}" for seconds in tutorial_local), True),
        ("tutorial post on the cluster `--force` (fastest of its turns)", min(tutorial_cluster),
         f"{min(tutorial_cluster) / min(tutorial_local):.2f}x local (goal ≤ 1.3x); turns "
         + ", ".join(f"{seconds:.1f}" for seconds in tutorial_cluster),
         min(tutorial_cluster) <= 1.3 * min(tutorial_local)),
    ]


def tutorial_turns(cluster: LocalCluster, tutorial: Path) -> tuple[list[float], list[float]]:
    """The tutorial post's `--force` build locally and on the cluster, taking turns: their wall times."""
    tutorial_site(tutorial)
    build(tutorial, "-j", "1")                        # first build: records, figures, caches warm
    local, on_cluster = [], []
    for _ in range(TUTORIAL_TURNS):
        local.append(build(tutorial, "--force", "-j", "1"))
        on_cluster.append(build(tutorial, "--force", "-j", "1", "--cluster", cluster.address, ray_port=cluster.port))
        print(f"tutorial local {local[-1]:.1f} s, cluster {on_cluster[-1]:.1f} s", flush=True)
    return local, on_cluster


def table(rows: list[tuple[str, float, str, bool]]) -> str:
    lines = ["| measurement | seconds | ratio | goal met |", "|---|---:|---|---|"]
    lines += [f"| {name} | {seconds:.1f} | {note} | {'yes' if met else 'NO'} |" for name, seconds, note, met in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the temporary sites")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="builder-cluster-bench-"))
    cluster = LocalCluster(work / "ray")
    load_before = os.getloadavg()[0]
    try:
        rows = measure(cluster, work)
    finally:
        cluster.stop()
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    text = (f"# Posts on a local Ray cluster (bench/cluster.py)\n\nOne Ray node offering {WORKERS} CPUs "
            f"({WORKERS} worker processes of 1 CPU) on this machine ({os.cpu_count()} cores, shared), durations {sorted(set(DURATIONS))} s "
            "of `time.sleep` per post; whole-build wall times, connecting to the cluster included. "
            f"Load average (1 minute) {load_before:.1f} at the start of the run, {os.getloadavg()[0]:.1f} at its end.\n\n"
            f"{table(rows)}\n")
    RESULTS.write_text(text, encoding="utf-8")
    print(text)


if __name__ == "__main__":
    main()
