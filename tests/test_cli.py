"""The command line: exit codes, new -> build, check, import, publish."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from builder.commands.cli import main
from conftest import REPO, SEED_POST, write

SEED = SEED_POST


def test_bad_usage_and_missing_site_exit_2(tmp_path, capsys):
    assert main(["build", "--no-such-flag"]) == 2
    assert main(["build", "--source", str(tmp_path)]) == 2
    assert f"error: {tmp_path}: {tmp_path} has no posts/ folder" in capsys.readouterr().err


def test_bad_config_exits_2_naming_the_key(tmp_path, capsys):
    write(tmp_path / "posts/2020-01-01-a.md", "Hello.\n")
    write(tmp_path / "_config.yml", "paginate: ten\n")
    assert main(["build", "--source", str(tmp_path)]) == 2
    assert "_config.yml: `paginate` must be a whole number, not 'ten'" in capsys.readouterr().err


def test_new_then_build_without_executing(tmp_path, capsys):
    (tmp_path / "posts").mkdir()
    assert main(["new", "My First Model", "--source", str(tmp_path)]) == 0
    created = capsys.readouterr().out.strip()
    assert created.startswith("posts/") and created.endswith("-my-first-model.md")
    assert main(["new", "My First Model", "--source", str(tmp_path)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["build", "--source", str(tmp_path), "--no-execute"]) == 0
    home = (tmp_path / "_site/index.html").read_text(encoding="utf-8")
    assert "My First Model" in home


def test_check_lists_every_problem_without_executing(tmp_path, capsys):
    write(tmp_path / "posts/2020-01-01-bad-yaml.md", "---\ntitle: [unclosed\n---\nText.\n")
    write(tmp_path / "posts/2020-01-02-bad-tag.md", "---\ntitle: Tag\n---\n\n{% gist 1 %}\n")
    write(tmp_path / "posts/2020-01-03-bad-type.md", "---\ntags: 5\n---\n```python\nraise SystemExit\n```\n")
    assert main(["check", "--source", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "posts/2020-01-01-bad-yaml.md:2: invalid YAML in the front matter" in err
    assert "posts/2020-01-03-bad-type.md:2: front matter `tags` must be a list such as [pytorch, regression], not 5" in err


def test_check_keeps_no_build_cache_for_its_throwaway_site(tmp_path):
    write(tmp_path / "posts/2020-01-01-a.md", "---\ntitle: A\n---\nText.\n")
    for _ in range(2):
        assert main(["check", "--source", str(tmp_path)]) == 0
    left = {path.name for path in (tmp_path / ".build-cache").iterdir()}
    assert left <= {"templates"}        # compiled templates, shared by every output folder


def test_bad_math_is_a_source_error_at_its_line(tmp_path, capsys):
    write(tmp_path / "posts/2020-01-01-math.md", "---\ntitle: M\n---\nFine $x$.\n\nBroken $\\frac{$ here.\n")
    assert main(["build", "--source", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert 'posts/2020-01-01-math.md:6: cannot convert the TeX "\\frac{" to MathML' in err


def test_check_reports_unknown_liquid_tags_and_broken_links(tmp_path, capsys):
    write(tmp_path / "posts/2020-01-02-bad-tag.md", "---\ntitle: Tag\n---\n\n{% gist 1 %}\n")
    write(tmp_path / "posts/2020-01-03-link.md", "---\ntitle: Link\n---\n\n![missing](/assets/none.png)\n")
    assert main(["check", "--source", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "posts/2020-01-02-bad-tag.md:5: unsupported Liquid tag `{% gist %}`" in err
    assert "posts/2020-01-03-link.md:5: the image /assets/none.png does not exist" in err
    assert "check: 2 problem(s)" in err


def test_check_reports_broken_links_in_templates(tmp_path, capsys):
    write(tmp_path / "posts/2020-01-03-link.md", "---\ntitle: Link\n---\n\n[elsewhere](/no/such/page.html)\n")
    assert main(["check", "--source", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "_site/2020/01/03/link.html: broken link '/no/such/page.html'" in err


def test_import_seed_post_lists_changes(tmp_path, capsys):
    (tmp_path / "posts").mkdir()
    assert main(["import", str(SEED), "--source", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "created posts/2017-08-11-pytorch-linear-regression.md" in out
    assert "removed 50 lines of pasted output after cell 5" in out


def test_publish_pushes_the_site_to_a_local_bare_repository(tmp_path, capsys):
    site = tmp_path / "site"
    write(site / "posts/2020-01-01-a.md", "---\ntitle: Published\n---\nHello.\n")
    write(site / "_config.yml", "title: T\ncname: docs.example.org\n")
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    assert main(["build", "--source", str(site)]) == 0
    assert main(["publish", "--source", str(site), "--remote", str(remote)]) == 0
    listing = subprocess.run(["git", "--git-dir", str(remote), "ls-tree", "-r", "--name-only", "gh-pages"],
                             capture_output=True, text=True, check=True).stdout.split()
    assert {"index.html", ".nojekyll", "feed.xml", "CNAME", "2020/01/01/a.html"} <= set(listing)
    write(site / "posts/2020-01-01-a.md", "---\ntitle: Published again\n---\nHello.\n")
    assert main(["build", "--source", str(site)]) == 0
    assert main(["publish", "--source", str(site), "--remote", str(remote)]) == 0
    count = subprocess.run(["git", "--git-dir", str(remote), "rev-list", "--count", "gh-pages"],
                           capture_output=True, text=True, check=True).stdout.strip()
    assert count == "2"


def test_builds_a_bare_posts_folder_from_any_working_directory(tmp_path):
    write(tmp_path / "blog/posts/2020-01-01-a.md", "Hello from a bare folder.\n")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = subprocess.run([sys.executable, "-m", "builder", "build", "--source", "../blog", "--dest", "out"],
                            cwd=elsewhere, capture_output=True, text=True, env={"PYTHONPATH": str(REPO)})
    assert result.returncode == 0, result.stderr
    assert "built 17 files (17 rendered)" in result.stderr   # with search/index.html and assets/js/search.js
    assert "Hello from a bare folder." in (elsewhere / "out/2020/01/01/a.html").read_text(encoding="utf-8")
    assert (elsewhere / "out/assets/css/main.css").read_bytes() == (REPO / "assets/css/main.css").read_bytes()
    assert sorted(p.name for p in (tmp_path / "blog").iterdir()) == [".build-cache", "posts"]
