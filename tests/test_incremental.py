"""Incremental builds: an unchanged input costs a stat, and the result always equals a clean build."""
from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest

from conftest import REPO, run_build, tree_bytes, write

WORDS = "tensor gradient loss epoch model layer weight bias batch optimizer dataset".split()


def make_site(site: Path, count: int, rng: random.Random) -> None:
    write(site / "_config.yml", "title: Incremental\nurl: https://example.org\nbaseurl: /blog\npaginate: 3\n")
    for number in range(count):
        write_post(site, number, rng)
    shutil.copytree(REPO / "templates", site / "templates")


def write_post(site: Path, number: int, rng: random.Random, title: str | None = None) -> None:
    day = 1 + number % 28
    tags = rng.sample(WORDS, 2)
    prose = " ".join(rng.choice(WORDS) for _ in range(40))
    write(site / f"posts/2021-03-{day:02d}-post-{number}.md",
          f"---\ntitle: \"{title or f'Post {number}'}\"\ntags: [{', '.join(tags)}]\n---\n"
          f"{prose}\n\n## Section\n\nMath $w_{number}$.\n\n```python\nprint({number})\n```\n")


def edit_prose(site, rng, posts):
    path = rng.choice(posts)
    path.write_text(path.read_text(encoding="utf-8") + "\nOne more line.\n", encoding="utf-8")


def edit_title(site, rng, posts):
    path = rng.choice(posts)
    text = path.read_text(encoding="utf-8").replace('title: "', 'title: "Renamed ', 1)
    path.write_text(text, encoding="utf-8")


def add_post(site, rng, posts):
    write_post(site, 100 + len(posts), rng)


def delete_post(site, rng, posts):
    rng.choice(posts).unlink()


def edit_template(site, rng, posts):
    layout = site / "templates/layouts/single.html"
    layout.write_text(layout.read_text(encoding="utf-8").replace("<article", "<article data-edit=\"1\"", 1),
                      encoding="utf-8")


def edit_include(site, rng, posts):
    footer = site / "templates/includes/footer.html"
    footer.write_text(footer.read_text(encoding="utf-8") + "<!-- edited -->\n", encoding="utf-8")


def edit_config(site, rng, posts):
    config = site / "_config.yml"
    config.write_text(config.read_text(encoding="utf-8").replace("paginate: 3", "paginate: 4"), encoding="utf-8")


EDITS = [edit_prose, edit_title, add_post, delete_post, edit_template, edit_include, edit_config]


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_incremental_build_equals_a_clean_build_after_random_edits(tmp_path, seed):
    rng = random.Random(seed)
    site = tmp_path / "site"
    make_site(site, 12, rng)
    assert run_build(site, execute=False).result.exit_code == 0
    for step in range(6):
        edit = rng.choice(EDITS)
        edit(site, rng, sorted((site / "posts").glob("*.md")))
        incremental = run_build(site, execute=False)
        clean = run_build(site, dest=tmp_path / f"clean-{step}", execute=False)
        assert incremental.result.exit_code == clean.result.exit_code == 0
        assert tree_bytes(site / "_site") == tree_bytes(tmp_path / f"clean-{step}"), (seed, step, edit.__name__)


def rendered(built) -> int:
    return int(built.log.split(" rendered)")[0].rsplit("(", 1)[1])


def test_nothing_changed_renders_and_writes_nothing(tmp_path):
    site = tmp_path / "site"
    make_site(site, 6, random.Random(0))
    run_build(site, execute=False)
    stats = {p: p.stat().st_mtime_ns for p in (site / "_site").rglob("*") if p.is_file()}
    again = run_build(site, execute=False)
    assert rendered(again) == 0
    assert {p: p.stat().st_mtime_ns for p in (site / "_site").rglob("*") if p.is_file()} == stats


def test_prose_edit_renders_only_that_page(tmp_path):
    site = tmp_path / "site"
    make_site(site, 6, random.Random(0))
    run_build(site, execute=False)
    edit_prose(site, random.Random(0), sorted((site / "posts").glob("*.md")))
    assert rendered(run_build(site, execute=False)) == 1


def test_title_edit_renders_the_page_its_neighbours_and_the_listings(tmp_path):
    site = tmp_path / "site"
    make_site(site, 6, random.Random(0))
    first = run_build(site, execute=False)
    listings = rendered(first) - 6 - len(list((site / "_site/assets").rglob("*.*")))
    path = sorted((site / "posts").glob("*.md"))[2]
    path.write_text(path.read_text(encoding="utf-8").replace('title: "', 'title: "New ', 1), encoding="utf-8")
    assert rendered(run_build(site, execute=False)) == 3 + listings


def test_template_edit_renders_the_pages_that_use_it(tmp_path):
    site = tmp_path / "site"
    make_site(site, 6, random.Random(0))
    run_build(site, execute=False)
    cell = site / "templates/includes/cell/output-error.html"
    cell.write_text(cell.read_text(encoding="utf-8") + "\n", encoding="utf-8")
    assert rendered(run_build(site, execute=False)) == 6        # post pages only, not listings


def test_an_output_file_changed_by_hand_is_rendered_again(tmp_path):
    site = tmp_path / "site"
    make_site(site, 3, random.Random(0))
    run_build(site, execute=False)
    page = next((site / "_site/2021").rglob("*.html"))
    original = page.read_bytes()
    page.write_bytes(b"tampered")
    run_build(site, execute=False)
    assert page.read_bytes() == original


def test_rendering_on_several_processes_gives_the_same_bytes_and_reports_errors(tmp_path):
    site = tmp_path / "site"
    make_site(site, 100, random.Random(5))      # enough pages for the worker pool
    write(site / "posts/2021-04-01-broken.md", "---\ntitle: Broken\n---\n\n{% include nosuch %}\n")
    parallel = run_build(site, jobs=2, execute=False, keep_going=True)
    serial = run_build(site, dest=tmp_path / "serial", jobs=1, execute=False, keep_going=True)
    assert [str(f) for f in parallel.result.failures] == [str(f) for f in serial.result.failures]
    assert str(parallel.result.failures[0]).startswith("posts/2021-04-01-broken.md:5: unknown include `nosuch`")
    assert tree_bytes(site / "_site") == tree_bytes(tmp_path / "serial")


def test_a_template_included_since_the_last_build_is_followed(tmp_path):
    site = tmp_path / "site"
    make_site(site, 6, random.Random(0))
    run_build(site, execute=False)
    extra = site / "templates/includes/extra.html"
    write(extra, "<p>first extra</p>\n")
    layout = site / "templates/layouts/single.html"
    layout.write_text(layout.read_text(encoding="utf-8").replace(
        "<article", '{% include "includes/extra.html" %}<article', 1), encoding="utf-8")
    run_build(site, execute=False)
    write(extra, "<p>second extra</p>\n")
    assert rendered(run_build(site, execute=False)) >= 6
    page = next((site / "_site/2021").rglob("*.html")).read_text(encoding="utf-8")
    assert "second extra" in page and "first extra" not in page


def test_sources_read_with_a_helper_process_equal_those_read_alone(tmp_path, monkeypatch):
    from builder.site import sources as build
    from builder.core.config import load_config
    from builder.site.incremental import IncrementalState as BuildState
    site = tmp_path / "site"
    make_site(site, 8, random.Random(0))
    write(site / "posts/2021-03-30-zz-broken.md", "---\ntitle: [unclosed\n---\nText.\n")   # in the helper's half
    config = load_config(site)
    alone_state, helped_state = BuildState(), BuildState()
    alone = build.read_posts(site, config, BuildState(), alone_state, jobs=1)
    monkeypatch.setattr(build, "PARALLEL_READ_MIN", 2)
    helped = build.read_posts(site, config, BuildState(), helped_state, jobs=2)
    assert helped[0] == alone[0] and [str(e) for e in helped[1]] == [str(e) for e in alone[1]]
    assert len(alone[1]) == 1 and "zz-broken" in str(alone[1][0])
    assert helped_state.sources == alone_state.sources


HELPER_CHECK = """
import os
from builder.site.forked import map_with_helper
results = map_with_helper(lambda job: (job * job, os.getpid()), list(range(7)), minimum=4)
assert [square for square, _ in results] == [job * job for job in range(7)]
assert {pid for _, pid in results[:3]} == {os.getpid()}
assert os.getpid() not in {pid for _, pid in results[3:]}
assert {pid for _, pid in map_with_helper(lambda job: (job, os.getpid()), [1, 2, 3], minimum=4)} == {os.getpid()}
"""


def test_the_helper_process_does_the_second_half_in_order():
    # In a fresh interpreter: the helper is forked only from a single-threaded process, and this
    # one may still run threads of earlier tests (ZeroMQ's, for one).
    import os
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-c", HELPER_CHECK], capture_output=True, text=True, timeout=60,
                            env=dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1])))
    assert result.returncode == 0, result.stderr


def test_the_cache_belongs_to_the_code_of_every_stage():
    from builder.site.incremental import PACKAGE_DIR, code_files
    relative = {path.relative_to(PACKAGE_DIR).as_posix() for path in code_files()}
    assert {"render/page.py", "core/urls.py", "site/build.py", "__init__.py"} <= relative


def test_a_no_op_build_skips_the_sweep_but_files_added_by_hand_are_still_removed(tmp_path, monkeypatch):
    from builder.site.writer import Writer
    site = tmp_path / "site"
    make_site(site, 3, random.Random(0))
    for _ in range(2):      # the second build settles what the search index wrote after the first
        run_build(site, execute=False)
    sweeps = []
    sweep = Writer.sweep
    monkeypatch.setattr(Writer, "sweep", lambda self, wanted: sweeps.append(1) or sweep(self, wanted))
    run_build(site, execute=False)
    assert sweeps == []                 # nothing was added or removed since the last sweep
    output = site / "_site"
    page_folder = next(output.rglob("*.html")).parent
    strays = [output / "stray.html", page_folder / "stray.txt", output / "new/deeper/stray.css"]
    for stray in strays:
        write(stray, "not from the build")
    (output / "empty").mkdir()
    run_build(site, execute=False)
    assert sweeps == [1]
    assert not any(stray.exists() for stray in strays)
    assert not (output / "new").exists() and not (output / "empty").exists()


def test_an_edit_skips_the_sweep_and_a_stray_beside_its_page_is_still_removed(tmp_path, monkeypatch):
    from builder.site.writer import Writer
    site = tmp_path / "site"
    make_site(site, 3, random.Random(0))
    run_build(site, execute=False)          # search on: the index step changes folders after the sweep
    sweeps = []
    sweep = Writer.sweep
    monkeypatch.setattr(Writer, "sweep", lambda self, wanted: sweeps.append(1) or sweep(self, wanted))
    before = tree_bytes(site / "_site")
    post = site / "posts/2021-03-02-post-1.md"
    post.write_text(post.read_text(encoding="utf-8") + "\nOne more sentence.\n", encoding="utf-8")
    run_build(site, execute=False)
    after = tree_bytes(site / "_site")
    [page] = [path for path in after if path.endswith(".html") and "post-1" in path and after[path] != before.get(path)]
    assert any(path.startswith("pagefind/") and path not in before for path in after)   # re-indexed
    assert sweeps == []                     # only folders this build wrote into changed
    stray = site / "_site" / page
    write(stray.with_name("stray.txt"), "not from the build")
    run_build(site, execute=False)
    assert sweeps == [1] and not stray.with_name("stray.txt").exists()
    assert tree_bytes(site / "_site") == after


def test_the_loaded_state_is_hidden_from_the_collector_until_the_build_ends(tmp_path, monkeypatch):
    """Full garbage-collector passes would walk every object of the previous state again; serve
    builds again in the same process, so nothing stays frozen after a build, even a failed one."""
    import gc
    from builder.site import build
    site = tmp_path / "site"
    make_site(site, 3, random.Random(1))
    assert run_build(site, execute=False).result.exit_code == 0
    frozen_while_writing = []
    real_listings = build.write_listings

    def listings(*args):
        frozen_while_writing.append(gc.get_freeze_count())
        return real_listings(*args)

    monkeypatch.setattr(build, "write_listings", listings)
    before = gc.get_freeze_count()
    edit_title(site, random.Random(2), sorted((site / "posts").glob("*.md")))
    assert run_build(site, execute=False).result.exit_code == 0
    assert frozen_while_writing[0] > before + 1000 and gc.get_freeze_count() == before
    monkeypatch.setattr(build, "write_listings", lambda *args: 1 / 0)
    edit_title(site, random.Random(3), sorted((site / "posts").glob("*.md")))
    with pytest.raises(ZeroDivisionError):
        run_build(site, execute=False)
    assert gc.get_freeze_count() == before
