"""Warm kernels, the build's side: start each post's kernel from a process that has already
imported the heavy part.

This module guesses which heavy modules the posts import (warm_modules, guess_codes) and keeps
the build's pool of zygotes (WarmPool): it starts one zygote per set of heavy modules and hands
out kernel managers whose kernel command is the launcher; the zygote and the launcher
themselves live in builder.execute.zygote. Every post still starts from a fresh interpreter
state: each kernel is a fresh fork of a zygote that has only imported modules; nothing a post
does reaches another post. When a zygote cannot be used, kernels start the usual way, so a
post never fails because of this module.
"""
from __future__ import annotations

import atexit
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Callable, Iterable

from builder.execute import zygote as zygote_program
from builder.execute.zygote import LAUNCHER, links_argv

# Modules safe to import before fork (they start no threads on import) and slow to import.
WARMABLE = ("numpy", "torch", "matplotlib", "matplotlib.pyplot", "pandas", "scipy", "torchvision")
IMPORT_TENTHS = {"torch": 15, "torch._dynamo": 14, "torchvision": 5, "pandas": 4, "matplotlib.pyplot": 3,
                 "scipy": 3, "matplotlib": 2, "numpy": 2}     # of a second, measured here
IMPORT_LINE = re.compile(r"^\s*(?:import\s+(?P<names>[\w., \t]+?)\s*(?:#.*)?$|"
                         r"from\s+(?P<package>[\w.]+)\s+import\s+(?P<imported>[\w, \t()]+))",
                         re.MULTILINE)


# What a heavy module imports only on a common first use, at a cost each kernel would pay again:
# torch imports its compiler stack (torch._dynamo, with sympy) when a post makes its first
# optimizer, 1.4 s. A zygote imports it too for the code that looks like it will (a post's
# kernel would have imported the same modules itself, so its package report is the same).
LAZY_IMPORTS = (("torch", "torch._dynamo", re.compile(
    r"\boptim\.[A-Z]\w*\s*\(|\btorch\.compile\s*\(|^\s*from\s+torch\.optim\s+import\s+\(?\s*[A-Z]", re.MULTILINE)),)


def warm_modules(code: str) -> list[str]:
    """The heavy modules the code imports that a zygote may import for it (and those LAZY_IMPORTS
    says it will import on first use), sorted."""
    found = set()
    for match in IMPORT_LINE.finditer(code):
        if match["names"] is not None:
            names = [part.split()[0] for part in match["names"].split(",") if part.strip()]
        else:
            imported = match["imported"].replace("(", " ").replace(")", " ")
            names = [match["package"]] + [f"{match['package']}.{part.split()[0]}"
                                          for part in imported.split(",") if part.strip()]
        found.update(warmable_prefixes(names))
    found.update(lazy for needs, lazy, use in LAZY_IMPORTS if needs in found and use.search(code))
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
    forks only from a zygote whose modules are exactly those warm_modules gives for its post."""
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
            if modules not in self.zygotes and not self.spawn_tree([(-1, modules)]):
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

    def start_all(self, sets: Iterable[tuple[str, ...]]) -> None:
        """Start the zygotes for these sets of modules at once: a set that extends another is
        served by a fork of that one's zygote, which imported the common part once."""
        with self.lock:
            if not self.closed and not self.problem:
                for tree in trees(sorted(set(sets) - set(self.zygotes), key=lambda mods: (len(mods), mods))):
                    if not self.spawn_tree(tree):
                        return

    def spawn_tree(self, tree: list[tuple[int, tuple[str, ...]]]) -> bool:
        """One zygote process for a tree of (parent index, module set), with the lock held;
        False, noting why, when it cannot be started."""
        links, names = [], []
        for parent, modules in tree:
            names.append(f"builder-warm-{len(self.zygotes) + len(names)}")
            links.append((parent, str(self.kernel_spec(names[-1])), list(modules)))
        try:
            with open(self.folder / f"{names[0]}.log", "wb") as log:
                zygote = subprocess.Popen(
                    [sys.executable, zygote_program.__file__, "zygote", *links_argv(links)], env=self.env,
                    stdin=subprocess.PIPE, stdout=log, stderr=log, cwd=self.folder, start_new_session=True)
        except OSError as error:      # kernels then start the usual way
            self.problem = f"a zygote could not be started ({error})"
            return False
        for (_, modules), name in zip(tree, names):
            self.zygotes[modules] = (name, zygote)
        return True

    def kernel_spec(self, name: str) -> Path:
        """The kernel spec whose launcher asks the zygote at the returned socket for a kernel."""
        socket_path = self.folder / f"{name}.sock"
        spec = self.folder / "kernels" / name
        spec.mkdir(parents=True)
        argv = [sys.executable, "-I", "-S", "-c", LAUNCHER, str(socket_path),
                "-f", "{connection_file}", "--HistoryManager.hist_file=:memory:"]
        (spec / "kernel.json").write_text(json.dumps(
            {"argv": argv, "display_name": "Python 3 (warm)", "language": "python",
             "interrupt_mode": "signal"}), encoding="utf-8")
        return socket_path

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
        """The pids of the zygote processes still running (not the zygotes they forked for larger sets)."""
        with self.lock:
            return sorted({zygote.pid for _, zygote in self.zygotes.values() if zygote.poll() is None})

    def lost_a_zygote(self) -> bool:
        """Whether a zygote has exited, so that this pool would start every kernel cold from now
        on (a long-lived pool, as `serve` keeps, is then replaced by a fresh one)."""
        with self.lock:
            return any(zygote.poll() is not None for _, zygote in self.zygotes.values())

    def close(self) -> None:
        """Stop the zygotes (and any kernel still running) and remove their folder."""
        with self.lock:
            self.closed = True
            zygotes = list({id(zygote): zygote for _, zygote in self.zygotes.values()
                            if zygote.returncode is None}.values())
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
    sets = sorted({tuple(warm_modules(code)) for code in codes})
    pool.start_all(sets)
    for modules in sets:
        pool.start(modules)           # waits (bounded) until each listens
    return pool


def trees(sets: list[tuple[str, ...]]) -> list[list[tuple[int, tuple[str, ...]]]]:
    """The sets (smallest first) as trees of (parent index in the tree, set): a set's parent is
    the set before it that it extends whose imports take longest (then the largest); a set that
    extends none starts a tree."""
    found: list[list[tuple[int, tuple[str, ...]]]] = []
    for modules in sets:
        parents = [(import_cost(tree[index][1]), len(tree[index][1]), -number, index)
                   for number, tree in enumerate(found)
                   for index in range(len(tree)) if set(tree[index][1]) < set(modules)]
        if parents:
            *_, number, index = max(parents)
            found[-number].append((index, modules))
        else:
            found.append([(-1, modules)])
    return found


def import_cost(modules: tuple[str, ...]) -> int:
    """Roughly how long importing the modules takes (tenths of a second on a 2-core machine)."""
    return sum(IMPORT_TENTHS.get(name, 1) for name in modules)
