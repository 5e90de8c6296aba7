"""The posts that must run, handed to an execution backend longest-first; their results stored here.

The backend only runs code (builder.execute.backend); this module writes what comes back (the
figures under assets/img/, the freeze record under _freeze/) the same way for every backend.
`Runs.close()` ends the stage on every path: after a failure that stops the build, an exception
or an interrupt the backend kills the runs still going, so a build never waits on a post it will
not use.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from builder.execute.backend import Backend, LocalBackend, RunOutcome, RunRequest
from builder.execute.executor import Progress
from builder.freeze.drift import compare_records
from builder.freeze.records import (dump_record, executed_from_record, load_record_if_readable,
                                    make_record, record_path)
from builder.core.model import ExecutedPost, Post
from builder.core.errors import BuildError
from builder.site.writer import remove_source_files, write_source_file

if TYPE_CHECKING:
    from builder.site.build import SiteBuild
    from builder.site.plan import PostRun


class Runs:
    """Starts the runs (longest expected first) on the build's backend; yields results as they finish."""

    def __init__(self, build: SiteBuild, to_run: list[PostRun]):
        self.build = build
        self.backend = make_backend(build) if to_run else None
        for run in to_run:
            build.reporter.running(run.post, list(run.request.reasons))
        self.outcomes = self.backend.run([run.request for run in to_run], build.options.keep_going) if to_run else iter(())

    def finished(self) -> Iterator[ExecutedPost]:
        """Each run's outputs as it ends; a failed run's last good outputs with --keep-going.

        Stops at the first failure without --keep-going (the caller then calls `close()`).
        """
        keep_going = self.build.options.keep_going
        for outcome in self.outcomes:
            post = outcome.request.post
            try:
                executed = stored(self.build, outcome)
            except BuildError as error:
                self.build.failed(post, error)
            else:
                yield executed
                continue
            if not keep_going:
                return
            fallback = last_good(post, self.build.options.source)
            if fallback is not None:
                yield fallback

    def close(self) -> None:
        """End the stage: the backend stops whatever still runs (bounded)."""
        if self.backend is not None:
            self.backend.cancel()
            self.backend = None


def make_backend(build: SiteBuild) -> Backend:
    """The backend this build runs posts on: a Ray cluster's, or the local pool."""
    address = cluster_address(build)
    if address:       # imported here: a local build never imports Ray
        from builder.execute.ray_backend import RayBackend
        return RayBackend(address, on_cell=build.reporter.cell)
    reporter = build.reporter
    progress = Progress(on_cell=reporter.cell, on_output=reporter.output if build.options.verbose else None)
    return LocalBackend(build.options.jobs, build.warm, progress)


def cluster_address(build: SiteBuild) -> str | None:
    """The Ray cluster the build's posts run on (`--cluster`, else `cluster:` in _config.yml), or None."""
    return build.options.cluster or build.config.cluster


def last_good(post: Post, source: Path) -> ExecutedPost | None:
    record = load_record_if_readable(source, post)
    return executed_from_record(post, record) if record else None


def stored(build: SiteBuild, outcome: RunOutcome) -> ExecutedPost:
    """The run's outputs once stored; its error, or the one storing met (disk full), is raised."""
    if outcome.error is not None:
        raise outcome.error
    return store_run(build, outcome)


def store_run(build: SiteBuild, outcome: RunOutcome) -> ExecutedPost:
    """Write a run's figures and freeze record, note drift, and return the post's outputs."""
    request, run, source = outcome.request, outcome.execution, build.options.source
    post = request.post
    previous = load_record_if_readable(source, post) if "forced" in request.reasons else None
    folder = f"assets/img/{post.slug}"
    for path, data in sorted(run.figures.items()):
        write_source_file(source, path, data, folder)
    remove_source_files(source, folder, set(run.figures))
    record = make_record(post, request.options, run, source)
    write_source_file(source, record_path(post), dump_record(record), "_freeze")
    build.reporter.executed(post, run.seconds, outcome.where)
    for line in compare_records(previous, record) if previous else ():
        build.reporter.note(f"drift   {post.path}: {line}")
    return executed_from_record(post, record, from_cache=False)

