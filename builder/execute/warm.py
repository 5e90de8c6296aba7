"""Warm kernels: start each post's kernel from a process that has already imported the heavy part.

A *zygote* is a Python process started once per build (per set of heavy modules) that imports
ipykernel and the heavy modules the posts import (torch, numpy, matplotlib, ...) and then waits.
jupyter_client starts a post's kernel as usual, but its command is a tiny launcher that asks the
zygote over a Unix socket to fork a fresh kernel bound to jupyter_client's connection file, with
the launcher's stdin/stdout/stderr, working directory and environment. The launcher forwards
signals to the kernel and exits with the kernel's exit status; when the launcher is killed
(jupyter_client kills its process group), the zygote kills the kernel. Every post still starts
from a fresh interpreter state: each kernel is a fresh fork of a zygote that has only imported
modules; nothing a post does reaches another post.

The zygote never starts a thread before it forks (it checks), and forks the kernel before any
kernel machinery (ZMQ, IOLoop, history) is created. When a zygote cannot be used, the launcher
starts the normal kernel instead (`python -m ipykernel_launcher`), so a post never fails
because of this module.

This file is also the zygote's program (`python warm.py zygote SOCKET MODULE...`), so it imports
nothing but the standard library at module level.
"""
from __future__ import annotations

import atexit
import json
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Iterable

# Modules safe to import before fork (they start no threads on import) and slow to import.
WARMABLE = ("numpy", "torch", "matplotlib", "matplotlib.pyplot", "pandas", "scipy", "torchvision")
IMPORT_LINE = re.compile(r"^\s*(?:import\s+(?P<names>[\w., \t]+?)\s*(?:#.*)?$|"
                         r"from\s+(?P<package>[\w.]+)\s+import\s+(?P<imported>[\w, \t()]+))",
                         re.MULTILINE)
# Environment variables that modules read when imported (ipykernel: JPY_PARENT_PID), so a
# zygote serves only kernels whose environment agrees with its own on them.
ENV_AT_START = ("PYTHON", "MPLBACKEND", "MPLCONFIGDIR", "OMP_", "MKL_", "OPENBLAS_", "CUDA_",
                "LD_", "TORCH", "PYTORCH", "JPY_PARENT_PID", "NPY_", "NUMPY_")
# What an ipykernel imports while it starts, beyond ipykernel.kernelapp (measured: 0.05 s).
KERNEL_INIT_MODULES = ("ipykernel.debugger", "IPython.core.completerlib",
                       "IPython.extensions.storemagic", "IPython.core.debugger", "psutil")
FORWARDED = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT}
MESSAGE = 1 << 20      # largest request (argv, cwd, environment) a launcher may send


def warm_modules(code: str) -> list[str]:
    """The heavy modules the code imports that a zygote may import for it, sorted."""
    found = set()
    for match in IMPORT_LINE.finditer(code):
        if match["names"] is not None:
            names = [part.split()[0] for part in match["names"].split(",") if part.strip()]
        else:
            imported = match["imported"].replace("(", " ").replace(")", " ")
            names = [match["package"]] + [f"{match['package']}.{part.split()[0]}"
                                          for part in imported.split(",") if part.strip()]
        found.update(warmable_prefixes(names))
    return sorted(found)


def warmable_prefixes(names: list[str]) -> set[str]:
    """Each name and its parent packages, kept when they are in WARMABLE."""
    found = set()
    for name in names:
        parts = name.split(".")
        found.update(".".join(parts[:i]) for i in range(1, len(parts) + 1))
    return found & set(WARMABLE)


NOT_EXECUTED = re.compile(r"---[ \t]*\n(?:(?!---).*\n)*?execute:[ \t]*false[ \t]*(?:#.*)?\n")   # front matter
FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})\s*python[^\n]*\n(.*?)^ {0,3}\1[ \t]*$", re.MULTILINE | re.DOTALL)


def guess_codes(site_dir: Path, only: Callable[[Path], bool] = lambda path: True) -> list[str]:
    """The python code of each post, read roughly (fences, notebook code cells), for starting
    the zygotes before the posts are read properly. A wrong guess costs only time: a kernel
    forks only from a zygote whose modules are exactly those its post imports."""
    codes = []
    for path in sorted((Path(site_dir) / "posts").glob("*")):
        if not only(path):
            continue
        try:
            text = path.read_text(encoding="utf-8")
            if path.suffix == ".ipynb":
                cells = json.loads(text).get("cells", [])
                codes.append("\n".join("".join(c.get("source", "")) for c in cells
                                       if c.get("cell_type") == "code"))
            elif path.suffix in (".md", ".markdown") and not NOT_EXECUTED.match(text):
                codes.append("\n".join(match[2] for match in FENCE.finditer(text)))
        except (OSError, ValueError, AttributeError):
            continue
    return [code for code in codes if code.strip()]


# --------------------------------------------------------------------------- the launcher
# Run by jupyter_client as the kernel command: `python -I -S -c LAUNCHER SOCKET -f CONNECTION ...`.
# Standard library only, no site: it starts in about 15 ms.
LAUNCHER = r'''
import json, os, signal, socket, sys
path, argv = sys.argv[1], sys.argv[2:]

def cold():
    os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", *argv])

pending, child = [], []
def forward(signum, frame):
    if child:
        try:
            os.killpg(child[0], signum)
        except OSError:
            pass
    else:
        pending.append(signum)
for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT,
               signal.SIGUSR1, signal.SIGUSR2):
    signal.signal(signum, forward)
try:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    conn.connect(path)
    request = {"argv": argv, "cwd": os.getcwd(), "env": dict(os.environ)}
    socket.send_fds(conn, [json.dumps(request).encode()], [0, 1, 2])
    reply = conn.recv(4096).decode().split(" ", 1)
except OSError:
    reply = ["refused"]
if reply[0] != "pid":
    cold()
child.append(int(reply[1]))
for signum in pending:
    forward(signum, None)
while True:
    try:
        message = conn.recv(4096).decode()
        break
    except InterruptedError:
        continue
code = int(message.split()[1]) if message.startswith("exit ") else 1
if code < 0:                     # end as the kernel did (SIGKILL cannot be handled: no reset)
    if -code not in (signal.SIGKILL, signal.SIGSTOP):
        signal.signal(-code, signal.SIG_DFL)
    os.kill(os.getpid(), -code)
sys.exit(code)
'''


# --------------------------------------------------------------------------- the zygote

def serve(path: str, modules: list[str]) -> None:
    """Import the kernel machinery and `modules`, then fork a kernel for each launcher."""
    del sys.path[0]               # this file's folder, as ipykernel_launcher drops its own
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    listener.bind(path)
    listener.listen(64)           # launchers wait in the backlog while the imports run
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))      # nothing forked yet
    problem, imported = prepare(modules)
    Zygote(listener, problem, imported).run()


def prepare(modules: list[str]) -> tuple[str | None, frozenset[str]]:
    """Import what every kernel needs, then the heavy modules; why forking is unsafe, if it is.

    Returns the problem (None when forking is safe) and the modules the heavy imports added:
    a cold kernel would have imported those for the post, so the package report counts them.
    """
    import importlib
    try:
        importlib.import_module("ipykernel.kernelapp")
    except Exception as error:  # noqa: BLE001 - any failure means: start kernels the usual way
        return f"ipykernel cannot be imported ({error!r})", frozenset()
    for name in KERNEL_INIT_MODULES:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - only a head start; the kernel imports what it needs
            pass
    before = set(sys.modules)
    for name in modules:
        try:
            importlib.import_module(name)
        except Exception as error:  # noqa: BLE001
            return f"{name} cannot be imported ({error!r})", frozenset()
    threads = threads_after_fork()
    if threads != 1:
        return f"importing {', '.join(modules)} left {threads - 1} thread(s) running", frozenset()
    return None, frozenset(set(sys.modules) - before)


def threads_after_fork() -> int:
    """Threads still running once a fork's prepare handlers have run.

    OpenBLAS (numpy) starts its thread pool on import, but stops it before each fork and the
    child starts its own on first use; a thread that survives a trial fork would be copied
    nowhere while its locks stay taken in the child, so the zygote must not fork then.
    """
    if thread_count() == 1:
        return 1
    pid = os.fork()
    if pid == 0:
        os._exit(0)
    os.waitpid(pid, 0)
    return thread_count()


def thread_count() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


class Zygote:
    """The zygote's loop: accept launchers, fork kernels, report their exit, kill orphans."""

    def __init__(self, listener: socket.socket, problem: str | None, imported: frozenset[str]):
        self.listener = listener
        self.problem = problem
        self.imported = imported
        self.env = {k: v for k, v in os.environ.items() if k.startswith(ENV_AT_START)}
        self.kernels: dict[int, socket.socket] = {}     # pid -> its launcher's connection
        self.selector = selectors.DefaultSelector()
        self.wakeup_r, self.wakeup_w = os.pipe()
        os.set_blocking(self.wakeup_w, False)

    def run(self) -> None:
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGTERM, lambda *_: (self.stop(), os._exit(0)))
        signal.set_wakeup_fd(self.wakeup_w)
        self.selector.register(self.listener, selectors.EVENT_READ, "accept")
        self.selector.register(self.wakeup_r, selectors.EVENT_READ, "child")
        self.selector.register(sys.stdin, selectors.EVENT_READ, "parent")
        while True:
            for key, _ in self.selector.select():
                if key.data == "parent" and not os.read(sys.stdin.fileno(), 1024):
                    self.stop()                 # the build is over (or gone)
                    os._exit(0)
                if key.data == "accept":
                    self.accept()
                elif key.data == "child":
                    os.read(self.wakeup_r, 1024)
                    self.reap()
                elif isinstance(key.data, int):
                    self.launcher_gone(key.data, key.fileobj)

    def accept(self) -> None:
        conn, _ = self.listener.accept()
        try:
            message, fds, _, _ = socket.recv_fds(conn, MESSAGE, 3)
            request = json.loads(message)
        except (OSError, ValueError):
            conn.close()
            return
        reason = self.problem or self.refusal(request, fds)
        if reason:
            try:
                conn.send(f"refused {reason}".encode())
            except OSError:
                pass
            conn.close()
        else:
            signal.pthread_sigmask(signal.SIG_BLOCK, FORWARDED)    # until the child resets
            pid = os.fork()                                         # the zygote's handlers
            if pid == 0:
                self.become_kernel(request, fds, conn)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
            self.kernels[pid] = conn
            self.selector.register(conn, selectors.EVENT_READ, pid)
            try:
                conn.send(f"pid {pid}".encode())
            except OSError:                 # the launcher was killed meanwhile
                self.launcher_gone(pid, conn)
        for fd in fds:
            os.close(fd)

    def refusal(self, request: dict, fds: list[int]) -> str | None:
        if len(fds) != 3:
            return "the launcher sent no standard streams"
        env = {k: v for k, v in request["env"].items() if k.startswith(ENV_AT_START)}
        if env != self.env:
            return "the kernel's environment differs from the zygote's"
        return None

    def launcher_gone(self, pid: int, conn: socket.socket) -> None:
        """The launcher exited or was killed: its kernel must go too (as in a process group)."""
        self.selector.unregister(conn)
        conn.close()
        self.kernels[pid] = None
        try:
            os.killpg(pid, signal.SIGKILL)
        except OSError:
            pass

    def reap(self) -> None:
        while self.kernels:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            conn = self.kernels.pop(pid, None)
            if conn is not None:
                self.selector.unregister(conn)
                try:
                    conn.send(f"exit {os.waitstatus_to_exitcode(status)}".encode())
                except OSError:
                    pass
                conn.close()

    def stop(self) -> None:
        for pid in list(self.kernels):
            try:
                os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass

    def become_kernel(self, request: dict, fds: list[int], conn: socket.socket) -> None:
        """In the forked child: look like `python -m ipykernel_launcher ARGV`, run, never return."""
        code = 1
        try:
            os.setsid()                 # its own process group, killed as a whole
            signal.set_wakeup_fd(-1)
            for signum in (signal.SIGCHLD, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
                signal.signal(signum, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.default_int_handler)
            signal.pthread_sigmask(signal.SIG_UNBLOCK, FORWARDED)
            self.selector.close()
            for sock in (self.listener, conn, *filter(None, self.kernels.values())):
                sock.close()
            for fd in (self.wakeup_r, self.wakeup_w):
                os.close(fd)
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
                os.close(fd)
            os.chdir(request["cwd"])
            os.environ.clear()
            os.environ.update(request["env"])
            code = run_kernel(request["argv"], self.imported)
        except SystemExit as error:
            code = error.code if isinstance(error.code, int) else (0 if error.code is None else 1)
        except BaseException:  # noqa: BLE001 - report, then leave with an error status
            import traceback
            traceback.print_exc()
        finally:
            for stream in (sys.stdout, sys.stderr):
                try:
                    stream.flush()
                except Exception:  # noqa: BLE001
                    pass
            os._exit(code)


def run_kernel(argv: list[str], imported: frozenset[str]) -> int:
    """Start ipykernel as ipykernel_launcher would, with fresh random state."""
    import atexit
    import types
    from ipykernel import kernelapp
    launcher = os.path.join(os.path.dirname(os.path.dirname(kernelapp.__file__)),
                            "ipykernel_launcher.py")
    sys.argv = [launcher, *argv]
    reseed()
    marker = types.ModuleType("_builder_warm")
    marker.imported = imported      # what the zygote imported, for the package report
    sys.modules["_builder_warm"] = marker
    code = 0
    try:
        kernelapp.launch_new_instance()
    except SystemExit as error:
        code = error.code if isinstance(error.code, int) else 0
    atexit._run_exitfuncs()     # private: the pool starts no zygote where the patch is off
    return code


def reseed() -> None:
    """Draw fresh entropy where a fresh import would (`random` does this itself after fork)."""
    numpy_random = sys.modules.get("numpy.random")
    if numpy_random is not None:
        numpy_random.seed()


# --------------------------------------------------------------------------- the build's side

class WarmPool:
    """The zygotes of one build, one per set of warm modules; hands out kernel managers.

    Thread-safe: posts running in parallel ask for kernel managers at once.
    """

    def __init__(self, env: dict[str, str], log: Callable[[str], None] | None = None):
        self.env = dict(env, JPY_PARENT_PID=str(os.getpid()))   # as jupyter_client sets it
        self.log = log or (lambda text: None)
        self.folder = Path(tempfile.mkdtemp(prefix="builder-warm-"))
        self.zygotes: dict[tuple[str, ...], tuple[str, subprocess.Popen]] = {}
        self.lock = threading.Lock()
        self.problem: str | None = warm_kernels_off()    # then no zygote starts
        self.checked = False
        self.closed = False
        atexit.register(self.close)     # in case the build ends without closing the pool

    def __enter__(self) -> WarmPool:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def start(self, modules: tuple[str, ...]) -> str | None:
        """Start the zygote for `modules` (once); its kernel name, or None when it cannot serve."""
        with self.lock:
            if self.closed or self.problem:
                return None
            if modules not in self.zygotes:
                try:
                    self.zygotes[modules] = self.spawn(modules, f"builder-warm-{len(self.zygotes)}")
                except OSError as error:      # kernels then start the usual way
                    self.problem = f"a zygote could not be started ({error})"
                    return None
            name, zygote = self.zygotes[modules]
            self.wait_listening(name, zygote)
            if zygote.poll() is not None:
                self.problem = f"a zygote exited with status {zygote.returncode}"
                return None
            return name

    def wait_listening(self, name: str, zygote: subprocess.Popen, timeout: float = 5.0) -> None:
        """Wait (bounded) until a just-started zygote listens: a launcher that finds no socket
        starts its kernel cold, and a pool started just before its first kernel (a fresh pool in
        `serve`) would otherwise lose that race."""
        socket_path = self.folder / f"{name}.sock"
        deadline = time.monotonic() + timeout
        while not socket_path.exists() and zygote.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)

    def spawn(self, modules: tuple[str, ...], name: str) -> tuple[str, subprocess.Popen]:
        socket_path = self.folder / f"{name}.sock"
        spec = self.folder / "kernels" / name
        spec.mkdir(parents=True)
        argv = [sys.executable, "-I", "-S", "-c", LAUNCHER, str(socket_path),
                "-f", "{connection_file}", "--HistoryManager.hist_file=:memory:"]
        (spec / "kernel.json").write_text(json.dumps(
            {"argv": argv, "display_name": "Python 3 (warm)", "language": "python",
             "interrupt_mode": "signal"}), encoding="utf-8")
        with open(self.folder / f"{name}.log", "wb") as log:
            zygote = subprocess.Popen([sys.executable, __file__, "zygote", str(socket_path), *modules],
                                      env=self.env, stdin=subprocess.PIPE, stdout=log, stderr=log,
                                      cwd=self.folder, start_new_session=True)
        return name, zygote

    def kernel_manager(self, code: str, kernel: str, config):
        """A manager whose kernel forks from the zygote for the code's imports, or None."""
        if kernel != "python3" or not self.native_kernel_ok():
            return None
        name = self.start(tuple(warm_modules(code)))
        if name is None:
            self.note_problem()
            return None
        from jupyter_client import AsyncKernelManager
        from jupyter_client.kernelspec import KernelSpecManager
        specs = KernelSpecManager(kernel_dirs=[str(self.folder / "kernels")])
        return AsyncKernelManager(kernel_name=name, kernel_spec_manager=specs, config=config)

    def native_kernel_ok(self) -> bool:
        """Whether `python3` is this interpreter's ipykernel (checked once, after the zygotes
        started, so the check does not delay them)."""
        with self.lock:
            if not self.checked:
                self.checked = True
                self.problem = self.problem or native_kernel_problem()
        if self.problem:
            self.note_problem()
        return self.problem is None

    def note_problem(self) -> None:
        """Say once why kernels start the usual way."""
        with self.lock:
            if self.problem and not self.closed and self.log is not None:
                log, self.log = self.log, None
                log(f"warm kernels off ({self.problem}); starting each kernel the usual way")

    def zygote_pids(self) -> list[int]:
        """The pids of the zygotes still running."""
        with self.lock:
            return [zygote.pid for _, zygote in self.zygotes.values() if zygote.poll() is None]

    def lost_a_zygote(self) -> bool:
        """Whether a zygote has exited, so that this pool would start every kernel cold from now
        on (a long-lived pool, as `serve` keeps, is then replaced by a fresh one)."""
        with self.lock:
            return any(zygote.poll() is not None for _, zygote in self.zygotes.values())

    def close(self) -> None:
        """Stop the zygotes (and any kernel still running) and remove their folder."""
        with self.lock:
            self.closed = True
            zygotes = [zygote for _, zygote in self.zygotes.values() if zygote.returncode is None]
        for zygote in zygotes:
            zygote.terminate()          # it kills the kernels it forked, then exits at once
            zygote.stdin.close()        # (EOF on stdin does the same if this process dies)
        for zygote in zygotes:
            try:
                zygote.wait(timeout=2)
            except subprocess.TimeoutExpired:
                zygote.kill()
                zygote.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def warm_kernels_off() -> str | None:
    """Why this build starts no warm kernel (BUILDER_WARM=0, or a patch they need is off), or None."""
    if os.environ.get("BUILDER_WARM", "1") == "0":
        return "BUILDER_WARM=0"
    from builder.core.patches import enabled
    if not enabled("atexit-run-handlers"):     # each forked kernel leaves through it (run_kernel)
        return "the atexit-run-handlers patch is off"
    return None


def native_kernel_problem() -> str | None:
    """Why the `python3` kernel is not this interpreter's ipykernel, or None when it is."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager
        argv = KernelSpecManager().get_kernel_spec("python3").argv
    except Exception as error:  # noqa: BLE001
        return f"no python3 kernel ({error})"
    python = argv[0] if argv else ""
    same = python in {"python", "python3"} or (os.path.exists(python) and
                                                os.path.samefile(python, sys.executable))
    if not same or argv[1:3] != ["-m", "ipykernel_launcher"]:
        return "the python3 kernel is not this environment's ipykernel"
    return None


def start_warm_pool(codes: Iterable[str], env: dict[str, str] | None = None,
                    log: Callable[[str], None] | None = None) -> WarmPool:
    """Start a zygote for each set of heavy modules the codes import; they import meanwhile."""
    if env is None:
        from builder.execute.kernel_probe import kernel_env
        env = kernel_env()
    pool = WarmPool(env, log)
    for modules in sorted({tuple(warm_modules(code)) for code in codes}):
        pool.start(modules)
    return pool


if __name__ == "__main__" and sys.argv[1:2] == ["zygote"]:
    serve(sys.argv[2], sys.argv[3:])
