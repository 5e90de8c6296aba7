"""Posts run as Ray tasks on a cluster: the same execution code as locally, a fresh kernel each.

The driver has already decided which posts must run (their cache keys are computed there); this
backend ships only those, with the files they may read packed once into Ray's object store. Each
task unpacks them, runs `execute_post` (the cold-kernel path: no warm pool on workers) and returns
the `Execution` and the worker's host; the driver writes the figures and the freeze record as for
a local run. Before anything is shipped, the cluster must run the driver's Ray, Python and builder
(else a post could give other bytes there); while posts run, their workers report each cell they
start (builder.execute.ray_log) for the progress display. Ray is optional: only a build given
`--cluster` imports this module.
"""
from __future__ import annotations

import io
import os
import re
import socket
import tarfile
import tempfile
import threading
import time
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

from builder.core.errors import BuildError, ConfigError, ExecutionError
from builder.core.model import CodeCell, Post
from builder.execute.backend import RunOutcome, RunRequest
from builder.execute.executor import SCRATCH_SKIP, Execution, Progress, execute_post
from builder.execute.ray_log import CellFeed, CellLog, CellReports, versions_here

REACH_SECONDS = 5.0           # for the cluster's address to accept a connection
CONNECT_SECONDS = 60.0        # to join the cluster and hear back from one of its workers (a busy
                              # head starts a client server per driver, which can take a while)
CANCEL_SECONDS = 3.0          # for cancelled tasks to be killed and the client to disconnect
POLL_SECONDS = 0.5            # how often the driver looks for finished tasks and started cells
MAX_FILES_MB = int(os.environ.get("BUILDER_CLUSTER_MAX_MB", "200"))
ADDRESS_HINT = "Give `--cluster ray://HOST:PORT` (the head's client port, 10001 by default) or `--cluster auto`."
VERSION_HINT = ("A post gives the same bytes on the cluster only where it runs this machine's Ray, Python "
                "(major.minor) and builder: install this project with `pip install .[cluster]` on the "
                "cluster's nodes (or in their image), or build from an environment with the cluster's versions.")


class RayBackend:
    """Runs each request as a Ray task (GPU posts: one GPU; others: front matter `cpus:`, default 1)."""

    def __init__(self, address: str, on_cell: Callable[[Post, CodeCell, str], None] | None = None):
        self.address, self.on_cell = address, on_cell     # on_cell(post, cell, worker host)
        self.pending: dict[Any, RunRequest] = {}
        self.files_ref = None
        self.ray = self.log = None
        # Connecting takes seconds: it overlaps whatever the build does before the first run.
        self.connection: list = []
        self.connecting = threading.Thread(target=self.connect, daemon=True)
        self.connecting.start()

    def connect(self) -> None:
        try:
            self.connection.append(connect(self.address))
        except BaseException as error:  # noqa: BLE001 - raised where the build waits for it
            self.connection.append(error)

    def connected(self):
        """The `ray` module once connected; a ConfigError (exit 2) when the cluster cannot be used."""
        self.connecting.join(2 * CONNECT_SECONDS + CANCEL_SECONDS)
        outcome = self.connection[0] if self.connection else ConfigError(
            f"no answer from the Ray cluster at {self.address}", "--cluster", ADDRESS_HINT)
        if isinstance(outcome, BaseException):
            raise outcome
        self.ray, self.log = outcome
        return self.ray

    def run(self, requests: Sequence[RunRequest], keep_going: bool) -> Iterator[RunOutcome]:
        """Submit in the given order (longest expected first); yield outcomes as tasks end."""
        if not requests:
            return
        resources = [task_resources(request) for request in requests]    # every problem before any task
        files = pack_site_files(requests[0].site_dir)
        ray = self.connected()
        self.files_ref = ray.put(files)
        feed = CellFeed(ray, self.log, self.on_cell) if self.on_cell else None
        reports_to = self.log if feed else None
        for request, needs in zip(requests, resources):
            task = REMOTE_RUNS[request.needs_gpu].options(**needs)
            self.pending[task.remote(request.post, request.options, self.files_ref, reports_to)] = request
        while self.pending:
            done, _ = ray.wait(list(self.pending), num_returns=1, timeout=POLL_SECONDS)
            if feed:          # before the ended posts leave `pending`: their last cells come first
                feed.deliver({r.post.path: r.post for r in self.pending.values()}, ended=bool(done))
            for ref in done:
                yield outcome_of(self.pending.pop(ref), ref, ray)

    def cancel(self) -> None:
        """Force-cancel the tasks still running (their workers are killed), end the cell log and
        disconnect, bounded."""
        connected = [c for c in self.connection if not isinstance(c, BaseException)]
        ray, log = (self.ray, self.log) if self.ray else (connected[0] if connected else (None, None))
        pending = list(self.pending)
        self.pending.clear()
        if ray is None:        # never connected, or still connecting: its thread is a daemon
            return
        self.ray = self.log = None

        def stop() -> None:
            for ref in pending:
                try:
                    ray.cancel(ref, force=True)
                except Exception:  # noqa: BLE001 - a task that just ended cannot be cancelled
                    pass
            leave(ray, log)

        ending = threading.Thread(target=stop, daemon=True)
        ending.start()
        ending.join(CANCEL_SECONDS)


def task_resources(request: RunRequest) -> dict:
    """A GPU post takes one GPU; any other post the CPUs its front matter asks for."""
    if request.needs_gpu:
        return {"num_gpus": 1, "num_cpus": 1}
    return {"num_cpus": post_cpus(request)}


def post_cpus(request: RunRequest) -> int:
    """Front matter `cpus:` (default 1): how many CPUs the post's task reserves on the cluster."""
    cpus = request.post.get("cpus", 1)
    if isinstance(cpus, bool) or not isinstance(cpus, int) or cpus < 1:
        raise ConfigError(f"`cpus: {cpus}` is not a whole number of CPUs (1 or more)", request.post.path,
                          "Write `cpus: 2` (or leave it out for 1) in the post's front matter.")
    return cpus


def outcome_of(request: RunRequest, ref, ray) -> RunOutcome:
    """The finished task as an outcome: its execution and host, or an error naming the post."""
    try:
        result, host = ray.get(ref)
    except Exception as error:  # noqa: BLE001 - Ray's failures (worker died twice, cancelled) name the post
        return RunOutcome(request, error=task_failure(request, error), where="cluster")
    if isinstance(result, BuildError):
        return RunOutcome(request, error=result, where=host)
    return RunOutcome(request, execution=result, where=host)


def task_failure(request: RunRequest, error: Exception) -> ExecutionError:
    kind = type(error).__name__
    reason = str(error).strip().splitlines()[0] if str(error).strip() else kind
    if "WorkerCrashed" in kind or "died" in reason.lower():
        return ExecutionError(f"the cluster worker running this post died, twice (it was retried once "
                              f"on another worker): {reason}", request.post.path,
                              "Look for the cause in the workers' logs (out of memory, a killed "
                              "process, a lost node); the post itself may crash its process.")
    return ExecutionError(f"the post could not be run on the cluster: {kind}: {reason}",
                          request.post.path, "Check the cluster's workers and their logs.")


def pack_site_files(site_dir: Path) -> bytes:
    """The files a post may read (the site's top-level entries as a scratch folder shows them), tarred."""
    limit, buffer = MAX_FILES_MB * 1024 * 1024, io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz", compresslevel=1) as archive:
        for entry in sorted(site_dir.iterdir()):
            if not entry.name.startswith(".") and entry.name not in SCRATCH_SKIP:
                archive.add(entry, arcname=entry.name, filter=normalized)
            if buffer.tell() > limit:
                break
    if buffer.tell() > limit:
        raise ConfigError(f"the site's files that posts may read are over {MAX_FILES_MB} MB, too many "
                          "to ship to the cluster", str(site_dir),
                          "Move large data out of the site folder (posts can download it), or raise "
                          "BUILDER_CLUSTER_MAX_MB.")
    return buffer.getvalue()


def normalized(info: tarfile.TarInfo) -> tarfile.TarInfo:
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def remote_run_body(post, options, files: bytes, log=None) -> tuple[Execution | BuildError, str]:
    """On a worker: unpack the site's files, run the post as locally (telling `log` each cell it
    starts), return what it produced."""
    host = socket.gethostname()
    reports = CellReports(log, host)
    with tempfile.TemporaryDirectory(prefix="builder-site-") as folder:
        with tarfile.open(fileobj=io.BytesIO(files), mode="r:gz") as archive:
            archive.extractall(folder, filter="data")
        try:
            return execute_post(post, Path(folder), options, Progress(on_cell=reports.started)), host
        except BuildError as error:      # an application error: returned, so that Ray never retries it
            return error, host
        finally:
            reports.flush()


REMOTE_RUNS: dict = {}    # needs a GPU -> Ray remote function, made on first connect (Ray imported then)
REMOTE_LOG: list = []     # the CellLog actor class, made on first connect


def connect(address: str) -> tuple[Any, Any]:
    """Connect to the cluster (bounded), start the build's cell log there and check that it runs
    this machine's versions; `ray` and the log, or a ConfigError."""
    reachable(address)
    try:
        import ray
    except ImportError:
        raise ConfigError("`--cluster` needs Ray, which is not installed", address,
                          "Install it with `pip install .[cluster]` (or requirements-cluster.txt).") from None
    init_bounded(ray, address)
    if not REMOTE_RUNS:
        # Every post's code runs in a kernel process of its own, started by the task. A GPU post's
        # task also gets a fresh worker (max_calls=1, Ray's default for GPU tasks: the GPU memory
        # is freed with the process); a CPU post's worker is reused, which saves starting Ray and
        # importing the executor per post. A post whose worker dies is retried once, on a new
        # worker; an error in the post's code is returned, not raised, so it is never retried.
        for gpu, calls in ((True, 1), (False, 0)):
            REMOTE_RUNS[gpu] = ray.remote(max_calls=calls, max_retries=1, retry_exceptions=False)(remote_run_body)
        REMOTE_LOG.append(ray.remote(num_cpus=0, max_restarts=0)(CellLog))
    log = REMOTE_LOG[0].remote()
    check_versions(ray, log, address)
    return ray, log


def leave(ray, log) -> None:
    """End the build's cell log and disconnect."""
    try:
        ray.kill(log, no_restart=True)
    except Exception:  # noqa: BLE001 - already gone with its node: disconnecting is what matters
        pass
    ray.shutdown()


def reachable(address: str) -> None:
    """Fail fast, with the address, when nothing listens there."""
    if address == "auto":
        return
    if not address.startswith("ray://") or ":" not in address[6:]:
        raise ConfigError(f"`{address}` is not a Ray cluster address", "--cluster", ADDRESS_HINT)
    host, _, port = address[6:].rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=REACH_SECONDS).close()
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot reach the Ray cluster at {address}: {error}", "--cluster",
                          "Start it (`ray start --head`) or check the address; " + ADDRESS_HINT) from None


def init_bounded(ray, address: str) -> None:
    """ray.init on a helper thread, so that a cluster that never answers costs CONNECT_SECONDS."""
    outcome: list = []

    def init() -> None:
        for attempt in (1, 2):    # a busy head can fail to start its client server once
            try:
                if ray.is_initialized():     # an earlier build of this process (serve, tests) left it
                    ray.shutdown()
                ray.init(address=address, logging_level="ERROR", log_to_driver=False)
                outcome.append(None)
                return
            except Exception as error:  # noqa: BLE001 - version mismatch, refused: told with the address
                if attempt == 2 or "version" in str(error).lower():
                    outcome.append(error)
                    return

    thread = threading.Thread(target=init, daemon=True)
    thread.start()
    thread.join(CONNECT_SECONDS)
    failure = outcome[0] if outcome else f"no answer within {CONNECT_SECONDS:.0f} s"
    if failure is not None:
        raise ray_version_error(address, str(failure)) or ConfigError(
            f"cannot connect to the Ray cluster at {address}: {failure}", "--cluster",
            f"The cluster must run this machine's Ray ({ray.__version__}) and Python; " + ADDRESS_HINT)


RAY_MISMATCH = re.compile(r"Ray: (\S+)\s+Python: (\S+)")    # Ray's own message: the cluster's, then ours


def ray_version_error(address: str, failure: str) -> ConfigError | None:
    """Ray's own refusal to connect (its version or Python's differs) in this backend's words."""
    found = RAY_MISMATCH.findall(failure)
    if "mismatch" not in failure.lower() or len(found) != 2:
        return None
    (ray_there, python_there), (ray_here, python_here) = found
    return version_error(address, {"Ray": ray_there, "Python": python_there},
                         {"Ray": ray_here, "Python": python_here})


def check_versions(ray, log, address: str) -> None:
    """Ask the build's cell log, the first process on the cluster, which versions the workers run."""
    started = time.monotonic()
    try:
        theirs = ray.get(log.versions.remote(), timeout=CONNECT_SECONDS)
    except Exception as error:  # noqa: BLE001 - no worker could start: say so before anything runs
        leave(ray, log)
        raise ConfigError(f"the Ray cluster at {address} could not start a process in "
                          f"{time.monotonic() - started:.0f} s: {type(error).__name__}", "--cluster",
                          "Check that its workers have this project installed (`pip install .[cluster]`).") from None
    error = version_error(address, theirs, versions_here())
    if error is not None:
        leave(ray, log)
        raise error


def version_error(address: str, theirs: dict[str, str], mine: dict[str, str]) -> ConfigError | None:
    """The versions that differ, the cluster's and this machine's (Python by major.minor, as Ray asks)."""
    def same(name: str) -> bool:
        there, here = theirs.get(name, "?"), mine[name]
        return there.split(".")[:2] == here.split(".")[:2] if name == "Python" else there == here

    differ = [name for name in mine if not same(name)]
    if not differ:
        return None
    there = ", ".join(f"{name} {theirs.get(name, '?')}" for name in differ)
    here = ", ".join(f"{name} {mine[name]}" for name in differ)
    return ConfigError(f"the Ray cluster at {address} runs {there}; this machine runs {here}",
                       "--cluster", VERSION_HINT)
