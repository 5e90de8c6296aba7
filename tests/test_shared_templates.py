"""The test session's shared template cache (conftest.py) must not change what a build writes:
the suite's other tests would otherwise pass or fail on stale templates."""
from __future__ import annotations

from pathlib import Path

from conftest import run_build, write


def tiny_site(site: Path, baseurl: str) -> Path:
    write(site / "_config.yml", f"title: Tiny\nbaseurl: {baseurl}\n")
    write(site / "posts/2024-01-02-hello.md", "---\ntitle: Hello\n---\n\nHi.\n")
    return site


def home(site: Path) -> str:
    built = run_build(site, execute=False)
    assert built.result.exit_code == 0, built.log
    return (site / "_site/index.html").read_text(encoding="utf-8")


def test_sites_with_other_baseurls_link_under_their_own(tmp_path):
    # Jinja folds `"/assets/css/main.css" | relative_url` while compiling, with the compiling site's baseurl.
    first, second = home(tiny_site(tmp_path / "a", "/first")), home(tiny_site(tmp_path / "b", "/second"))
    assert 'href="/first/assets/css/main.css"' in first
    assert 'href="/second/assets/css/main.css"' in second and "/first/" not in second


def test_an_edited_template_is_compiled_again(tmp_path):
    site = tiny_site(tmp_path / "site", "")
    footer = site / "templates/includes/footer/custom.html"
    write(footer, "<p>first footer</p>\n")
    assert "first footer" in home(site)
    write(footer, "<p>second footer</p>\n")
    page = home(site)
    assert "second footer" in page and "first footer" not in page
