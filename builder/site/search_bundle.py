"""Pagefind bundles for the shards a build must redo: made aside, then swapped in together.

Pagefind indexes a shard's pages where they are in the site, picked by a glob that lists them
(in a config file: a command line could be too long), into a hidden staging folder; only when
every shard has its bundle are they renamed into `pagefind/<shard>/`, with signals held back
meanwhile: a failure or Ctrl-C before that leaves every previous bundle in place. Up to one
Pagefind process runs per core; each is killed and reaped if the build stops.
"""
from __future__ import annotations

import importlib
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from builder.core.interrupts import deferred

BUNDLE = "pagefind"
STAGING = ".pagefind-staging"
TIMEOUT_SECONDS = 600
POLL_SECONDS = 0.01
GLOB_SPECIAL = re.compile(r"([*?\[\]{}<>,():$])")   # Pagefind's (wax) glob syntax; `\` is no page's
# A formula's TeX source (MathML's <annotation>) would show in excerpts beside the formula itself.
NOT_INDEXED = ["annotation"]
# Pagefind's ready-made search interfaces: the search page uses its API and none of these.
UNUSED = ("pagefind-ui.js", "pagefind-ui.css", "pagefind-component-ui.js", "pagefind-component-ui.css",
          "pagefind-modular-ui.js", "pagefind-modular-ui.css", "pagefind-highlight.js")


class SearchIndexError(Exception):
    """Pagefind is missing or failed; the site is written, its previous index stays."""


@dataclass(frozen=True)
class ShardJob:
    """One shard to index: its name, and its folder (Pagefind's config and log, the new bundle)."""

    name: str
    folder: Path

    @property
    def output(self) -> Path:
        return self.folder / "bundle"

    @property
    def log(self) -> Path:
        return self.folder / "pagefind.log"


class ShardBuild:
    """Pagefind started on the shards' pages, up to one process per core, at once: the caller
    goes on (storing the build's state) while they run. `finish()` runs the rest and puts the
    bundles in place; `abandon()` kills and reaps what runs and leaves the previous bundles."""

    def __init__(self, root: Path, shards: dict[str, list[str]], language: str):
        self.root, self.staging = root, root / STAGING
        self.running: dict[ShardJob, subprocess.Popen] = {}
        self.workers = os.cpu_count() or 1
        self.deadline = time.monotonic() + TIMEOUT_SECONDS
        shutil.rmtree(self.staging, ignore_errors=True)
        try:
            self.jobs = [shard_job(root, self.staging / name, name, paths, language)
                         for name, paths in sorted(shards.items())]
            self.pending = list(self.jobs)
            self.executable = pagefind_executable()
            self.start_more()
        except BaseException as error:
            self.abandon()
            if isinstance(error, OSError):
                raise SearchIndexError(f"{error.strerror or error} ({BUNDLE}/ kept as it was)") from None
            raise

    def start_more(self) -> None:
        while self.pending and len(self.running) < max(1, self.workers):
            job = self.pending.pop(0)
            self.running[job] = start_pagefind(self.executable, job)

    def finish(self) -> None:
        """Every shard indexed and its bundle in place; raises SearchIndexError on any failure."""
        try:
            while self.running:
                job = next_finished(self.running, self.deadline)
                if self.running.pop(job).returncode != 0:
                    raise SearchIndexError(f"Pagefind failed on shard {job.name}: {failure(job)}")
                self.start_more()
            with deferred():                  # Ctrl-C waits: the bundles go in together
                swap_in(self.root / BUNDLE, self.jobs, self.staging / "retired")
        except OSError as error:
            raise SearchIndexError(f"{error.strerror or error} ({BUNDLE}/ kept as it was)") from None
        finally:
            self.abandon()

    def abandon(self) -> None:
        for process in self.running.values():
            process.kill()
            process.wait()
        self.running.clear()
        shutil.rmtree(self.staging, ignore_errors=True)


def shard_job(root: Path, folder: Path, name: str, paths: list[str], language: str) -> ShardJob:
    """The shard's folder with Pagefind's config: index `paths` of `root` into `folder/bundle`."""
    job = ShardJob(name, folder)
    folder.mkdir(parents=True)
    config = {"site": str(root), "glob": "{" + ",".join(GLOB_SPECIAL.sub(r"\\\1", path) for path in paths) + "}",
              "output_path": str(job.output), "force_language": language.lower(),
              "exclude_selectors": NOT_INDEXED}
    (folder / "pagefind.json").write_text(json.dumps(config), encoding="utf-8")
    return job


def next_finished(running: dict[ShardJob, subprocess.Popen], deadline: float) -> ShardJob:
    """A job whose process has ended, waiting for one at most until `deadline`."""
    while time.monotonic() < deadline:
        for job, process in running.items():
            if process.poll() is not None:
                return job
        time.sleep(POLL_SECONDS)
    raise SearchIndexError(f"Pagefind took longer than {TIMEOUT_SECONDS} s")


def failure(job: ShardJob) -> str:
    """The end of what Pagefind said on the way out."""
    try:
        return job.log.read_text(encoding="utf-8", errors="replace").strip()[-500:]
    except OSError as error:
        return str(error)


def pagefind_executable() -> Path:
    """PAGEFIND_BINARY_PATH, or the binary of the `pagefind[extended]` wheel (or the plain one),
    found as `pagefind.service` finds it, without importing that module's asyncio."""
    if os.environ.get("PAGEFIND_BINARY_PATH"):
        return Path(os.environ["PAGEFIND_BINARY_PATH"])
    for wheel in ("pagefind_bin_extended", "pagefind_bin"):
        try:
            return Path(importlib.import_module(wheel).get_executable())
        except ImportError:
            continue
    on_path = shutil.which("pagefind_extended") or shutil.which("pagefind")
    if on_path is None:
        raise SearchIndexError("Pagefind is not installed: run `pip install -r requirements.txt`")
    return Path(on_path)


def start_pagefind(executable: Path, job: ShardJob) -> subprocess.Popen:
    """Pagefind run in `job.folder` (where it finds its config), its messages going to `job.log`."""
    with open(job.log, "wb") as log:      # a file, not a pipe: nothing can fill up and stall it
        return subprocess.Popen([str(executable), "--silent"], cwd=job.folder, stdin=subprocess.DEVNULL,
                                stdout=log, stderr=subprocess.STDOUT)


def swap_in(bundle: Path, jobs: list[ShardJob], retired: Path) -> None:
    """Rename each job's bundle to `bundle/<name>`; a previous one is moved aside, then removed."""
    bundle.mkdir(exist_ok=True)
    retired.mkdir(exist_ok=True)
    for job in jobs:
        for name in UNUSED:
            (job.output / name).unlink(missing_ok=True)
        target, aside = bundle / job.name, retired / job.name
        if target.exists():
            os.replace(target, aside)
        try:
            os.replace(job.output, target)
        except OSError:
            if aside.exists():
                os.replace(aside, target)
            raise
    shutil.rmtree(retired, ignore_errors=True)
