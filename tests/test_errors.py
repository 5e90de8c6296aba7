"""When things go wrong: clear messages naming the line, bounded time, nothing written outside."""
from __future__ import annotations

import base64
import io
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from builder.site.build import BuildOptions, build_site
from builder.core.config import validate_config
from builder.core.errors import BuildError, ContainmentError, SourceError
from builder.site.progress import Reporter
from builder.source.reader import read_post
from builder.site.writer import Writer
from conftest import REPO, Built, gone, png, run_build, tree_bytes, write

pytestmark = pytest.mark.kernel

POST_HINT = "Hint: Fix the code at the line above and rebuild"


class TimedReporter(Reporter):
    """A reporter that also notes when each post started and failed."""

    def __init__(self, stream):
        super().__init__(stream)
        self.started_at: dict[str, float] = {}
        self.failed_at: dict[str, float] = {}

    def running(self, post, reasons):
        self.started_at[post.path] = time.monotonic()
        super().running(post, reasons)

    def failed(self, post_path, message):
        self.failed_at[post_path] = time.monotonic()
        super().failed(post_path, message)

    def seconds(self, post_path: str) -> float:
        return self.failed_at[post_path] - self.started_at[post_path]


def tiny_png() -> str:
    return base64.b64encode(png()).decode()


def snapshot(root: Path, skip: Path | None = None) -> dict[str, bytes]:
    return {k: v for k, v in tree_bytes(root).items() if skip is None or not (root / k).is_relative_to(skip)}


# -- One build of six posts that each fail in their own way (6 kernels, run in parallel) --

FAILING_POSTS = {
    "2020-01-01-input.md": """
        Asks for input.

        ```python
        #| tags: [raises-exception]
        raise ValueError("shown on purpose")
        ```

        ```python
        x = 1
        name = input("name? ")
        ```
        """,
    "2020-01-02-exit.md": """
        ```python
        import sys
        x = 1
        sys.exit(3)  # stops here
        ```
        """,
    "2020-01-03-died.md": """
        ```python
        import os
        open(r"{pids}/died-kernel", "w").write(str(os.getpid()))
        ```

        The kernel dies now.

        ```python
        os._exit(1)
        ```
        """,
    "2020-01-04-timeout.md": """
        ---
        timeout: 2
        ---
        ```python
        import os, subprocess, time
        child = subprocess.Popen(["sleep", "60"])
        open(r"{pids}/timeout-kernel", "w").write(str(os.getpid()))
        open(r"{pids}/timeout-child", "w").write(str(child.pid))
        time.sleep(30)
        ```
        """,
    "2020-01-05-budget.md": """
        ```python
        import time
        time.sleep(2)
        ```

        ```python
        time.sleep(2)
        ```
        """,
    "2020-01-06-label.md": """
        ```python
        #| label: ../x
        from IPython.display import display
        display({{"image/png": "{png}"}}, raw=True)
        ```
        """,
}


@pytest.fixture(scope="module")
def failed(tmp_path_factory):
    """The failing site built once with --keep-going; (site, pid folder, built, reporter, seconds)."""
    base = tmp_path_factory.mktemp("failing")
    site, pids = base / "site", base / "pids"
    pids.mkdir()
    write(site / "_config.yml", "post_timeout: 3\ntimeout: 10\n")
    for name, text in FAILING_POSTS.items():
        write(site / "posts" / name, text.replace("{pids}", str(pids)).replace("{png}", tiny_png())
              .replace("{{", "{").replace("}}", "}"))
    before = snapshot(base, skip=pids)
    stream = io.StringIO()
    reporter = TimedReporter(stream)
    started = time.monotonic()
    result = build_site(BuildOptions(source=site, jobs=len(FAILING_POSTS), keep_going=True), reporter)
    seconds = time.monotonic() - started
    after = snapshot(base, skip=pids)
    return site, pids, Built(result, reporter, stream), reporter, seconds, before, after


def failure(built: Built, name: str) -> str:
    messages = [str(f) for f in built.result.failures if str(f).startswith(f"posts/{name}")]
    assert len(messages) == 1, built.log
    return messages[0]


def test_every_post_failed_quickly_and_wrote_nothing_but_the_site(failed):
    site, _, built, _, seconds, before, after = failed
    assert built.result.exit_code == 1
    assert sorted(path for path, _ in built.summary.failed) == [f"posts/{n}" for n in sorted(FAILING_POSTS)]
    assert seconds < 30       # six kernels on two cores; the limits that could hang are 600 s
    added = sorted(set(after) - set(before))
    # The build's own cache (like .jekyll-cache) is the one thing besides the output folder.
    assert all(path.startswith(("site/_site/", "site/.build-cache/")) for path in added), added
    assert {k: v for k, v in after.items() if k in before} == before
    assert not list(site.rglob("x.png")) and not (site.parent / "x.png").exists()


def test_input_fails_naming_the_line(failed):
    message = failure(failed[2], "2020-01-01-input.md")
    assert message.startswith("posts/2020-01-01-input.md:10 (cell 2): StdinNotImplementedError: "
                              "raw_input was called, but this frontend does not support input requests.")
    assert '>    10 | name = input("name? ")' in message
    assert message.endswith("Hint: A post cannot ask for input while it is built; "
                            "set the value in the code instead of calling input().")


def test_sys_exit_fails_naming_the_line_and_saying_so(failed):
    message = failure(failed[2], "2020-01-02-exit.md")
    assert message.startswith("posts/2020-01-02-exit.md:4 (cell 1): the post called sys.exit() "
                              "(SystemExit: 3), which stops the cell")
    assert ">     4 | sys.exit(3)  # stops here" in message
    assert message.endswith("Hint: Remove the sys.exit() call (or exit()/quit()); to stop with an "
                            "error, raise an exception instead.")


def test_dead_kernel_is_reported_quickly_and_leaves_no_process(failed):
    _, pids, built, reporter, *_ = failed
    message = failure(built, "2020-01-03-died.md")
    assert message == ("posts/2020-01-03-died.md:8 (cell 2): the kernel died while running this cell "
                       "(a crash, os._exit or running out of memory)\n"
                       "  Hint: Run the cell as a script to see the crash; reduce memory use.")
    assert reporter.seconds("posts/2020-01-03-died.md") < 20
    assert gone(int((pids / "died-kernel").read_text()))


def test_cell_timeout_stops_the_cell_and_its_children(failed):
    _, pids, built, reporter, *_ = failed
    message = failure(built, "2020-01-04-timeout.md")
    assert message == ("posts/2020-01-04-timeout.md:4 (cell 1): the cell ran longer than its time limit "
                       "(timeout: 2 s) and was stopped\n"
                       "  Hint: Make the cell faster, or raise `timeout:` in the post's front matter.")
    assert reporter.seconds("posts/2020-01-04-timeout.md") < 20
    assert gone(int((pids / "timeout-kernel").read_text()))
    assert gone(int((pids / "timeout-child").read_text()))


def test_post_budget_stops_the_post(failed):
    _, _, built, reporter, *_ = failed
    message = failure(built, "2020-01-05-budget.md")
    assert message == ("posts/2020-01-05-budget.md:6 (cell 2): the post ran longer than its time limit "
                       "(post_timeout: 3 s for all its cells) and was stopped in this cell\n"
                       "  Hint: Make the post faster, or raise `post_timeout:` in _config.yml.")
    assert reporter.seconds("posts/2020-01-05-budget.md") < 20


def test_figure_label_with_dots_is_refused(failed):
    message = failure(failed[2], "2020-01-06-label.md")
    assert message.startswith("posts/2020-01-06-label.md:1 (cell 1): invalid figure label '../x': "
                              "it contains '/'")
    assert message.endswith("Hint: Use a label of letters, digits, '-', '_' and '.'.")


# -- A good build, then a post edited to fail (3 kernels) --

LONG_POST = """
    ```python
    print("\\n".join(f"line {i}" for i in range(300_000)))
    ```

    ```python
    for percent in range(0, 101, 5):
        print(f"\\rtraining {percent:3d}%", end="")
    print()
    ```
    """
EVIL_CELL = """
    ```python
    import os
    site = os.path.dirname(os.path.realpath("data"))
    try:
        os.remove(os.path.join(site, "data", "keep.txt"))
    except PermissionError as error:
        print("refused:", error)
    open(os.path.join(site, "posts", "evil.txt"), "w").write("pwned")
    ```
    """
LONG = "posts/2020-01-01-long.md"
LONG_PAGE = "_site/2020/01/01/long.html"


@pytest.fixture(scope="module")
def good_site(tmp_path_factory) -> Path:
    site = tmp_path_factory.mktemp("good") / "site"
    write(site / LONG, LONG_POST)
    write(site / "data/keep.txt", "keep me\n")
    built = run_build(site, jobs=1)
    assert built.result.exit_code == 0 and built.executed == [LONG], built.log
    return site


def test_long_output_is_cut_and_progress_collapses(good_site):
    page = (good_site / LONG_PAGE).read_bytes()
    record = (good_site / "_freeze/posts/2020-01-01-long.json").read_bytes()
    assert len(page) < 200_000 and len(record) < 200_000
    text = page.decode("utf-8")
    assert "line 199\n... [299,600 lines cut: output too long; run the tutorial to see all of it] ...\n" \
           "line 299800" in text
    assert "line 200\n" not in text and "line 299799\n" not in text
    assert "training 100%" in text and "training  50%" not in text and "\r" not in text


def test_a_failing_post_leaves_the_previous_site_untouched(good_site, tmp_path):
    site = tmp_path / "site"
    subprocess.run(["cp", "-a", str(good_site), str(site)], check=True)
    before = tree_bytes(site / "_site")
    write(site / LONG, LONG_POST + EVIL_CELL)
    built = run_build(site, jobs=1)
    assert built.result.exit_code == 1
    message = str(built.result.failures[0])
    real = site.resolve()
    assert message.startswith(f"{LONG}:18 (cell 3): PermissionError: a post may not write into the site "
                              f"folder ({real}/posts/evil.txt); write to the current directory, "
                              "which is a scratch folder")
    assert tree_bytes(site / "_site") == before
    assert not (site / "posts/evil.txt").exists()
    assert (site / "data/keep.txt").read_text() == "keep me\n"

    again = run_build(site, jobs=1, keep_going=True)
    assert again.result.exit_code == 1
    assert [path for path, _ in again.summary.failed] == [LONG]
    assert f"\nfailed: {LONG}:18 (cell 3): PermissionError" in again.log
    page = (site / LONG_PAGE).read_text(encoding="utf-8")
    assert "training 100%" in page and "line 299800" in page
    assert not (site / "posts/evil.txt").exists()


# -- Killing the build mid-way (1 kernel) --

def test_killed_build_leaves_the_old_site_and_the_next_build_works(tmp_path):
    site = tmp_path / "site"
    write(site / "posts/2020-01-01-prose.md", "Only prose.\n")
    assert run_build(site).result.exit_code == 0
    before = tree_bytes(site / "_site")
    kernel_pid = tmp_path / "kernel-pid"
    write(site / "posts/2020-01-02-slow.md", f"""
        ```python
        import os, time
        open(r"{kernel_pid}", "w").write(str(os.getpid()))
        time.sleep(60)
        ```
        """)
    env = dict(os.environ, PYTHONPATH=str(REPO))
    build = subprocess.Popen([sys.executable, "-m", "builder", "build", "--source", str(site), "-j", "1"],
                             env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        until = time.monotonic() + 60
        while not kernel_pid.exists() or not kernel_pid.read_text():
            assert time.monotonic() < until and build.poll() is None
            time.sleep(0.1)
        build.send_signal(signal.SIGKILL)
        build.wait(10)
    finally:
        if build.poll() is None:
            build.kill()
    assert tree_bytes(site / "_site") == before
    assert gone(int(kernel_pid.read_text()), within=10)   # the kernel notices its parent is gone
    write(site / "posts/2020-01-02-slow.md", "```python\n#| eval: false\ntime.sleep(60)\n```\n")
    assert run_build(site).result.exit_code == 0
    not_index = lambda paths: sorted(p for p in paths if not p.startswith("pagefind/"))   # noqa: E731 (re-made)
    assert not_index(tree_bytes(site / "_site")) == not_index(set(before) | {"2020/01/02/slow.html"})


# -- Containment (no kernel) --

@pytest.mark.parametrize("permalink, problem, hint", [
    ("/../../escape.html", "URL '/../../escape.html' contains '..' or '.'",
     "A permalink cannot point outside the site; remove the dot segments."),
    ('"/a\\\\b.html"', "URL '/a\\\\b.html' contains a NUL or a backslash",
     "Use only '/' as a separator in `permalink:`."),
    ('"/a\\0b.html"', "URL '/a\\x00b.html' contains a NUL or a backslash",
     "Use only '/' as a separator in `permalink:`."),
])
def test_permalinks_outside_the_output_are_refused(tmp_path, permalink, problem, hint):
    site = tmp_path / "deep" / "site"
    write(site / "posts/2020-01-01-a.md", f"---\npermalink: {permalink}\n---\nHello.\n")
    before = tree_bytes(tmp_path)
    with pytest.raises(ContainmentError) as caught:
        run_build(site)
    assert str(caught.value) == f"posts/2020-01-01-a.md: {problem}\n  Hint: {hint}"
    assert tree_bytes(tmp_path) == before
    assert not (tmp_path / "escape.html").exists() and not (tmp_path / "deep/escape.html").exists()


@pytest.mark.parametrize("relative", ["../escape.html", "a/../../escape.html", "/etc/x", "a\\b", "a\x00b"])
def test_writer_refuses_paths_outside_its_root(tmp_path, relative):
    writer = Writer(tmp_path / "out")
    with pytest.raises(ContainmentError, match="refusing to write"):
        writer.write(relative, b"x")
    writer.commit()
    assert list(tmp_path.rglob("*")) == []


# -- Reading never crashes with anything but a BuildError --

YAML_VALUES = st.one_of(
    st.text(max_size=20),
    st.integers(),
    st.sampled_from(["[", "{a: 1}", "2020-13-45", "2020-01-01 25:00", "!!python/object:os.system",
                     "&a [*a]", '"\\0"', "'", "- a", "|", "1e400", ".nan", "~", "yes", "0x1F",
                     "2001-12-14t21:59:43.10-05:00", "[1, [2, {3: 4}]]", "{% raw %}", "\t", "@x",
                     "/../x", "!!binary aGk=", "!!set {a}", "? a", "2020-01-01", "10:00:00"]),
)
FRONT_MATTER = st.one_of(
    st.text(max_size=80),
    st.lists(st.tuples(st.sampled_from(["title", "date", "permalink", "tags", "categories", "timeout",
                                        "seed", "published", "layout", "header", "x", "kernel", "title"]),
                       YAML_VALUES), max_size=6)
    .map(lambda pairs: "\n".join(f"{key}: {value}" for key, value in pairs)),
)
BODY_PARTS = st.sampled_from(["Prose.", "```python\nx = 1\n```", "```python\n#| label: a\n#| eval: false\n1\n```",
                              "```python\n#| bad option\n```", "```python\n#| tags: 3\n```", "```\nunclosed",
                              "~~~py\n1\n~~~", "{{ page.title }}", "{% include x.html %}", "---", "\r\n",
                              "\ufeff", "````python\n```\n````", "#| label: x", "$x$", "$$\\frac{$$",
                              "{% raw %}{{ x }}", "{% endraw %}", "{% include toc %}", "{% post_url nope %}",
                              "<b>raw html is trusted</b>", "| a |\n| - |\n| b |", "[^1]\n\n[^1]: n",
                              "![](/assets/none.png)", "\\(a_1\\)", "{{ site.nope.deeper }}", "<div>\n*x*\n</div>"])
BODY = st.lists(st.one_of(BODY_PARTS, st.text(max_size=30)), max_size=8).map("\n".join)


@pytest.fixture(scope="module")
def fuzz_site(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(front=FRONT_MATTER, body=BODY, fenced=st.booleans())
def test_reading_any_post_raises_only_build_errors(fuzz_site, front, body, fenced):
    text = f"---\n{front}\n---\n{body}" if fenced else body
    path = fuzz_site / "posts/2020-01-01-fuzz.md"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    config = validate_config({}, "_config.yml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            read_post(fuzz_site, path, config)
        except BuildError:
            pass


@pytest.mark.parametrize("text", ["---\ntitle: 2020-13-45\n---\nHi.\n", "---\ndate: 2020-02-30\n---\nHi.\n",
                                  "```python\n#| label: 2020-02-30\n1\n```\n"])
def test_impossible_dates_are_source_errors(tmp_path, text):
    path = write(tmp_path / "posts/2020-01-01-a.md", text)
    with pytest.raises(SourceError, match=r"^posts/2020-01-01-a\.md:2: "):
        read_post(tmp_path, path, validate_config({}, "_config.yml"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(front=FRONT_MATTER, body=BODY)
def test_rendering_any_readable_post_raises_only_build_errors(fuzz_site, front, body):
    from builder.core.model import ExecutedPost
    from builder.render.page import RenderContext, render_post
    from builder.render.templates import make_environment
    path = fuzz_site / "posts/2020-01-01-render.md"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(f"---\n{front}\n---\n{body}".encode("utf-8", "surrogatepass"))
    config = validate_config({}, "_config.yml")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            post = read_post(fuzz_site, path, config)
            context = RenderContext(make_environment(fuzz_site, config), config, {})
            page = render_post(ExecutedPost(post, {}, {}), context, {})
        except BuildError:
            return
    assert page.path.endswith(".html") and page.content.startswith(b"<!doctype html>")


def test_scratch_folders_of_killed_builds_are_removed(tmp_path, monkeypatch):
    import tempfile
    from builder.execute.executor import SCRATCH_PREFIX, remove_abandoned_scratch
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    child = subprocess.Popen(["true"])
    child.wait()                                                # a pid that no longer exists
    abandoned = tmp_path / f"{SCRATCH_PREFIX}{child.pid}-abc"
    alive = tmp_path / f"{SCRATCH_PREFIX}{os.getpid()}-def"
    unrelated = tmp_path / "builder-run-notapid"
    for folder in (abandoned, alive, unrelated):
        (folder / "data").mkdir(parents=True)
    remove_abandoned_scratch()
    assert not abandoned.exists() and alive.exists() and unrelated.exists()
