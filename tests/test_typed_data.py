"""Typed data declared once: front matter, cell options, settings checked all at once, pages in templates."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from builder.core.config import load_config, validate_config
from builder.core.errors import ConfigError
from builder.core.model import CellResult, ExecutedPost, Output, Post
from builder.core.schema import CellOptions, FrontMatter
from builder.freeze.records import (MIGRATIONS, SCHEMA, FreezeRecord, RecordKey, UnreadableRecord, dump_record,
                                    load_record)
from builder.render.page import RenderContext, render_post
from builder.render.templates import make_environment
from builder.source.reader import read_post
from conftest import REPO, write


def test_front_matter_reads_declared_defaults_and_keeps_what_was_written():
    front = FrontMatter.from_given({"title": "T", "seed": None, "my_key": [1, 2]})
    assert (front.title, front.toc, front.kernel, front.read_time, front.seed) == ("T", False, "python3", True, None)
    assert front.my_key == [1, 2]                    # a site's own key, as written
    assert front.get("seed", 0) is None and front.get("timeout", 600) == 600   # written empty != not written
    assert dict(front) == {"title": "T", "seed": None, "my_key": [1, 2]}
    with pytest.raises(AttributeError):
        front.not_written


def test_cell_options_use_their_source_names_and_python_attributes():
    options = CellOptions.from_given({"fig-cap": "Loss", "echo": False})
    assert (options.fig_cap, options.echo, options.eval, options.tags) == ("Loss", False, True, ())
    assert list(CellOptions.by_name()) == ["label", "fig-cap", "fig-alt", "fig-format", "eval", "echo", "output", "tags",
                                           "chart", "collapse"]


def test_a_post_built_from_a_plain_mapping_gets_typed_front_matter():
    post = Post("posts/p.md", "p", None, "P", {"toc": True}, (), "/p/", 1)
    assert isinstance(post.front_matter, FrontMatter) and post.front_matter.toc is True


def test_every_configuration_problem_is_reported_together(tmp_path: Path):
    write(tmp_path / "_config.yml", """
        paginate: many
        comments:
          provider: giscus
          repo: ann/notes
        repository: https://github.com/ann/notes
        """)
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path)
    assert caught.value.exit_code == 2
    assert str(caught.value) == (
        "_config.yml: `paginate` must be a whole number, not 'many' on line 1 (Posts per page on the home page.); "
        "`comments.repo_id` is required for giscus; `comments.category` is required for giscus; "
        "`comments.category_id` is required for giscus; "
        "`repository` must be a GitHub owner/name such as octocat/blog, not 'https://github.com/ann/notes'\n"
        "  Hint: Fix the listed keys; see the README for each key's type. "
        "Fix `comments:`, or remove `provider:` to turn comments off. "
        "Write the repository as owner/name, e.g. `repository: octocat/blog`.")


def test_site_settings_are_typed_attributes_with_declared_defaults_and_keep_custom_keys():
    config = validate_config({"cite": True, "citation-style": "numeric", "github_username": "ann",
                              "author": {"name": "Ann"}, "timeout": None}, "_config.yml")
    assert (config.cite, config.citation_style, config.timeout, config.search) == (True, "numeric", 600, True)
    assert config.fig_format == "retina" and validate_config({"fig-format": "svg"}, "_config.yml").fig_format == "svg"
    assert config.author == {"name": "Ann", "bio": "", "avatar": ""}
    # Liquid's site.* sees every key by the name the file uses, declared or not
    assert config.values["citation-style"] == "numeric" and config.values["github_username"] == "ann"
    assert validate_config({}, "_config.yml").comments == {} and config.comments is not \
        validate_config({}, "_config.yml").comments


def test_bad_choices_and_a_flag_that_is_not_true_or_false_are_reported_together():
    with pytest.raises(ConfigError) as caught:
        validate_config({"cite": "yes", "citation-style": "apa", "fig-format": "jpeg"}, "_config.yml")
    assert str(caught.value) == (
        "_config.yml: `cite` must be true or false, not 'yes' "
        "(Show \"Cite this post\" and Google Scholar citation_* tags on every post.); "
        "`citation-style` 'apa' is not one of author-year, numeric; `fig-format` 'jpeg' is not one of retina, png, svg\n"
        "  Hint: Fix the listed keys; see the README for each key's type. "
        "Write `citation-style: author-year` or `citation-style: numeric`. "
        "Write `fig-format: retina` (the default), `fig-format: png` or `fig-format: svg`.")


def test_a_bad_repository_alone_stops_the_build_when_the_config_is_read(tmp_path: Path):
    with pytest.raises(ConfigError) as caught:
        validate_config({"repository": "octocat"}, "_config.yml")
    assert str(caught.value) == (
        "_config.yml: `repository` must be a GitHub owner/name such as octocat/blog, not 'octocat'\n"
        "  Hint: Write the repository as owner/name, e.g. `repository: octocat/blog`.")


def test_templates_read_declared_defaults_and_custom_keys_as_attributes(tmp_path: Path):
    site = tmp_path / "site"
    write(site / "templates/layouts/plain.html",
          "{{ page.title }}|{{ page.course }}|{{ page.toc_label }}|{{ page.read_time }}|{{ page.tags | join(',') }}"
          "|{{ page.missing is defined }}\n")
    config = validate_config({}, "_config.yml")
    source = write(site / "posts/2020-01-01-a.md", "---\ntitle: A\nlayout: plain\ncourse: Intro <1>\ntags: x y\n---\nText.\n")
    with pytest.warns(UserWarning) as warned:
        post = read_post(site, source, config)
    assert [str(w.message) for w in warned] == [
        "posts/2020-01-01-a.md:4: unknown front matter key `course` (not used by the theme; "
        "available to templates as page.course)"]
    context = RenderContext(make_environment(site, config), config, {})
    page = render_post(ExecutedPost(post, {}, {}, from_cache=True), context, {})
    assert page.content.decode() == "A|Intro &lt;1&gt;|None|True|x,y|False\n"


COMMITTED_RECORDS = ["tests/fixtures/golden-site/_freeze/posts/2020-04-01-a-tiny-fit.json",
                     "_freeze/posts/2017-08-11-pytorch-linear-regression.json"]


@pytest.mark.parametrize("relative", COMMITTED_RECORDS)
def test_committed_freeze_records_load_typed_and_dump_to_the_same_bytes(relative):
    data = (REPO / relative).read_bytes()
    record = FreezeRecord.from_json(json.loads(data))
    assert record.schema == SCHEMA and record.key.cells and record.results
    assert dump_record(record) == data


def test_a_record_of_an_older_schema_loads_through_its_migration(tmp_path: Path, monkeypatch):
    site = tmp_path / "site"
    post = read_post(site, write(site / "posts/2020-01-01-a.md", "Text.\n"), validate_config({}, "_config.yml"))
    current = FreezeRecord(post.path, RecordKey((), {}, {}, {}), {"seed": 0}, {1: CellResult(1, (Output("text", "4"),))})
    old = current.as_json() | {"schema": 0, "outputs_by_cell": current.as_json()["cells"]}
    del old["cells"]
    write(site / "_freeze/posts/2020-01-01-a.json", json.dumps(old))
    with pytest.raises(UnreadableRecord) as caught:
        load_record(site, post)
    assert caught.value.reason == "its format is 0, this builder reads format 1"
    monkeypatch.setitem(MIGRATIONS, 0, lambda r: {k: v for k, v in r.items() if k != "outputs_by_cell"}
                        | {"schema": 1, "cells": r["outputs_by_cell"]})
    assert load_record(site, post) == current
