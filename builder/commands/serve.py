"""`serve`: build once, serve the output under the baseurl, rebuild on change, reload the browser.
The warm kernel pool (builder.execute.warm) lives as long as the server: a code edit's rebuild
forks its kernel from a zygote that has already imported torch and friends."""
from __future__ import annotations

import html
import json
import mimetypes
import signal
import sys
import threading
import time
import traceback
import webbrowser
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import TextIO
from urllib.parse import parse_qs, unquote, urlsplit

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from builder.execute.warm import WarmPool, guess_codes, start_warm_pool
from builder.site.build import BuildOptions, build_site
from builder.core.children import descendants, kill_descendants
from builder.core.config import load_config
from builder.core.errors import BuildError, ConfigError
from builder.site.lock import build_lock
from builder.site.progress import Reporter
from builder.core.theme import THEME_DIR

RELOAD_PATH = "/__reload"
DEBOUNCE_SECONDS = 0.2
LONG_POLL_SECONDS = 25.0
STOP_POLL_SECONDS = 0.02      # how often the HTTP server looks for a stop (the stdlib's 0.5 s delays Ctrl-C)
WATCHED_FOLDERS = ("posts", "templates", "assets", "_data")
WATCHED_FILES = ("_config.yml",)
IGNORED_FOLDERS = ("_freeze", "assets/img")             # written by the build itself
SOURCE_EVENTS = ("created", "modified", "deleted", "moved")   # not opened/closed: the build reads files
TEMP_SUFFIXES = ("~", ".swp", ".swo", ".swx", ".tmp", ".part", ".crdownload")
TEMP_NAMES = ("4913",)                                  # vim's probe file
FALLBACK_404 = b"<!doctype html><html><head><title>404</title></head><body><h1>404 Not Found</h1></body></html>"

RELOAD_SCRIPT = """<script data-builder-reload data-generation="{generation}">(function () {{
  var generation = {generation};
  function poll() {{
    fetch("{path}?since=" + generation, {{cache: "no-store"}})
      .then(function (response) {{ return response.json(); }})
      .then(function (data) {{ if (data.generation !== generation) location.reload(); else poll(); }},
            function () {{ setTimeout(poll, 1000); }});
  }}
  poll();
}})();</script>
"""
ERROR_OVERLAY = ('<pre data-builder-error style="position:fixed;inset:0;margin:0;padding:1.5em;'
                 'overflow:auto;z-index:2147483647;background:rgba(40,0,0,.94);color:#ffdede;'
                 'font:14px/1.45 monospace;white-space:pre-wrap">'
                 'Build failed; fix the source and save to rebuild.\n\n{text}</pre>\n')


class BuildState:
    """The latest build's generation number and error text; readers can wait for the next one."""

    def __init__(self):
        self.condition = threading.Condition()
        self.generation = 0
        self.error: str | None = None
        self.closed = False

    def publish(self, error: str | None) -> int:
        with self.condition:
            self.generation += 1
            self.error = error
            self.condition.notify_all()
            return self.generation

    def wait_for_change(self, since: int, timeout: float) -> int:
        """The generation once it differs from `since`, or the current one after `timeout`."""
        with self.condition:
            self.condition.wait_for(lambda: self.generation != since or self.closed, timeout)
            return self.generation

    def close(self) -> None:
        with self.condition:
            self.closed = True
            self.condition.notify_all()


class Rebuilder:
    """Runs `build` in one background thread, once changes have been quiet for `delay` seconds."""

    def __init__(self, build, delay: float = DEBOUNCE_SECONDS):
        self.build, self.delay = build, delay
        self.changed = threading.Event()
        self.stopping = False
        self.spare = frozenset(descendants())     # processes that are not the rebuilds' own
        self.thread = threading.Thread(target=self.run, name="builder-rebuild", daemon=True)

    def request(self) -> None:
        self.changed.set()

    def run(self) -> None:
        while True:
            self.changed.wait()
            while self.changed.is_set() and not self.stopping:
                self.changed.clear()
                time.sleep(self.delay)           # more changes during the pause restart it
            if self.stopping:
                return
            self.build()

    def stop(self, timeout: float = 2.0) -> None:
        """Stop after the running build, if any; its kernels are killed when it has not ended
        within `timeout` seconds, so stopping never waits on a long training run."""
        self.stopping = True
        self.changed.set()
        if self.thread.is_alive():
            self.thread.join(timeout)
        if self.thread.is_alive():
            kill_descendants(spare=self.spare)
            self.thread.join(timeout)


class SourceWatcher(FileSystemEventHandler):
    """Forwards edits to the site's sources (not the build's own output) to the rebuilder."""

    def __init__(self, options: BuildOptions, on_change, on_new_folder):
        self.roots = [options.source.resolve(), THEME_DIR.resolve()]
        self.output = options.output.resolve()
        self.on_change, self.on_new_folder = on_change, on_new_folder

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in SOURCE_EVENTS or (event.is_directory and event.event_type == "modified"):
            return
        paths = [Path(str(path)) for path in (event.src_path, getattr(event, "dest_path", "")) if path]
        if not any(self.is_source(path) for path in paths):
            return
        if event.is_directory and event.event_type in ("created", "moved") and self.is_top_folder(paths[-1]):
            self.on_new_folder(paths[-1])       # a posts/ or assets/ made after the server started
        self.on_change()

    def is_top_folder(self, path: Path) -> bool:
        return path.name in WATCHED_FOLDERS and path.parent in self.roots

    def is_source(self, path: Path) -> bool:
        path = path.absolute()
        if path.is_relative_to(self.output) or is_temp_file(path.name):
            return False
        return any(path.is_relative_to(root) and is_source_path(path.relative_to(root).as_posix())
                   for root in self.roots)


def is_source_path(relative: str) -> bool:
    """True for posts, templates, assets, data and `_config.yml`; false for what the build writes."""
    if any(part.startswith(".") for part in relative.split("/")):
        return False
    if any(relative == folder or relative.startswith(folder + "/") for folder in IGNORED_FOLDERS):
        return False
    return relative in WATCHED_FILES or relative.split("/")[0] in WATCHED_FOLDERS


def is_temp_file(name: str) -> bool:
    """Editor backups, swap and lock files: `x~`, `.x.swp`, `#x#`, `.#x`, vim's `4913`."""
    return name.startswith((".", "#")) or name.endswith(TEMP_SUFFIXES) or name in TEMP_NAMES


def source_folders(options: BuildOptions) -> list[Path]:
    """The folders that hold sources, watched recursively (never a virtualenv or .git in the site)."""
    roots = (options.source.resolve(), THEME_DIR.resolve())
    folders = {(root / name).resolve() for root in roots for name in WATCHED_FOLDERS}
    return sorted(folder for folder in folders if folder.is_dir())


def inject(page: bytes, generation: int, error: str | None) -> bytes:
    """The page with the reload script, and the error overlay when the last build failed, before `</body>`."""
    extra = RELOAD_SCRIPT.format(generation=generation, path=RELOAD_PATH)
    if error is not None:
        extra = ERROR_OVERLAY.format(text=html.escape(error)) + extra
    at = page.lower().rfind(b"</body>")
    at = len(page) if at < 0 else at
    return page[:at] + extra.encode("utf-8") + page[at:]


def error_text(errors: list) -> str | None:
    return "\n\n".join(str(error) for error in errors) if errors else None


class Server:
    """A development server: build, serve, watch, rebuild. `start()`, then `stop()` (or use `with`)."""

    def __init__(self, options: BuildOptions, port: int = 0, host: str = "127.0.0.1",
                 stream: TextIO | None = None):
        self.options, self.host, self.requested_port = options, host, port
        self.stream = stream or sys.stderr
        self.state = BuildState()
        self.base = ""
        self.rebuilder = Rebuilder(self.rebuild)
        self.warm: WarmPool | None = None       # kept between rebuilds: a code edit forks a warm kernel
        self.observer = None
        self.httpd: ThreadingHTTPServer | None = None
        self.http_thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return self.httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.base}/"

    def start(self) -> "Server":
        if self.options.execute and not self.options.frozen:
            self.warm = start_warm_pool(guess_codes(self.options.source), log=self.say)
        self.rebuild()
        self.httpd = bind(self.host, self.requested_port)
        self.httpd.site = self
        self.http_thread = threading.Thread(target=self.httpd.serve_forever, name="builder-http", daemon=True,
                                            kwargs={"poll_interval": STOP_POLL_SECONDS})
        self.http_thread.start()
        self.rebuilder.thread.start()
        self.observer = watch(self.options, self.rebuilder.request)
        return self

    def stop(self) -> None:
        """Stop watching, wake every waiting browser, stop serving; wait for a running build."""
        if self.observer:
            self.observer.stop()
            self.observer.join(5)
        self.state.close()
        if self.httpd:
            self.httpd.shutdown()
            self.httpd.server_close()
        self.rebuilder.stop()
        if self.warm is not None:
            self.warm.close()                   # its zygotes kill their kernels and exit

    def __enter__(self) -> "Server":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def rebuild(self) -> int:
        """Build once; publish the new generation with its error text (None on success)."""
        try:
            self.base = load_config(self.options.source).base
            # Rebuilds run while the HTTP and watchdog threads are alive: the build then renders
            # in this process instead of forking workers (see builder.site.forked).
            reporter = Reporter(self.stream, verbose=self.options.verbose)
            with build_lock(self.options.source):
                failures = build_site(self.options, reporter, warm=self.warm_pool()).failures
        except BuildError as error:
            failures = [error]
            self.say(f"error: {error}")
        except Exception:                       # a bug in the builder must not stop the server
            failures = [traceback.format_exc()]
            self.say(failures[0])
        generation = self.state.publish(error_text(failures))
        if failures:
            self.say(f"serve: build {generation} failed; every page shows the error until the next good build")
        return generation

    def warm_pool(self) -> WarmPool | None:
        """The pool for the next rebuild: a fresh one when a zygote of the last died (killed
        with a failed post's kernels, say), since that pool would start every kernel cold."""
        if self.warm is not None and self.warm.lost_a_zygote():
            self.warm.close()
            self.warm = start_warm_pool(guess_codes(self.options.source), log=self.say)
        return self.warm

    def say(self, text: str) -> None:
        self.stream.write(text + "\n")
        self.stream.flush()


def bind(host: str, port: int) -> ThreadingHTTPServer:
    try:
        httpd = ThreadingHTTPServer((host, port), RequestHandler)
    except OSError as error:
        raise ConfigError(f"cannot listen on {host}:{port}: {error.strerror}", None,
                          "Pass another --port, or stop the program using this one.") from None
    httpd.daemon_threads = True
    return httpd


def watch(options: BuildOptions, on_change) -> Observer:
    observer = Observer()
    handler = SourceWatcher(options, on_change,
                            lambda folder: observer.schedule(handler, str(folder), recursive=True))
    for folder in source_folders(options):
        observer.schedule(handler, str(folder), recursive=True)
    observer.schedule(handler, str(options.source.resolve()), recursive=False)   # `_config.yml`
    observer.start()
    return observer


class RequestHandler(BaseHTTPRequestHandler):
    """Serves `<dest>/x` at `<baseurl>/x`, `/__reload` for the browser, and the site's 404 page."""

    server_version = "builder-serve"

    def do_GET(self) -> None:
        self.respond(send_body=True)

    def do_HEAD(self) -> None:
        self.respond(send_body=False)

    def respond(self, send_body: bool) -> None:
        self.send_body = send_body
        site: Server = self.server.site
        url = urlsplit(self.path)
        path = unquote(url.path)
        if path == RELOAD_PATH:
            return self.reload(site, parse_qs(url.query))
        if site.base and path in ("/", site.base):
            return self.redirect(site.base + "/")
        if not (path + "/").startswith(site.base + "/"):
            return self.not_found(site)
        self.serve_file(site, path[len(site.base):].lstrip("/"), path)

    def reload(self, site: Server, query: dict) -> None:
        try:
            since = int(query["since"][0]) if "since" in query else None
            timeout = min(float(query.get("timeout", [LONG_POLL_SECONDS])[0]), 60.0)
        except ValueError:
            return self.send(HTTPStatus.BAD_REQUEST, b"since and timeout must be numbers", "text/plain")
        generation = site.state.generation if since is None else site.state.wait_for_change(since, timeout)
        self.send(HTTPStatus.OK, json.dumps({"generation": generation}).encode(), "application/json")

    def serve_file(self, site: Server, relative: str, path: str) -> None:
        root = site.options.output.resolve()
        target = (root / relative).resolve()
        if not target.is_relative_to(root):
            return self.not_found(site)
        if target.is_dir() and not path.endswith("/"):
            return self.redirect(path + "/")
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file() and target.with_name(target.name + ".html").is_file():
            target = target.with_name(target.name + ".html")      # GitHub Pages serves /x as x.html
        if not target.is_file():
            return self.not_found(site)
        self.send_page(site, HTTPStatus.OK, target.read_bytes(), guess_type(target))

    def not_found(self, site: Server) -> None:
        page = site.options.output / "404.html"
        body = page.read_bytes() if page.is_file() else FALLBACK_404
        self.send_page(site, HTTPStatus.NOT_FOUND, body, "text/html; charset=utf-8")

    def send_page(self, site: Server, status: HTTPStatus, body: bytes, content_type: str) -> None:
        if content_type.startswith("text/html"):
            body = inject(body, site.state.generation, site.state.error)
        self.send(status, body, content_type)

    def redirect(self, location: str) -> None:
        self.send_response(HTTPStatus.FOUND)
        self.send_header("Location", location)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def send(self, status: HTTPStatus, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.send_body:
            self.wfile.write(body)

    def log_message(self, format: str, *args) -> None:
        pass                                      # one line per request would drown the build's output


def guess_type(path: Path) -> str:
    kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return f"{kind}; charset=utf-8" if kind.startswith("text/") or kind.endswith(("json", "xml")) else kind


def stop_serving(signum: int, frame) -> None:
    raise KeyboardInterrupt


def serve(options: BuildOptions, port: int = 4000, host: str = "127.0.0.1", open_browser=False) -> int:
    """Build, serve on host:port with live reload, and rebuild on every change until Ctrl-C."""
    server = Server(options, port, host)
    signal.signal(signal.SIGTERM, stop_serving)    # like Ctrl-C: stop the rebuild and its kernels
    try:
        server.start()
        server.say(f"serving {server.url} (rebuilds on change; Ctrl-C to stop)")
        if open_browser:
            webbrowser.open(server.url)
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        server.say("stopping")
    finally:
        server.stop()
    return 0
