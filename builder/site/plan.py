"""The plan: for every post, its outputs at hand (cached), a run with its reasons, or why it failed.

Deciding reads freeze records and nothing else; it starts no kernel and writes no file. Runs are
ordered longest recorded run first (builder.site.schedule); with `--shard K/N` only this shard's
runs are kept.
"""
from __future__ import annotations

import os
import shutil
import warnings
from dataclasses import dataclass
from pathlib import Path

from builder.core.config import SiteConfig
from builder.core.errors import BuildError, ExecutionError, FreezeError
from builder.core.model import ExecutedPost, Post
from builder.execute.backend import RunRequest
from builder.execute.executor import ExecutionOptions
from builder.execute.figure_formats import post_fig_format
from builder.freeze.records import (UnreadableRecord, executed_from_record, load_record,
                                    load_record_if_readable, record_path, stale_reasons)
from builder.site.options import BuildOptions
from builder.site.schedule import fill_unknown, longest_first, partition, recorded_seconds


@dataclass(frozen=True)
class PostRun:
    """A post that must run, with what its backend needs (options, reasons, expected seconds)."""

    request: RunRequest

    @property
    def post(self) -> Post:
        return self.request.post


@dataclass(frozen=True)
class PostFailure:
    post: Post
    error: BuildError


@dataclass(frozen=True)
class Plan:
    """Every post of the build in exactly one of: cached, runs (longest first), failed, elsewhere."""

    cached: tuple[ExecutedPost, ...] = ()
    runs: tuple[PostRun, ...] = ()
    failed: tuple[PostFailure, ...] = ()
    elsewhere: tuple[PostRun, ...] = ()       # stale, but another shard's to run


@dataclass(frozen=True)
class Decision:
    """One post's plan: outputs at hand, or reasons to run it (a failure is raised instead)."""

    executed: ExecutedPost | None = None
    reasons: tuple[str, ...] = ()


def plan_posts(posts: list[Post], config: SiteConfig, options: BuildOptions) -> Plan:
    """Decide every post (stopping at the first failure unless --keep-going); order and shard the runs."""
    cached, pending, failed = [], [], []
    for post in posts:
        try:
            decision = decide(post, config, options)
        except BuildError as error:
            failed.append(PostFailure(post, error))
            if not options.keep_going:
                break
            continue
        if decision.reasons:
            pending.append((post, decision.reasons))
        else:
            cached.append(decision.executed)
    mine, elsewhere = shard_runs(order_runs(pending, config, options), options)
    stranded = [run for run in mine if options.shard and run.request.needs_gpu and not gpu_available()]
    failed += [PostFailure(run.post, no_gpu_on_shard(run.post, options)) for run in stranded]
    mine = [run for run in mine if run not in stranded]
    return Plan(tuple(cached), tuple(mine), tuple(failed), tuple(elsewhere))


def order_runs(pending: list[tuple[Post, tuple[str, ...]]], config: SiteConfig,
               options: BuildOptions) -> list[PostRun]:
    """The runs, longest recorded run first; a post never run expects the median of the known ones."""
    seconds = fill_unknown([recorded_seconds(load_record_if_readable(options.source, post)) for post, _ in pending])
    runs = [PostRun(RunRequest(post, execution_options(post, config), options.source, reasons, expected))
            for (post, reasons), expected in zip(pending, seconds)]
    return longest_first(runs, seconds, [run.post.path for run in runs])


def shard_runs(runs: list[PostRun], options: BuildOptions) -> tuple[list[PostRun], list[PostRun]]:
    """This shard's runs (all of them without --shard) and the other shards'."""
    if options.shard is None:
        return runs, []
    names = [run.post.path for run in runs]
    shards = partition(names, [run.request.expected_seconds for run in runs],
                       [run.request.needs_gpu for run in runs], options.shard)
    mine = set(shards[options.shard.index - 1])
    return [run for run in runs if run.post.path in mine], [run for run in runs if run.post.path not in mine]


def no_gpu_on_shard(post: Post, options: BuildOptions) -> ExecutionError:
    return ExecutionError(f"the post needs a GPU (`device: cuda`) and shard {options.shard} has none",
                          post.path, "Name the shards that have a GPU with `--gpu-shards` "
                          "(or BUILDER_GPU_SHARDS), e.g. `--gpu-shards 1`.")


def decide(post: Post, config: SiteConfig, options: BuildOptions) -> Decision:
    """Whether the post's outputs are at hand or why it must run; raises what makes it fail."""
    if not runs_code(post):
        return Decision(ExecutedPost(post, {}, {}, from_cache=True))
    try:
        record = load_record(options.source, post)
    except UnreadableRecord as unreadable:   # run the post again where it can run
        can_run = options.execute and not options.frozen and not needs_missing_gpu(post)
        if not can_run:
            raise
        return Decision(reasons=(f"record unreadable: {unreadable.reason}",))
    if not options.execute:
        return Decision(executed_from_record(post, record) if record else ExecutedPost(post, {}, {}, from_cache=True))
    return decide_executing(post, record, execution_options(post, config), options)


def decide_executing(post: Post, record: dict | None, exec_options: ExecutionOptions,
                     options: BuildOptions) -> Decision:
    """`decide` for a build that executes: frozen, missing GPU, forced, or stale."""
    if options.frozen:
        return Decision(frozen_result(post, record, exec_options, options))
    if needs_missing_gpu(post) and options.shard is None:    # a shard's GPU posts go to GPU shards
        return Decision(frozen_without_gpu(post, record, exec_options, options))
    if forced(post, options):
        return Decision(reasons=("forced",))
    reasons = stale_reasons(record, post, exec_options, options.source)
    return Decision(reasons=tuple(reasons)) if reasons else Decision(executed_from_record(post, record))


def frozen_result(post: Post, record: dict | None, exec_options: ExecutionOptions,
                  options: BuildOptions) -> ExecutedPost:
    """The post's frozen outputs for --frozen, or a FreezeError saying what to rebuild."""
    reasons = stale_reasons(record, post, exec_options, options.source, check_packages=False)
    if reasons:
        raise FreezeError(f"the frozen result is stale: {'; '.join(reasons)}",
                          f"{post.path} ({record_path(post)})",
                          "Run `make site` (or `python -m builder build`) with PyTorch installed, "
                          "then commit the _freeze/ and assets/img/ changes.")
    return executed_from_record(post, record)


def execution_options(post: Post, config: SiteConfig) -> ExecutionOptions:
    seed = post.get("seed", 0)
    return ExecutionOptions(seed=None if seed is False else int(seed),
                            timeout=int(post.get("timeout") or config.timeout),
                            post_timeout=int(config.post_timeout),
                            kernel=str(post.get("kernel") or "python3"),
                            fig_format=post_fig_format(post, config.fig_format))


def runs_code(post: Post) -> bool:
    """Whether the post has code to run (front matter `execute: false` shows it without running)."""
    return post.executes and post.get("execute", True) is not False


def needs_missing_gpu(post: Post) -> bool:
    return str(post.get("device") or "cpu").startswith("cuda") and not gpu_available()


def gpu_available() -> bool:
    """Whether an NVIDIA GPU is here, without importing torch (BUILDER_GPU=0/1 overrides)."""
    override = os.environ.get("BUILDER_GPU")
    if override in ("0", "1"):
        return override == "1"
    return Path("/dev/nvidiactl").exists() or shutil.which("nvidia-smi") is not None


def frozen_without_gpu(post: Post, record: dict | None, exec_options: ExecutionOptions,
                       options: BuildOptions) -> ExecutedPost:
    """A GPU post on a machine without one: its frozen outputs, with a warning, or an error."""
    if record is None:
        raise ExecutionError("the post needs a GPU (`device: cuda`), there is none here, and it has no "
                             "frozen result to show instead", f"{post.path}",
                             "Build it once on a machine with a GPU and commit _freeze/ and assets/img/.")
    reasons = stale_reasons(record, post, exec_options, options.source, check_packages=False)
    stale = f" (stale: {'; '.join(reasons)})" if reasons else ""
    warnings.warn(f"{post.path}: needs a GPU (`device: cuda`) and none is here; "
                  f"showing its frozen outputs{stale}")
    return executed_from_record(post, record)


def forced(post: Post, options: BuildOptions) -> bool:
    if options.force is True:
        return True
    return bool(options.force) and any(name in (post.path, Path(post.path).name, Path(post.path).stem)
                                       for name in options.force)
