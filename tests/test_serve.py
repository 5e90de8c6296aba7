"""The development server: serving under the baseurl, rebuild on change, live reload, error overlay."""
from __future__ import annotations

import http.client
import io
import json
import threading
import time
import urllib.error
import urllib.request
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from builder.site.build import BuildOptions
from builder.core.errors import ConfigError
from builder.commands import serve as serve_module
from builder.commands.serve import Server, inject, is_source_path, is_temp_file
from tests.browser_support import ProtocolError, Tab, new_tab
from tests.conftest import write

POST = "posts/2024-01-02-hello.md"
POST_URL = "/blog/2024/01/02/hello.html"
WAIT = 10            # seconds: the longest any single wait in this file may take
RELOAD_WAIT = 15     # seconds for headless Chromium to notice a rebuild and reload the page


def write_post(site: Path, front_matter: str, prose: str) -> None:
    write(site / POST, f"---\n{front_matter}\n---\n\n{prose}\n")


class QuickToStopHTTPServer(ThreadingHTTPServer):
    """`Server.stop()` waits for the HTTP loop's next poll, every 0.5 s by default; tests stop
    a dozen servers, so theirs polls more often. Nothing here depends on the interval."""

    def serve_forever(self, poll_interval: float = 0.02) -> None:
        super().serve_forever(poll_interval)


@pytest.fixture(autouse=True)
def _quick_to_stop(monkeypatch):
    monkeypatch.setattr(serve_module, "ThreadingHTTPServer", QuickToStopHTTPServer)


@pytest.fixture
def site(tmp_path: Path) -> Path:
    site = tmp_path / "site"
    write(site / "_config.yml", "title: Tiny\nbaseurl: /blog\n")
    write_post(site, "title: Hello\ndate: 2024-01-02", "First version of the prose.")
    return site


@pytest.fixture
def server(site: Path):
    server = Server(BuildOptions(source=site), port=0, stream=io.StringIO())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def fetch(server: Server, path: str) -> tuple[int, dict, str]:
    """Status, headers and body of one GET, without following redirects."""
    connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=WAIT + 5)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read().decode("utf-8")
    finally:
        connection.close()


def generation_after(server: Server, since: int) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/__reload?since={since}&timeout={WAIT}",
                                timeout=WAIT + 5) as response:
        return json.load(response)["generation"]


def current_generation(server: Server) -> int:
    with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/__reload", timeout=WAIT) as response:
        return json.load(response)["generation"]


def test_serves_the_site_under_the_baseurl(server):
    status, headers, body = fetch(server, POST_URL)
    assert status == 200
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert "First version of the prose." in body
    assert fetch(server, "/blog/")[0] == 200
    assert server.url == f"http://127.0.0.1:{server.port}/blog/"


def test_every_html_page_gets_the_reload_script_with_the_generation(server):
    assert current_generation(server) == 1
    for path in (POST_URL, "/blog/", "/blog/missing.html"):
        body = fetch(server, path)[2]
        assert '<script data-builder-reload data-generation="1">' in body
        assert body.index("data-builder-reload") < body.rindex("</body>")
    assert "data-builder-reload" not in fetch(server, "/blog/feed.xml")[2]


def test_root_and_bare_baseurl_redirect_to_the_baseurl(server):
    for path in ("/", "/blog"):
        status, headers, _ = fetch(server, path)
        assert (status, headers["Location"]) == (302, "/blog/")
    status, headers, _ = fetch(server, "/blog/2024/01")
    assert (status, headers["Location"]) == (302, "/blog/2024/01/")


def test_unknown_paths_get_the_sites_404_page(server):
    not_found_page = (server.options.output / "404.html").read_text(encoding="utf-8")
    for path in ("/blog/nope.html", "/elsewhere/x.html", "/blog/../../etc/passwd", "/blog/%2e%2e/_config.yml"):
        status, _, body = fetch(server, path)
        assert status == 404, path
        assert body.startswith(not_found_page[:not_found_page.rindex("</body>")])


def test_a_prose_edit_rebuilds_and_bumps_the_generation(server, site):
    before = current_generation(server)
    write_post(site, "title: Hello\ndate: 2024-01-02", "Second version of the prose.")
    assert generation_after(server, before) == before + 1
    body = fetch(server, POST_URL)[2]
    assert "Second version of the prose." in body
    assert f'data-generation="{before + 1}"' in body
    assert "0 executed" in server.stream.getvalue()          # prose never starts a kernel


def test_files_the_build_writes_do_not_trigger_rebuilds(site):
    for folder in ("_freeze", "assets/img", ".git"):
        (site / folder).mkdir(parents=True)
    with Server(BuildOptions(source=site), port=0, stream=io.StringIO()) as server:
        before = current_generation(server)
        for written in ("_site/extra.html", "_freeze/note.json", "assets/img/figure.svg", ".git/index",
                        "posts/.hello.md.swp", "posts/hello.md~", "README.md"):
            write(site / written, "written by someone else")
        with urllib.request.urlopen(f"http://127.0.0.1:{server.port}/__reload?since={before}&timeout=1",
                                    timeout=WAIT) as response:
            assert json.load(response)["generation"] == before


def test_a_folder_made_after_start_is_watched(server, site):
    before = current_generation(server)
    (site / "assets").mkdir()
    assert generation_after(server, before) == before + 1
    write(site / "assets" / "css" / "extra.css", "p { color: red }")
    assert generation_after(server, before + 1) >= before + 2
    assert fetch(server, "/blog/assets/css/extra.css")[1]["Content-Type"] == "text/css; charset=utf-8"


def test_a_broken_edit_shows_the_error_on_every_page_until_fixed(server, site):
    before = current_generation(server)
    write_post(site, "title: [Hello\ndate: 2024-01-02", "Broken version.")
    assert generation_after(server, before) == before + 1
    for path in (POST_URL, "/blog/", "/blog/missing.html"):
        body = fetch(server, path)[2]
        overlay = body[body.index("<pre data-builder-error"):body.index("</pre>")]
        assert f"{POST}:" in overlay and "invalid YAML in the front matter" in overlay, overlay
    assert "First version of the prose." in fetch(server, POST_URL)[2]      # the last good site stays
    log = server.stream.getvalue()
    assert f"error: {POST}:" in log and "invalid YAML in the front matter" in log

    write_post(site, "title: Hello\ndate: 2024-01-02", "Fixed version.")
    assert generation_after(server, before + 1) == before + 2
    body = fetch(server, POST_URL)[2]
    assert "Fixed version." in body
    assert "data-builder-error" not in body


def test_the_overlay_escapes_the_error_text():
    page = inject(b"<html><body><p>x</p></body></html>", 7, "posts/a.md:3: bad <script>alert(1)</script> & co")
    text = page.decode("utf-8")
    assert "posts/a.md:3: bad &lt;script&gt;alert(1)&lt;/script&gt; &amp; co</pre>" in text
    assert "<script>alert" not in text
    assert text.endswith("</script>\n</body></html>")


def test_inject_appends_to_pages_without_a_body_tag():
    page = inject(b"<p>fragment</p>", 2, None).decode("utf-8")
    assert page.startswith("<p>fragment</p><script data-builder-reload data-generation=\"2\">")


@pytest.mark.parametrize("relative, expected", [
    ("posts/2024-01-02-hello.md", True), ("templates/layouts/post.html", True),
    ("templates/data/ui-text.yml", True), ("assets/css/main.css", True), ("_data/authors.yml", True),
    ("_config.yml", True), ("assets/img/2024-01-02-hello/figure-1.svg", False),
    ("_freeze/2024-01-02-hello.json", False), (".git/index", False), ("posts/.cache/x.md", False),
    ("README.md", False), ("_site/index.html", False),
])
def test_which_paths_are_sources(relative, expected):
    assert is_source_path(relative) is expected


@pytest.mark.parametrize("name", [".hello.md.swp", "hello.md~", "#hello.md#", ".#hello.md", "4913", "x.tmp"])
def test_editor_temp_files_are_ignored(name):
    assert is_temp_file(name)
    assert not is_temp_file("hello.md")


def test_stop_wakes_long_polls_and_closes_the_port(site):
    server = Server(BuildOptions(source=site), port=0, stream=io.StringIO()).start()
    port, answers = server.port, []
    poll = threading.Thread(target=lambda: answers.append(generation_after(server, 1)))
    poll.start()
    time.sleep(0.2)
    started = time.monotonic()
    server.stop()
    poll.join(WAIT)
    assert answers == [1] and time.monotonic() - started < 5
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{port}/blog/", timeout=WAIT)


def test_a_busy_port_is_a_config_error(server, site):
    with pytest.raises(ConfigError, match=f"cannot listen on 127.0.0.1:{server.port}"):
        Server(BuildOptions(source=site), port=server.port, stream=io.StringIO()).start()


def test_headless_chromium_renders_the_page_with_the_reload_script(browser, server):
    with new_tab(browser) as tab:
        tab.open(f"http://127.0.0.1:{server.port}{POST_URL}")
        dom = tab.evaluate("document.documentElement.outerHTML")
    assert "First version of the prose." in dom
    assert "data-builder-reload" in dom
    assert "/__reload?since=" in dom


def test_a_prose_edit_reloads_the_open_page_in_headless_chromium(browser, server, site):
    with new_tab(browser) as tab:
        tab.open(f"http://127.0.0.1:{server.port}{POST_URL}")
        assert "First version of the prose." in tab.evaluate("document.body.innerText")
        tab.evaluate("window.__marker = 1")     # a fresh page load would lose it
        write_post(site, "title: Hello\ndate: 2024-01-02", "Second version of the prose.")
        page = reloaded_page(tab)
        errors = [error for error in tab.take_errors() if not error.endswith(f"{server.port}/favicon.ico")]
    assert page == {"marker": None, "navigation": "reload", "generation": "2"}, page
    assert errors == []


def reloaded_page(tab: Tab) -> dict:
    """Once the page shows the edit: its marker, how it was last loaded and its generation."""
    probe = """document.body.innerText.includes("Second version of the prose.") && {
      marker: window.__marker ?? null,
      navigation: performance.getEntriesByType("navigation")[0].type,
      generation: document.querySelector("script[data-builder-reload]").dataset.generation}"""
    deadline = time.monotonic() + RELOAD_WAIT
    while time.monotonic() < deadline:
        try:
            if page := tab.evaluate(probe):
                return page
        except ProtocolError:
            pass                                # the page is between two documents
        time.sleep(0.1)
    text = tab.evaluate("document.body.innerText")
    pytest.fail(f"the page did not reload with the edit within {RELOAD_WAIT} s; it shows:\n{text}")
