"""The plan: every post cached, to run (longest recorded run first) or failed; no kernel starts here."""
from __future__ import annotations

import json

from conftest import write

from builder.core.config import load_config
from builder.core.errors import ExecutionError
from builder.execute import backend
from builder.execute.backend import LocalBackend, RunRequest
from builder.execute.executor import ExecutionOptions
from builder.freeze.records import SCHEMA
from builder.site.options import BuildOptions
from builder.site.plan import plan_posts
from builder.site.schedule import fill_unknown, longest_first, recorded_seconds
from builder.source.reader import read_post


def test_unknown_durations_expect_the_median_of_the_known_ones():
    assert fill_unknown([10.0, None, 2.0, 4.0, None]) == [10.0, 4.0, 2.0, 4.0, 4.0]
    assert fill_unknown([None, None]) == [30.0, 30.0]


def test_longest_first_breaks_ties_by_name():
    names = ["a", "b", "c", "d"]
    assert longest_first(names, [1.0, 12.0, 3.0, 12.0], names) == ["b", "d", "c", "a"]


def test_recorded_seconds_reads_the_provenance_and_ignores_what_is_not_a_duration():
    assert recorded_seconds({"provenance": {"run_seconds": 2.5}}) == 2.5
    assert recorded_seconds({"provenance": {"run_seconds": "soon"}}) is None
    assert recorded_seconds({"provenance": {}}) is None
    assert recorded_seconds(None) is None


def post_site(tmp_path, seconds: dict[str, float | None]):
    """A site whose posts each have one cell; a stale record holds the given run time (None: no record)."""
    site = tmp_path / "site"
    for name, run_seconds in seconds.items():
        write(site / f"posts/2024-01-01-{name}.md", f"---\ntitle: {name}\n---\n```python\nprint('{name}')\n```\n")
        if run_seconds is not None:
            record = {"schema": SCHEMA, "post": f"posts/2024-01-01-{name}.md",
                      "key": {"cells": ["an older cell"], "options": ExecutionOptions().as_key(), "files": {},
                              "packages": {}},
                      "provenance": {"run_seconds": run_seconds}, "cells": []}
            write(site / f"_freeze/posts/2024-01-01-{name}.json", json.dumps(record))
    return site


def plan_of(site, **options):
    config = load_config(site)
    posts = [read_post(site, path, config) for path in sorted((site / "posts").glob("*.md"))]
    return plan_posts(posts, config, BuildOptions(source=site, **options))


def test_the_plan_runs_stale_posts_longest_recorded_first(tmp_path):
    site = post_site(tmp_path, {"short": 1.0, "long": 12.0, "new": None, "middle": 3.0})
    plan = plan_of(site)
    assert [run.post.path for run in plan.runs] == [
        "posts/2024-01-01-long.md", "posts/2024-01-01-middle.md", "posts/2024-01-01-new.md",
        "posts/2024-01-01-short.md"]
    assert [run.request.expected_seconds for run in plan.runs] == [12.0, 3.0, 3.0, 1.0]
    assert plan.cached == () and plan.failed == () and plan.elsewhere == ()
    assert plan.runs[3].request.reasons == ("cell 1 changed",)


def test_the_plan_without_execution_has_nothing_to_run(tmp_path):
    site = post_site(tmp_path, {"a": None})
    plan = plan_of(site, execute=False)
    assert plan.runs == () and [executed.post.path for executed in plan.cached] == ["posts/2024-01-01-a.md"]


def test_a_failure_is_in_the_plan_not_raised(tmp_path):
    site = post_site(tmp_path, {"a": 1.0, "b": None})
    plan = plan_of(site, frozen=True, keep_going=True)
    assert [failure.post.path for failure in plan.failed] == ["posts/2024-01-01-a.md", "posts/2024-01-01-b.md"]
    assert "the frozen result is stale" in str(plan.failed[0].error)


def test_the_local_backend_starts_runs_in_the_order_given(tmp_path, monkeypatch):
    started = []

    def fake_execute(post, site_dir, options, progress, warm):
        started.append(post.path)
        if post.path.endswith("b.md"):
            raise ExecutionError("the cell failed", post.path)
        return f"ran {post.path}"

    monkeypatch.setattr(backend, "execute_post", fake_execute)
    site = post_site(tmp_path, {"a": None, "b": None, "c": None})
    posts = {p.path: p for p in (read_post(site, path, load_config(site)) for path in (site / "posts").glob("*.md"))}
    order = ["posts/2024-01-01-c.md", "posts/2024-01-01-a.md", "posts/2024-01-01-b.md"]
    local = LocalBackend(jobs=1)
    try:
        outcomes = list(local.run([RunRequest(posts[path], ExecutionOptions(), site) for path in order], True))
    finally:
        local.cancel()
    assert started == order
    assert sorted((o.request.post.path, o.execution, str(o.error) if o.error else None) for o in outcomes) == [
        ("posts/2024-01-01-a.md", "ran posts/2024-01-01-a.md", None),
        ("posts/2024-01-01-b.md", None, "posts/2024-01-01-b.md: the cell failed"),
        ("posts/2024-01-01-c.md", "ran posts/2024-01-01-c.md", None)]


def test_a_shard_keeps_its_share_and_leaves_the_rest_to_the_others(tmp_path):
    from builder.site.schedule import parse_shard
    site = post_site(tmp_path, {"a": 5.0, "b": 4.0, "c": 3.0, "d": 2.0})
    first, second = (plan_of(site, shard=parse_shard(f"{k}/2")) for k in (1, 2))
    assert [run.post.path for run in first.runs] == ["posts/2024-01-01-a.md", "posts/2024-01-01-d.md"]
    assert [run.post.path for run in second.runs] == ["posts/2024-01-01-b.md", "posts/2024-01-01-c.md"]
    assert {run.post.path for run in first.elsewhere} == {run.post.path for run in second.runs}
    assert first.failed == () == second.failed


def test_a_gpu_post_on_a_shard_without_a_gpu_fails_with_a_hint(tmp_path, monkeypatch):
    from builder.site.schedule import parse_shard
    monkeypatch.setenv("BUILDER_GPU", "0")
    site = post_site(tmp_path, {"a": 5.0})
    text = (site / "posts/2024-01-01-a.md").read_text().replace("title: a", "title: a\ndevice: cuda")
    (site / "posts/2024-01-01-a.md").write_text(text)
    plan = plan_of(site, shard=parse_shard("1/2", "1"))
    assert plan.runs == () and [failure.post.path for failure in plan.failed] == ["posts/2024-01-01-a.md"]
    assert str(plan.failed[0].error) == (
        "posts/2024-01-01-a.md: the post needs a GPU (`device: cuda`) and shard 1/2 has none\n"
        "  Hint: Name the shards that have a GPU with `--gpu-shards` (or BUILDER_GPU_SHARDS), e.g. `--gpu-shards 1`.")
    assert plan_of(site, shard=parse_shard("2/2", "1")).elsewhere[0].post.path == "posts/2024-01-01-a.md"
