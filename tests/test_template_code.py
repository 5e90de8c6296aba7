"""Compiled templates kept between builds: reused when nothing they depend on changed, never
stale when the template, the baseurl folded into them, or the file itself changed."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import jinja2
import pytest

from builder.render.template_code import CompiledTemplates


class CountingEnvironment(jinja2.Environment):
    compiled = 0

    def compile(self, *args, **kwargs):
        CountingEnvironment.compiled += 1
        return super().compile(*args, **kwargs)


def environment(templates: Path, cache: Path, base: str) -> jinja2.Environment:
    env = CountingEnvironment(loader=jinja2.FileSystemLoader(str(templates)), bytecode_cache=CompiledTemplates(cache))
    env.filters["relative_url"] = lambda url: base + url
    return env


def render(templates: Path, cache: Path, base: str = "/blog") -> str:
    return environment(templates, cache, base).get_template("page.html").render(title="Hi")


@pytest.fixture
def templates(tmp_path) -> Path:
    folder = tmp_path / "templates"
    folder.mkdir()
    (folder / "page.html").write_text('<a href="{{ "/about/" | relative_url }}">{{ title }}</a>', encoding="utf-8")
    return folder


def test_a_second_build_loads_the_code_instead_of_compiling(templates, tmp_path):
    cache = tmp_path / "cache"
    CountingEnvironment.compiled = 0
    assert render(templates, cache) == '<a href="/blog/about/">Hi</a>'
    assert CountingEnvironment.compiled == 1 and len(list(cache.iterdir())) == 1
    assert render(templates, cache) == '<a href="/blog/about/">Hi</a>'
    assert CountingEnvironment.compiled == 1


def test_another_baseurl_is_not_served_code_with_the_old_one_folded_in(templates, tmp_path):
    cache = tmp_path / "cache"
    assert render(templates, cache, "/blog") == '<a href="/blog/about/">Hi</a>'
    assert render(templates, cache, "/docs") == '<a href="/docs/about/">Hi</a>'
    assert render(templates, cache, "/blog") == '<a href="/blog/about/">Hi</a>'


def test_an_edited_template_is_compiled_again(templates, tmp_path):
    cache = tmp_path / "cache"
    render(templates, cache)
    (templates / "page.html").write_text("<p>{{ title }}!</p>", encoding="utf-8")
    assert render(templates, cache) == "<p>Hi!</p>"


@pytest.mark.parametrize("damage", [b"", b"not jinja code", None])
def test_a_damaged_or_unwritable_cache_only_costs_a_compile(templates, tmp_path, damage):
    cache = tmp_path / "cache"
    render(templates, cache)
    [code] = cache.iterdir()
    if damage is None:                      # the cache folder is a file: nothing can be written
        code.unlink()
        cache.rmdir()
        cache.write_text("in the way", encoding="utf-8")
    else:
        code.write_bytes(code.read_bytes()[:40] + damage)
    CountingEnvironment.compiled = 0
    assert render(templates, cache) == '<a href="/blog/about/">Hi</a>'
    assert CountingEnvironment.compiled == 1


def test_the_themes_code_is_found_again_by_the_next_build_process(tmp_path):
    """The key of the theme's code is the same in another process: Jinja's async variants of
    filters hold functions, whose repr is an address that differs from one process to the next."""
    (tmp_path / "_config.yml").write_text("title: T\nbaseurl: /blog\n", encoding="utf-8")
    script = ("import sys; from pathlib import Path; from builder.core.config import load_config; "
              "from builder.render.templates import make_environment; "
              "from builder.render.template_code import folding_inputs; "
              "site = Path(sys.argv[1]); print(folding_inputs(make_environment(site, load_config(site))))")
    keys = [subprocess.run([sys.executable, "-c", script, str(tmp_path)], capture_output=True, text=True,
                           check=True, timeout=60).stdout for _ in range(2)]
    assert keys[0] == keys[1] and "/blog" in keys[0] and " at 0x" not in keys[0]
