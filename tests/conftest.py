"""Shared helpers: small fixture sites and a build that reports into a string."""
from __future__ import annotations

import io
import logging
import shutil
import struct
import textwrap
import time
import types
import weakref
import zlib
from pathlib import Path

import jinja2
import pytest

from builder.render import templates as templates_module
from builder.render.template_code import folding_inputs
from builder.site.build import BuildOptions, build_site
from builder.site.progress import Reporter

# nbclient leaves output-polling tasks pending after a timeout or a dead kernel; asyncio logs
# them at exit, after pytest's summary line. The tests assert the errors themselves.
logging.getLogger("asyncio").setLevel(logging.CRITICAL)

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SEED_POST = FIXTURES / "seed" / "pytorch-linear-regression.md"   # the seed tutorial, as first written


class Built:
    """The outcome of one build: exit code, the printed log and the summary."""

    def __init__(self, result, reporter: Reporter, stream: io.StringIO):
        self.result, self.summary, self.log = result, reporter.summary, stream.getvalue()

    @property
    def executed(self) -> list[str]:
        return [path for path, _ in self.summary.executed]


def run_build(site: Path, dest: Path | None = None, **options) -> Built:
    stream = io.StringIO()
    reporter = Reporter(stream)
    result = build_site(BuildOptions(source=site, dest=dest, **options), reporter)
    return Built(result, reporter, stream)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture
def numpy_site(tmp_path: Path) -> Path:
    """A copy of the fast numpy/matplotlib fixture site."""
    site = tmp_path / "site"
    shutil.copytree(FIXTURES / "numpy-site", site)
    return site


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def built_numpy_site(tmp_path_factory) -> Path:
    """The numpy fixture site built once per run (one kernel); tests that change it copy it first."""
    site = tmp_path_factory.mktemp("numpy-built") / "site"
    shutil.copytree(FIXTURES / "numpy-site", site)
    built = run_build(site, jobs=1)
    assert built.result.exit_code == 0, built.log
    assert built.executed == ["posts/2020-01-02-numbers.md"]
    return site


def make_config(**values):
    """Validated site settings from `values`, as if read from _config.yml."""
    from builder.core.config import validate_config
    return validate_config(values, "_config.yml")


def png_chunk(kind: bytes, data: bytes) -> bytes:
    """One PNG chunk: length, type, data and CRC."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png(width: int = 1, height: int = 1, payload: bytes = b"") -> bytes:
    """A grey PNG of this size (its pixels are not all there: only the header is read)."""
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + png_chunk(b"IDAT", zlib.compress(b"\x00\x00") + payload) + png_chunk(b"IEND", b""))


def proc_state(pid: int) -> str | None:
    """The process's state letter from /proc, or None when it no longer exists."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def gone(pid: int, within: float = 5.0) -> bool:
    """Whether process `pid` exits within `within` seconds (a zombie counts: it runs nothing)."""
    until = time.monotonic() + within
    while time.monotonic() < until:
        if proc_state(pid) in (None, "Z", "X"):
            return True
        time.sleep(0.05)
    return False


@pytest.fixture(scope="session")
def chromium() -> None:
    """Skip, saying why, where Chromium is missing (`make browser` installs it)."""
    from browser_support import chromium_missing
    reason = chromium_missing()
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def browser(chromium, tmp_path_factory):
    """One headless Chromium for the whole run (starting one costs about a second of CPU);
    each module opens its own tabs in it."""
    from browser_support import Browser
    shared = Browser(tmp_path_factory.mktemp("chromium-profile"))
    try:
        yield shared
    finally:
        shared.close()


@pytest.fixture(scope="module")
def tab(browser):
    """A tab of the shared Chromium for one test module (a module may define its own)."""
    from browser_support import new_tab
    with new_tab(browser) as opened:
        yield opened


# --------------------------------------------------------------------------- compiled templates

class SessionTemplateCode(jinja2.BytecodeCache):
    """Jinja's compiled templates, kept in memory for the whole run.

    Every build makes a fresh Jinja environment and so would compile the theme's templates
    again: across the suite's hundreds of small builds that was a third of its CPU. Jinja keys the
    code by template name and file, and compiles again when the source's checksum differs, so
    an edited template is never served stale and each site's own templates stay its own; this
    cache adds the environment's folding inputs to the key.
    """

    def __init__(self):
        self.code: dict[tuple[str, str], bytes] = {}
        self.inputs: weakref.WeakKeyDictionary[jinja2.Environment, str] = weakref.WeakKeyDictionary()

    def key(self, bucket: jinja2.bccache.Bucket) -> tuple[str, str]:
        # Taken at the environment's first template, once `make_environment` has set its filters.
        env = bucket.environment
        if env not in self.inputs:
            self.inputs[env] = folding_inputs(env)
        return self.inputs[env], bucket.key

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        if (code := self.code.get(self.key(bucket))) is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.code[self.key(bucket)] = bucket.bytecode_to_string()


SESSION_CODE = SessionTemplateCode()
SESSION_TREES: dict[tuple[str, str | None], jinja2.nodes.Template] = {}


class SessionEnvironment(jinja2.Environment):
    """The environment `make_environment` makes during the tests: compiled code and parse
    trees (which the incremental state reads includes from) shared by the whole run. A parse
    tree depends on the source alone, with the lexer settings every such environment shares."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.bytecode_cache = SESSION_CODE

    def parse(self, source: str, name: str | None = None, filename: str | None = None) -> jinja2.nodes.Template:
        if (source, name) not in SESSION_TREES:
            SESSION_TREES[source, name] = super().parse(source, name, filename)
        return SESSION_TREES[source, name]


class JinjaForTemplatesModule(types.ModuleType):
    """jinja2 as `builder.render.templates` sees it during the tests: with `SessionEnvironment`.
    Patched there, not in jinja2, so that no other library's environment is touched, and
    whether a test imported `make_environment` before the patch does not matter."""

    Environment = SessionEnvironment

    def __getattr__(self, name: str):
        return getattr(jinja2, name)


@pytest.fixture(autouse=True, scope="session")
def _templates_compiled_once():
    """Every environment `make_environment` makes in this run is a `SessionEnvironment`."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(templates_module, "jinja2", JinjaForTemplatesModule("jinja2"))
        yield SESSION_CODE


# --------------------------------------------------------------------------- the `kernel` marker

NOT_MARKED = "this test starts a Jupyter kernel: mark it @pytest.mark.kernel"


@pytest.fixture(scope="session")
def guard_kernelspec(tmp_path_factory) -> Path:
    """A JUPYTER_PATH whose `python3` kernel refuses to start, saying which marker is missing."""
    import json
    import sys
    folder = tmp_path_factory.mktemp("jupyter-guard")
    spec = folder / "kernels" / "python3"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-c", f"import sys; sys.exit({NOT_MARKED!r})", "{connection_file}"],
        "display_name": "not a kernel test", "language": "python"}), encoding="utf-8")
    return folder


def refusing_kernels(patch: pytest.MonkeyPatch, guard: Path) -> None:
    """Make every kernel start fail the test, in this process and in the builds it runs."""
    from builder.execute import executor, warm

    def refuse(*args, **kwargs):
        pytest.fail(NOT_MARKED)

    patch.setattr(executor, "kernel_manager", refuse)
    patch.setattr(warm.WarmPool, "kernel_manager", refuse)
    patch.setenv("JUPYTER_PATH", str(guard))


@pytest.fixture(autouse=True, scope="module")
def _kernels_only_in_kernel_modules(request, guard_kernelspec):
    """A module with no `kernel` test starts no kernel, in its module fixtures either."""
    items = [item for item in request.session.items if getattr(item, "module", None) is request.module]
    if any(item.get_closest_marker("kernel") for item in items):
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        refusing_kernels(patch, guard_kernelspec)
        yield


@pytest.fixture(autouse=True)
def _kernels_only_in_kernel_tests(request, guard_kernelspec):
    """A test not marked `kernel` starts no kernel."""
    if request.node.get_closest_marker("kernel"):
        yield
        return
    with pytest.MonkeyPatch.context() as patch:
        refusing_kernels(patch, guard_kernelspec)
        yield


def pytest_collection_modifyitems(items) -> None:
    """A test that uses headless Chromium (the `chromium`, `browser` or a `tab` fixture) is a `browser` test."""
    for item in items:
        if {"chromium", "browser", "tab"} & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.browser)
