"""The warm kernels' process side: the launcher jupyter_client runs and the zygote it asks.

A *zygote* is a Python process started once per build (per set of heavy modules) that imports
ipykernel and the heavy modules the posts import (torch, numpy, matplotlib, ...) and then waits.
jupyter_client starts a post's kernel as usual, but its command is a tiny launcher (LAUNCHER)
that asks the zygote over a Unix socket to fork a fresh kernel bound to jupyter_client's
connection file, with the launcher's stdin/stdout/stderr, working directory and environment.
The launcher forwards signals to the kernel and exits with the kernel's exit status; when the
launcher is killed (jupyter_client kills its process group), the zygote kills the kernel.

The zygote never starts a thread before it forks (it checks), and forks the kernel before any
kernel machinery (ZMQ, IOLoop, history) is created. When a zygote cannot be used, the launcher
starts the normal kernel instead (`python -m ipykernel_launcher`).

This file is the zygote's program (`python zygote.py zygote SOCKET MODULE...`, started by
builder.execute.warm), so it imports nothing but the standard library at module level.
"""
from __future__ import annotations

import json
import os
import selectors
import signal
import socket
import sys
import threading

# Environment variables that modules read when imported (ipykernel: JPY_PARENT_PID), so a
# zygote serves only kernels whose environment agrees with its own on them.
ENV_AT_START = ("PYTHON", "MPLBACKEND", "MPLCONFIGDIR", "OMP_", "MKL_", "OPENBLAS_", "CUDA_",
                "LD_", "TORCH", "PYTORCH", "JPY_PARENT_PID", "NPY_", "NUMPY_")
# What an ipykernel imports while it starts, beyond ipykernel.kernelapp (measured: 0.05 s).
KERNEL_INIT_MODULES = ("ipykernel.debugger", "IPython.core.completerlib",
                       "IPython.extensions.storemagic", "IPython.core.debugger", "psutil")
FORWARDED = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT}
MESSAGE = 1 << 20      # largest request (argv, cwd, environment) a launcher may send



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

def serve(links: list[tuple[int, str, list[str]]]) -> None:
    """Import the kernel machinery and the first link's modules, then fork a kernel for each
    launcher at the first link's socket.

    `links` are (parent, socket, modules), parent an index of an earlier link whose modules this
    link's include, or -1 for the first: once a link's modules are imported, a fork of its zygote
    serves each link that extends it, importing only what it adds. A module common to several
    sets (torch, for `torch` and for `torch, torch._dynamo`) is so imported once.
    """
    del sys.path[0]               # this file's folder, as ipykernel_launcher drops its own
    listeners = []
    for _, path, _ in links:
        listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        listener.bind(path)
        listener.listen(64)       # launchers wait in the backlog while the imports run
        listeners.append(listener)
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))      # nothing forked yet
    grow(links, 0, listeners, dict(os.environ), frozenset())


def grow(links: list[tuple[int, str, list[str]]], link: int, listeners: list[socket.socket],
         started_with: dict[str, str], imported: frozenset[str]) -> None:
    """Be the zygote of `links[link]`, forking one for each link that extends it; never returns."""
    problem, added_modules = prepare(links[link][2])
    imported |= added_modules
    # What the imports set (torch._dynamo: TORCHINDUCTOR_CACHE_DIR), as a kernel that imported
    # them itself would have it; kernels are served by the environment the zygote started with.
    added = {name: value for name, value in os.environ.items() if name not in started_with}
    forked = []
    for child, (parent, _, _) in enumerate(links):
        if parent == link and problem is None:
            pid = os.fork()
            if pid == 0:
                try:
                    grow(links, child, listeners, started_with, imported)
                finally:
                    os._exit(1)   # never back into the parent's loop
            forked.append(pid)
    for index, other in enumerate(listeners):
        if index != link:         # served by a fork (or, where forking is unsafe, by nobody:
            other.close()         # kernels then start cold)
    Zygote(listeners[link], problem, imported, started_with, added, forked).run()
    os._exit(0)


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

    def __init__(self, listener: socket.socket, problem: str | None, imported: frozenset[str],
                 started_with: dict[str, str], added: dict[str, str], zygotes: list[int]):
        self.listener = listener
        self.problem = problem
        self.imported = imported
        self.env = {k: v for k, v in started_with.items() if k.startswith(ENV_AT_START)}
        self.added_env = added
        self.zygotes = zygotes              # its forks, serving the sets that extend its own
        self.kernels: dict[int, socket.socket | None] = dict.fromkeys(zygotes)   # pid -> launcher
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
                if pid in self.zygotes:
                    os.kill(pid, signal.SIGTERM)        # it stops its own kernels
                else:
                    os.killpg(pid, signal.SIGKILL)
            except OSError:
                pass

    def become_kernel(self, request: dict, fds: list[int], conn: socket.socket) -> None:
        """In the forked child: look like `python -m ipykernel_launcher ARGV`, run, never return."""
        code = 1
        try:
            self.leave_zygote(conn)
            adopt_launcher(request, fds)
            for name, value in self.added_env.items():
                os.environ.setdefault(name, value)
            code = run_kernel(request["argv"], self.imported)
        except SystemExit as error:
            code = error.code if isinstance(error.code, int) else (0 if error.code is None else 1)
        except BaseException:  # noqa: BLE001 - report, then leave with an error status
            import traceback
            traceback.print_exc()
        finally:
            flush_standard_streams()
            os._exit(code)

    def leave_zygote(self, conn: socket.socket) -> None:
        """In the forked child: drop the zygote's signal handlers, sockets and wakeup pipe."""
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


def adopt_launcher(request: dict, fds: list[int]) -> None:
    """Take the launcher's standard streams, working directory and environment."""
    for target, fd in enumerate(fds):
        os.dup2(fd, target)
        os.close(fd)
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(request["env"])


def flush_standard_streams() -> None:
    """Flush stdout and stderr before os._exit, which skips it; a broken stream is ignored."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # noqa: BLE001
            pass

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


def links_argv(links: list[tuple[int, str, list[str]]]) -> list[str]:
    """The command-line arguments that give `links` to this program: `PARENT SOCKET MODULE...`
    for each, separated by `+`."""
    parts: list[str] = []
    for parent, path, modules in links:
        parts += [*(["+"] if parts else []), str(parent), path, *modules]
    return parts


def links_of(argv: list[str]) -> list[tuple[int, str, list[str]]]:
    links, current = [], []
    for part in [*argv, "+"]:
        if part != "+":
            current.append(part)
            continue
        links.append((int(current[0]), current[1], current[2:]))
        current = []
    return links


if __name__ == "__main__" and sys.argv[1:2] == ["zygote"]:
    serve(links_of(sys.argv[2:]))
