"""Headless Chromium for the browser tests: finding it, serving a site, and a small CDP client.

Chromium is driven over `--remote-debugging-pipe` (the DevTools protocol as NUL-separated JSON
on file descriptors 3 and 4), so the tests need nothing beyond the standard library.
"""
from __future__ import annotations

import base64
import contextlib
import fcntl
import functools
import http.server
import json
import os
import select
import subprocess
import threading
import time
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

CHROMIUM = Path("/usr/bin/chromium")
WAIT = 15               # seconds: the longest any single browser step may take
# Without the background-networking flags Chromium keeps dialling Google's hosts, which this
# machine's closed network refuses.
FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
         "--disable-extensions", "--hide-scrollbars", "--mute-audio", "--remote-debugging-pipe")


def chromium_missing() -> str | None:
    """Why the browser tests cannot run here (Chromium is missing), or None."""
    if CHROMIUM.exists():
        return None
    return f"{CHROMIUM} is missing: `make browser` installs it (as root: Debian's chromium, fonts-noto-cjk)"


install_chromium = chromium_missing     # its former name, which installed; `make browser` does now


def high_pipe() -> tuple[int, int]:
    """A pipe whose ends are above 4, so moving them onto fds 3 and 4 cannot clobber them."""
    ends = os.pipe()
    high = tuple(fcntl.fcntl(end, fcntl.F_DUPFD_CLOEXEC, 10) for end in ends)
    for end in ends:
        os.close(end)
    return high


class ProtocolError(RuntimeError):
    """Chromium answered a DevTools command with an error, or did not answer in time."""


class Browser:
    """One headless Chromium process and the DevTools messages it sends back."""

    def __init__(self, profile: Path):
        to_child, self._to_browser = high_pipe()
        self._from_browser, from_child = high_pipe()
        # The child must see our pipes as fds 3 (commands in) and 4 (replies out); bash, since
        # dash cannot redirect fds above 9.
        launcher = f'exec "$@" 3<&{to_child} 4>&{from_child}'
        self.process = subprocess.Popen(
            ["bash", "-c", launcher, "bash", str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            pass_fds=(to_child, from_child), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE)
        os.close(to_child)
        os.close(from_child)
        self._buffer = b""
        self._next_id = 0
        self.events: list[dict] = []

    def call(self, method: str, session: str | None = None, **params) -> dict:
        """Send one command and return its result, keeping the events that arrive meanwhile."""
        self._next_id += 1
        message = {"id": self._next_id, "method": method, "params": params}
        if session:
            message["sessionId"] = session
        os.write(self._to_browser, json.dumps(message).encode() + b"\0")
        reply = self._read_until(lambda m: m.get("id") == self._next_id, f"the answer to {method}")
        if "error" in reply:
            raise ProtocolError(f"{method}: {reply['error']}")
        return reply["result"]

    def wait_for(self, event: str, session: str) -> dict:
        """The first event `event` of `session` not yet consumed, waiting for it if needed."""
        for index, message in enumerate(self.events):
            if message["method"] == event and message.get("sessionId") == session:
                return self.events.pop(index)
        self._read_until(lambda m: m.get("method") == event and m.get("sessionId") == session, event)
        return self.events.pop()

    def _read_until(self, wanted, what: str) -> dict:
        deadline = time.monotonic() + WAIT
        while True:
            while b"\0" in self._buffer:
                raw, self._buffer = self._buffer.split(b"\0", 1)
                message = json.loads(raw)
                if wanted(message):
                    if "method" in message:
                        self.events.append(message)
                    return message
                if "method" in message:
                    self.events.append(message)
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_browser], [], [], left)[0]:
                raise ProtocolError(f"no {what} from Chromium within {WAIT} s")
            chunk = os.read(self._from_browser, 1 << 20)
            if not chunk:
                stderr = self.process.stderr.read().decode(errors="replace")[-2000:]
                raise ProtocolError(f"Chromium exited (status {self.process.wait()}) waiting for {what}:\n{stderr}")
            self._buffer += chunk

    def close(self) -> None:
        with contextlib.suppress(OSError, ProtocolError):
            self.call("Browser.close")
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        os.close(self._to_browser)
        os.close(self._from_browser)
        self.process.stderr.close()


class Tab:
    """One page in the browser, with the console errors it reported."""

    def __init__(self, browser: Browser):
        self.browser = browser
        self.target = browser.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = browser.call("Target.attachToTarget", targetId=self.target, flatten=True)["sessionId"]
        for domain in ("Page", "Runtime", "Log"):
            self.call(f"{domain}.enable")

    def call(self, method: str, **params) -> dict:
        return self.browser.call(method, self.session, **params)

    def close(self) -> None:
        """Close this page (the browser is shared by the run), dropping its unread events."""
        self.browser.call("Target.closeTarget", targetId=self.target)
        self.browser.events[:] = [m for m in self.browser.events if m.get("sessionId") != self.session]

    def open(self, url: str, width: int = 1280, height: int = 2000, mobile: bool = False,
             dark: bool = False) -> None:
        """Load `url` at this viewport and colour scheme, and wait for its load event."""
        self.call("Emulation.setDeviceMetricsOverride", width=width, height=height, deviceScaleFactor=1,
                  mobile=mobile)
        self.call("Emulation.setEmulatedMedia",
                  features=[{"name": "prefers-color-scheme", "value": "dark" if dark else "light"}])
        self.take_errors()
        navigation = self.call("Page.navigate", url=url)
        if "errorText" in navigation:
            raise ProtocolError(f"{url}: {navigation['errorText']}")
        self.browser.wait_for("Page.loadEventFired", self.session)

    def evaluate(self, expression: str):
        """The JSON-serialisable value of `expression`, awaited if it is a promise."""
        reply = self.call("Runtime.evaluate", expression=expression, awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in reply:
            raise ProtocolError(f"script failed: {reply['exceptionDetails']}")
        return reply["result"].get("value")

    def screenshot(self, path: Path) -> Path:
        data = self.call("Page.captureScreenshot", format="png")["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def take_errors(self) -> list[str]:
        """Console errors, uncaught exceptions and failed loads since the last call, as text."""
        errors, kept = [], []
        for message in self.browser.events:
            text = console_error(message) if message.get("sessionId") == self.session else None
            (errors.append(text) if text else kept.append(message))
        self.browser.events[:] = [m for m in kept if m["method"] != "Page.loadEventFired"]
        return errors


@contextlib.contextmanager
def new_tab(browser: Browser) -> Iterator[Tab]:
    """A tab of its own in the run's shared browser, closed afterwards."""
    tab = Tab(browser)
    try:
        yield tab
    finally:
        tab.close()


def console_error(message: dict) -> str | None:
    method, params = message["method"], message.get("params", {})
    if method == "Runtime.exceptionThrown":
        details = params["exceptionDetails"]
        return f"uncaught: {details.get('exception', {}).get('description') or details.get('text')}"
    if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
        return "console.error: " + " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
    if method == "Log.entryAdded" and params["entry"]["level"] == "error":
        entry = params["entry"]
        return f"{entry['source']}: {entry['text']} {entry.get('url', '')}".rstrip()
    return None


class SiteHandler(http.server.SimpleHTTPRequestHandler):
    """Serve a built site under its baseurl; anything outside the baseurl is a 404."""

    base = ""

    def translate_path(self, path: str) -> str:
        route = path.split("?", 1)[0].split("#", 1)[0]
        if self.base and route != self.base and not route.startswith(self.base + "/"):
            return str(Path(self.directory) / "__outside_baseurl__")
        return super().translate_path(path[len(self.base):])

    def log_message(self, format, *args):
        pass


@contextlib.contextmanager
def serve(folder: Path, base: str = ""):
    """Serve `folder` at http://127.0.0.1:<port><base>/ in a thread; yields that URL's origin."""
    handler = type("Handler", (SiteHandler,), {"base": base})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(folder)))
    # shutdown() waits for serve_forever's next poll: 0.5 s by default, at every fixture's end.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


class IdCollector(HTMLParser):
    """Every fragment target of a page: `id` attributes and `<a name>`."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value and (name == "id" or (tag == "a" and name == "name")):
                self.ids.add(value)


def fragment_targets(html: str) -> set[str]:
    collector = IdCollector()
    collector.feed(html)
    return collector.ids
