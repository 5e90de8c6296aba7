"""Benchmark `builder` against plain scripts and the targets from the issues.

    python bench/run.py [--quick] [--keep]

--quick: render-only scale at N=1000 only (no N=10000). --keep: keep the scratch folder.
Writes bench/results.md and prints the same table. See bench/README.md for what each row means.

Wall time: time.perf_counter() around each subprocess call. Peak memory: GNU `/usr/bin/time -f %M`
(maximum resident set size of the command and the children it waited for) when it exists,
else a small wrapper process reporting resource.getrusage(RUSAGE_CHILDREN).ru_maxrss.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.dont_write_bytecode = True  # leave no __pycache__ in bench/
sys.path.insert(0, str(Path(__file__).resolve().parent))
import corpus  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
VENV_PY = REPO / ".venv" / "bin" / "python"
PY = str(VENV_PY if VENV_PY.exists() else Path(sys.executable))
GNU_TIME = "/usr/bin/time" if Path("/usr/bin/time").exists() else None
MEMORY_METHOD = ("GNU /usr/bin/time -f %M (max RSS of the command and the children it waited for)"
                 if GNU_TIME else "wrapper process: resource.getrusage(RUSAGE_CHILDREN).ru_maxrss")
SUMMARY = re.compile(r"built (\d+) files(?: \(\d+ rendered\))? in ([\d.]+) s: (\d+) executed \(([\d.]+) s\), "
                     r"(\d+) from cache, (\d+) failed")
WRAPPER = ("import resource, subprocess, sys\n"
           "rc = subprocess.run(sys.argv[2:]).returncode\n"
           "open(sys.argv[1], 'w').write(str(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss))\n"
           "sys.exit(rc)\n")

FAILURES: list[str] = []


@dataclass
class Run:
    seconds: float
    rss_kb: int
    output: str
    rc: int

    @property
    def executed(self) -> int | None:
        match = SUMMARY.search(self.output)
        return int(match.group(3)) if match else None

    @property
    def summary(self) -> str:
        match = SUMMARY.search(self.output)
        return match.group(0) if match else "(no summary line)"


def measure(cmd: list[str], cwd: Path | None = None, env: dict | None = None, label: str = "") -> Run:
    """Run `cmd` once; wall time with perf_counter around the call, peak RSS in KiB."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss", delete=False) as handle:
        rss_file = handle.name
    if GNU_TIME:
        full = [GNU_TIME, "-f", "%M", "-o", rss_file, *cmd]
    else:
        full = [sys.executable, "-c", WRAPPER, rss_file, *cmd]
    start = time.perf_counter()
    proc = subprocess.run(full, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace")
    seconds = time.perf_counter() - start
    try:
        rss = int(Path(rss_file).read_text().strip().splitlines()[-1])
    except (ValueError, IndexError):
        rss = 0
    os.unlink(rss_file)
    if proc.returncode != 0:
        tail = "\n".join(proc.stdout.strip().splitlines()[-15:])
        FAILURES.append(f"{label or ' '.join(cmd)}: exit {proc.returncode}\n{tail}")
        print(f"  !! {label}: exit {proc.returncode}\n{tail}", file=sys.stderr)
    return Run(seconds, rss, proc.stdout, proc.returncode)


def best_of(times: int, cmd_or_fn, setup=None, label: str = "", **kwargs) -> tuple[Run, list[Run]]:
    """The fastest of `times` runs (after `setup(i)` each time); peak RSS is the max over runs."""
    runs = [one_run(i, cmd_or_fn, setup, label, **kwargs) for i in range(times)]
    return fastest(runs), runs


def best_of_alternating(times: int, first, second, setup_second=None,
                        labels: tuple[str, str] = ("", "")) -> tuple[Run, Run]:
    """The fastest of `times` runs of each of two commands, run in turn, so that a slow spell of
    the machine weighs on both sides of a ratio alike."""
    firsts, seconds = [], []
    for i in range(times):
        firsts.append(one_run(i, first, None, labels[0]))
        seconds.append(one_run(i, second, setup_second, labels[1]))
    return fastest(firsts), fastest(seconds)


def one_run(i: int, cmd_or_fn, setup, label: str, **kwargs) -> Run:
    if setup:
        setup(i)
    run = cmd_or_fn() if callable(cmd_or_fn) else measure(cmd_or_fn, label=label, **kwargs)
    print(f"  {label} #{i + 1}: {run.seconds:.3f} s, {run.rss_kb / 1024:.0f} MiB, "
          f"{run.summary if SUMMARY.search(run.output) else 'rc ' + str(run.rc)}", file=sys.stderr)
    return run


def fastest(runs: list[Run]) -> Run:
    best = min(runs, key=lambda r: r.seconds)
    return Run(best.seconds, max(r.rss_kb for r in runs), best.output, best.rc)


def build_cmd(site: Path, *extra: str) -> list[str]:
    return [PY, "-m", "builder", "build", "--source", str(site), "--dest", str(site / "_site"), *extra]


def clean_site(site: Path, products: bool = True) -> None:
    """Remove the output, the build cache (and the execution products kept in the source) for a cold build."""
    shutil.rmtree(site / "_site", ignore_errors=True)
    shutil.rmtree(site / ".build-cache", ignore_errors=True)
    if products:
        shutil.rmtree(site / "_freeze", ignore_errors=True)
        shutil.rmtree(site / "assets" / "img", ignore_errors=True)


def tutorial_script(folder: Path) -> Path:
    """The tutorial's code cells as one plain script (no `%` magics, no `#|` options)."""
    text = corpus.TUTORIAL.read_text(encoding="utf-8")
    cells = re.findall(r"(?ms)^```python\n(.*?)^```", text)
    lines = [line for cell in cells for line in cell.splitlines()
             if not line.lstrip().startswith(("%", "#|"))]
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "tutorial.py"
    script.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return script


def script_env() -> dict:
    return {**os.environ, "MPLBACKEND": "Agg"}


def run_scripts(script: Path, count: int, work: Path) -> Run:
    """`count` runs of the plain script, one after another, each in its own working directory."""
    total, rss, outputs = 0.0, 0, []
    for i in range(count):
        cwd = work / f"script-run-{i}"
        cwd.mkdir(parents=True, exist_ok=True)
        run = measure([PY, str(script)], cwd=cwd, env=script_env(), label="tutorial.py")
        total += run.seconds
        rss = max(rss, run.rss_kb)
        outputs.append(run.output)
    return Run(total, rss, "\n".join(outputs), 0)


# --------------------------------------------------------------------------- results table

ROWS: list[tuple[str, str, str, str, str, str]] = []


def row(scenario: str, measured: str, runs: str, target: str, verdict: str, notes: str = "") -> None:
    ROWS.append((scenario, measured, runs, target, verdict, notes))
    print(f"| {scenario} | {measured} | {runs} | {target} | {verdict} | {notes} |", flush=True)


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("PASS" if ok else "**FAIL**")


def mib(kb: int) -> str:
    return f"{kb / 1024:.0f} MiB"


def executed_note(run: Run, expected: int) -> tuple[bool, str]:
    got = run.executed
    return got == expected, f'printed "{got} executed" (expected {expected})'


# --------------------------------------------------------------------------- scenarios

def scenario_tutorial(work: Path, reps: int) -> Path:
    """a. the tutorial as a plain script vs a cold `build --force`; c. its no-op rebuild."""
    script = tutorial_script(work / "a")
    site = work / "a" / "site"
    (site / "posts").mkdir(parents=True, exist_ok=True)
    shutil.copy(corpus.TUTORIAL, site / "posts" / corpus.TUTORIAL.name)
    (site / "_config.yml").write_text(corpus.CONFIG, encoding="utf-8")
    # Two 3-second runs whose ratio is the target: more runs, taken in turn, steady it.
    pairs = max(reps, 5)
    scripts, build = best_of_alternating(pairs, lambda: run_scripts(script, 1, work / "a"),
                                         build_cmd(site, "--force"), setup_second=lambda i: clean_site(site),
                                         labels=("a script", "a build --force"))
    ratio = build.seconds / scripts.seconds
    ok, note = executed_note(build, 1)
    row("a. tutorial: cold `build --force` / `python tutorial.py`",
        f"{build.seconds:.2f} s / {scripts.seconds:.2f} s = **{ratio:.2f}x**", f"best of {pairs} each, in turn",
        "≤ 1.15x", verdict(ratio <= 1.15 and ok),
        f"{note}; peak RSS build {mib(build.rss_kb)}, script {mib(scripts.rss_kb)}")
    noop, _ = best_of(reps, build_cmd(site), label="c no-op")
    ok, note = executed_note(noop, 0)
    row("c. tutorial site: no-op rebuild", f"**{noop.seconds:.2f} s**", f"best of {reps}", "< 1 s, 0 executed",
        verdict(noop.seconds < 1 and ok), f"{note}; peak RSS {mib(noop.rss_kb)}")
    return script


def scenario_eight(work: Path, script: Path, reps: int) -> None:
    """b. eight executing posts with -j 2 vs eight scripts in a row; d. prose and code edits."""
    site = work / "b" / "site"
    posts = corpus.generate(8, site, executing=True)
    sequential, _ = best_of(reps, lambda: run_scripts(script, 8, work / "b"), label="b 8 scripts")
    build, _ = best_of(reps, build_cmd(site, "-j", "2"), setup=lambda i: clean_site(site),
                       label="b build -j 2")
    ratio = build.seconds / sequential.seconds
    ok, note = executed_note(build, 8)
    row("b. 8 executing posts: cold `build -j 2` / 8 scripts in a row",
        f"{build.seconds:.2f} s / {sequential.seconds:.2f} s = **{ratio:.2f}x**", f"best of {reps} each",
        "≤ 0.5x", verdict(ratio <= 0.5 and ok), f"{note}; peak RSS build {mib(build.rss_kb)}")

    target = posts[3]
    original = target.read_text(encoding="utf-8")

    def prose_edit(i: int) -> None:
        target.write_text(original + f"\n\n基准测试的散文修改 {i}。\n", encoding="utf-8")

    prose, runs = best_of(reps, build_cmd(site, "-j", "2"), setup=prose_edit, label="d prose edit")
    ok = all(r.executed == 0 for r in runs)
    row("d. 8-post site: prose edit of one post", f"**{prose.seconds:.2f} s**", f"best of {reps}",
        "0 executed", verdict(ok), f'printed {sorted({r.executed for r in runs})} executed')

    def code_edit(i: int) -> None:
        edited = original.replace("num_epochs = 1000\n", f"num_epochs = 1000  # edit {i}\n", 1)
        assert edited != original, "the tutorial no longer has `num_epochs = 1000`"
        target.write_text(edited, encoding="utf-8")

    code, runs = best_of(reps, build_cmd(site, "-j", "2"), setup=code_edit, label="d code edit")
    ok = all(r.executed == 1 for r in runs)
    row("d. 8-post site: code edit of one post", f"**{code.seconds:.2f} s**", f"best of {reps}",
        "1 executed", verdict(ok), f'printed {sorted({r.executed for r in runs})} executed; '
        f'script alone {sequential.seconds / 8:.2f} s')
    target.write_text(original, encoding="utf-8")


HUGO_CONFIG = """baseURL = 'https://bench.example.org/'
title = 'bench'
paginate = 10
[taxonomies]
  tag = 'tags'
[frontmatter]
  date = [':filename', ':default']
[markup.highlight]
  codeFences = true
  noClasses = false
[markup.goldmark.renderer]
  unsafe = true
"""
HUGO_SINGLE = ('<!doctype html><html><head><title>{{ .Title }} | {{ .Site.Title }}</title></head><body>'
               '<h1>{{ .Title }}</h1><time>{{ .Date.Format "2006-01-02" }}</time>{{ .Content }}'
               '<ul>{{ range .Params.tags }}<li>{{ . }}</li>{{ end }}</ul></body></html>\n')
HUGO_LIST = ('<!doctype html><html><head><title>{{ .Title }}</title></head><body>'
             '{{ range .Paginator.Pages }}<article><a href="{{ .RelPermalink }}">{{ .Title }}</a>'
             '<p>{{ .Summary }}</p></article>{{ end }}</body></html>\n')
JEKYLL_POST = ('<!doctype html><html><head><title>{{ page.title }} | {{ site.title }}</title></head><body>'
               '<h1>{{ page.title }}</h1><time>{{ page.date | date: "%Y-%m-%d" }}</time>{{ content }}'
               '<ul>{% for tag in page.tags %}<li>{{ tag }}</li>{% endfor %}</ul></body></html>\n')
JEKYLL_INDEX = ('---\n---\n<!doctype html><html><body>{% for post in site.posts limit:10 %}'
                '<article><a href="{{ post.url }}">{{ post.title }}</a><p>{{ post.excerpt }}</p></article>'
                '{% endfor %}</body></html>\n')


HUGO_SAME_PAGES = Path(__file__).resolve().parent / "hugo-same-pages"


@dataclass
class Peers:
    """What Hugo and Jekyll did with the same corpus, when installed."""

    hugo_cold: Run | None = None          # layouts that make pages like ours (bench/hugo-same-pages)
    hugo_minimal: Run | None = None       # title, date, content and tags only
    hugo_pagefind: Run | None = None      # Pagefind over Hugo's same pages: Hugo's usual search set-up
    jekyll_cold: Run | None = None
    jekyll_noop: Run | None = None
    jekyll_edit: Run | None = None

    def describe(self) -> str:
        def show(run: Run | None) -> str:
            return "not installed" if run is None else f"{run.seconds:.2f} s, {mib(run.rss_kb)}"
        return (f"hugo cold: {show(self.hugo_cold)} (same pages), {show(self.hugo_minimal)} (minimal layouts); "
                f"jekyll cold: {show(self.jekyll_cold)}, "
                f"--incremental no-op: {show(self.jekyll_noop)}, one edit: {show(self.jekyll_edit)}")


def other_generators(site: Path, work: Path, reps: int) -> Peers:
    """The same posts built by Hugo and by Jekyll (with minimal layouts), when they are installed."""
    peers = Peers()
    posts = sorted((site / "posts").glob("*.md"))
    if shutil.which("hugo"):
        peers.hugo_cold = hugo_cold(work / "hugo", posts, reps, same_pages=True)
        peers.hugo_minimal = hugo_cold(work / "hugo-minimal", posts, reps, same_pages=False)
        peers.hugo_pagefind = pagefind_over(work / "hugo" / "public", reps)
    if shutil.which("jekyll"):
        peers.jekyll_cold, peers.jekyll_noop, peers.jekyll_edit = jekyll_runs(work / "jekyll", site, posts, reps)
    return peers


def hugo_cold(hsite: Path, posts: list[Path], reps: int, same_pages: bool) -> Run:
    """Hugo's cold build of the corpus, with layouts like our theme's pages or with minimal ones."""
    shutil.rmtree(hsite, ignore_errors=True)
    if same_pages:
        shutil.copytree(HUGO_SAME_PAGES, hsite)
    else:
        (hsite / "layouts" / "_default").mkdir(parents=True)
        (hsite / "hugo.toml").write_text(HUGO_CONFIG)
        (hsite / "layouts" / "_default" / "single.html").write_text(HUGO_SINGLE)
        (hsite / "layouts" / "_default" / "list.html").write_text(HUGO_LIST)
    (hsite / "content" / "posts").mkdir(parents=True)
    for post in posts:
        shutil.copy(post, hsite / "content" / "posts" / post.name)
    cold, _ = best_of(reps, [shutil.which("hugo"), "--quiet", "-s", str(hsite)],
                      setup=lambda i: shutil.rmtree(hsite / "public", ignore_errors=True),
                      label="hugo cold" + ("" if same_pages else " (minimal layouts)"))
    return cold


def pagefind_over(public: Path, reps: int) -> Run | None:
    """Pagefind indexing a built site's pages, as a Hugo site's search step does after `hugo`."""
    try:
        from pagefind_bin_extended import get_executable
    except ImportError:
        return None
    command = [str(get_executable()), "--site", str(public), "--output-subdir", "pagefind"]
    run, _ = best_of(reps, command, setup=lambda i: shutil.rmtree(public / "pagefind", ignore_errors=True),
                     label="pagefind over hugo's pages")
    return run


def jekyll_runs(jsite: Path, site: Path, posts: list[Path], reps: int) -> tuple[Run, Run, Run]:
    shutil.rmtree(jsite, ignore_errors=True)
    (jsite / "_posts").mkdir(parents=True)
    (jsite / "_layouts").mkdir()
    shutil.copy(site / "_config.yml", jsite / "_config.yml")
    with (jsite / "_config.yml").open("a", encoding="utf-8") as config:
        config.write("defaults:\n  - scope: {type: posts}\n    values: {layout: post}\n")
    (jsite / "_layouts" / "post.html").write_text(JEKYLL_POST)
    (jsite / "index.html").write_text(JEKYLL_INDEX)
    for post in posts:
        shutil.copy(post, jsite / "_posts" / post.name)
    command = [shutil.which("jekyll"), "build", "--incremental", "-s", str(jsite), "-d", str(jsite / "_site")]

    def clean(i: int) -> None:
        shutil.rmtree(jsite / "_site", ignore_errors=True)
        (jsite / ".jekyll-metadata").unlink(missing_ok=True)
        shutil.rmtree(jsite / ".jekyll-cache", ignore_errors=True)

    cold, _ = best_of(1, command, setup=clean, label="jekyll cold")
    noop, _ = best_of(reps, command, label="jekyll --incremental no-op")
    edited = jsite / "_posts" / posts[len(posts) // 2].name
    original = edited.read_text(encoding="utf-8")
    edit, _ = best_of(reps, command, setup=lambda i: edited.write_text(original + f"\nEdit {i}.\n"),
                      label="jekyll --incremental one edit")
    return cold, noop, edit


def ratio_row(name: str, ours: Run, theirs: Run | None, limit: float, quoted: str) -> None:
    """Ours against a peer measured in this run; against the issue's quoted figure otherwise."""
    if theirs is None:
        row(name, f"**{ours.seconds:.2f} s** (peer not installed)", "-", quoted, "n/a", "")
        return
    value = ours.seconds / theirs.seconds
    row(name, f"{ours.seconds:.2f} s / {theirs.seconds:.2f} s = **{value:.2f}x**", "same run",
        f"≤ {limit}x", verdict(value <= limit), "")


def scenario_scale(work: Path, n: int, reps: int, per_post: dict[int, float]) -> None:
    """e. render-only scale: cold, no-op, one-post prose edit, template edit, peak RSS."""
    site = work / f"e{n}"
    started = time.perf_counter()
    posts = corpus.generate(n, site)
    shutil.copytree(REPO / "templates", site / "templates", dirs_exist_ok=True)
    print(f"  generated {n} posts in {time.perf_counter() - started:.1f} s", file=sys.stderr)
    cold_reps = reps if n <= 1000 else 1
    cold, _ = best_of(cold_reps, build_cmd(site, "--no-execute"), setup=lambda i: clean_site(site),
                      label=f"e{n} cold")
    per_post[n] = cold.seconds / n
    peers = other_generators(site, work, reps) if n == 1000 else Peers()
    target = "≤ 7.3 s (Hugo, issue 7)" if n == 1000 else "-"
    ok = cold.seconds <= 7.3 if n == 1000 else None
    row(f"e. N={n}: cold `build --no-execute`", f"**{cold.seconds:.2f} s** ({per_post[n] * 1000:.1f} ms/post)",
        "best of 3" if cold_reps == 3 else "1 run", target, verdict(ok),
        f"{cold.summary}; {peers.describe()}" if n == 1000 else cold.summary)
    row(f"e. N={n}: peak RSS of cold build", f"**{mib(cold.rss_kb)}**", f"max of {cold_reps}",
        "≤ 256 MiB (0.5x Hugo's 0.5 GB)" if n == 1000 else "- (targets are for N=1000)",
        verdict(cold.rss_kb / 1024 <= 256 if n == 1000 else None), MEMORY_METHOD.split(" (")[0])
    noop, _ = best_of(reps, build_cmd(site, "--no-execute"), label=f"e{n} no-op")
    row(f"e. N={n}: no-op rebuild", f"**{noop.seconds:.2f} s**", f"best of {reps}",
        "≤ 0.49-0.67 s (0.35x Jekyll incremental 1.4-1.9 s)" if n == 1000 else "-",
        verdict(noop.seconds <= 0.49 if n == 1000 else None),
        f"{noop.summary}; pass if ≤ 0.49 s (strict end)")
    edited = posts[n // 2]
    original = edited.read_text(encoding="utf-8")

    def prose_edit(i: int) -> None:
        edited.write_text(original + f"\nA benchmark edit, number {i}.\n", encoding="utf-8")

    prose, _ = best_of(reps, build_cmd(site, "--no-execute"), setup=prose_edit, label=f"e{n} prose edit")
    row(f"e. N={n}: one-post prose edit", f"**{prose.seconds:.2f} s**", f"best of {reps}",
        "≤ 0.96-1.2 s (0.6x Jekyll 1.6-2.0 s)" if n == 1000 else "-",
        verdict(prose.seconds <= 0.96 if n == 1000 else None),
        f"{prose.summary}; pass if ≤ 0.96 s (strict end)")
    edited.write_text(original, encoding="utf-8")
    layout = site / "templates" / "layouts" / "single.html"
    layout_text = layout.read_text(encoding="utf-8")

    def template_edit(i: int) -> None:
        layout.write_text(layout_text + f"<!-- bench template edit {i} -->\n", encoding="utf-8")

    tmpl, _ = best_of(reps, build_cmd(site, "--no-execute"), setup=template_edit, label=f"e{n} template edit")
    row(f"e. N={n}: template edit (site templates/layouts/single.html)", f"**{tmpl.seconds:.2f} s**",
        f"best of {reps}", "- (every page re-rendered)", "n/a", tmpl.summary)
    layout.write_text(layout_text, encoding="utf-8")
    if n == 1000:
        ratio_row("e. N=1000: cold build / Hugo cold build, same pages", cold, peers.hugo_cold, 1.0, "≤ 1.0x Hugo")
        searchless_rows(site, cold, peers, reps, work / "hugo")
        if peers.hugo_minimal is not None:
            value = cold.seconds / peers.hugo_minimal.seconds
            row("e. N=1000: cold build / Hugo with minimal layouts (for reference)",
                f"{cold.seconds:.2f} s / {peers.hugo_minimal.seconds:.2f} s = **{value:.2f}x**", "same run", "-",
                "n/a", "Hugo pages with only title, date, content and tags: less work than our pages")
        ratio_row("e. N=1000: no-op / Jekyll --incremental no-op", noop, peers.jekyll_noop, 0.35, "≤ 0.35x")
        ours_edit, jekyll_edit = edits_in_turn(site, work / "jekyll", edited, reps, peers)
        ratio_row("e. N=1000: one-post edit / Jekyll --incremental one edit, run in turn", ours_edit,
                  jekyll_edit, 0.6, "≤ 0.6x")
        if peers.hugo_cold is not None:
            value = cold.rss_kb / peers.hugo_cold.rss_kb
            row("e. N=1000: peak memory / Hugo's", f"{mib(cold.rss_kb)} / {mib(peers.hugo_cold.rss_kb)} = "
                f"**{value:.2f}x**", "same run", "≤ 0.5x", verdict(value <= 0.5), "")


def edits_in_turn(site: Path, jsite: Path, edited: Path, reps: int, peers: Peers) -> tuple[Run, Run | None]:
    """A one-post prose edit of ours (search on) and of Jekyll's `--incremental` site, in turn, so
    that the machine's drift between blocks of runs weighs on both alike."""
    if peers.jekyll_edit is None:
        return measure(build_cmd(site, "--no-execute"), label="e1000 prose edit"), None
    measure(build_cmd(site, "--no-execute"), label="e1000 settle")     # the earlier rows changed it
    original, theirs = edited.read_text(encoding="utf-8"), jsite / "_posts" / edited.name
    their_original = theirs.read_text(encoding="utf-8")
    jekyll = [shutil.which("jekyll"), "build", "--incremental", "-s", str(jsite), "-d", str(jsite / "_site")]

    def ours(i: int) -> Run:
        edited.write_text(original + f"\nAn edit in turn, number {i}.\n", encoding="utf-8")
        return measure(build_cmd(site, "--no-execute"), label="e1000 prose edit, in turn")

    def jekylls(i: int) -> Run:
        theirs.write_text(their_original + f"\nAn edit in turn, number {i}.\n", encoding="utf-8")
        return measure(jekyll, label="jekyll --incremental one edit, in turn")

    try:
        runs = [(ours(i), jekylls(i)) for i in range(reps)]
    finally:
        edited.write_text(original, encoding="utf-8")
        theirs.write_text(their_original, encoding="utf-8")
    for i, (mine, other) in enumerate(runs):
        print(f"  edit in turn #{i + 1}: ours {mine.seconds:.3f} s, jekyll {other.seconds:.3f} s", file=sys.stderr)
    return fastest([mine for mine, _ in runs]), fastest([other for _, other in runs])


def searchless_rows(site: Path, cold: Run, peers: Peers, reps: int, hsite: Path) -> None:
    """Like for like: our cold build without a search index against Hugo's (which builds none),
    the two run in turn (each cold build deletes a thousand folders and files the next one
    re-creates, and this machine's system time for that drifts from run to run); and ours with
    search against Hugo followed by Pagefind over its pages."""
    config = site / "_config.yml"
    settings = config.read_text(encoding="utf-8")
    config.write_text(settings + "search: false\n", encoding="utf-8")

    def ours() -> Run:
        clean_site(site)
        return measure(build_cmd(site, "--no-execute"), label="e1000 cold, search: false")

    def hugo() -> Run:
        shutil.rmtree(hsite / "public", ignore_errors=True)
        return measure([shutil.which("hugo"), "--quiet", "-s", str(hsite)], label="hugo cold, in turn")

    try:
        if peers.hugo_cold is not None:
            bare, theirs = best_of_alternating(reps, ours, hugo, labels=("e1000 cold, search: false", "hugo cold"))
        else:
            bare, theirs = best_of(reps, ours, label="e1000 cold, search: false")[0], None
    finally:
        config.write_text(settings, encoding="utf-8")
    ratio_row("e. N=1000: cold build with `search: false` / Hugo cold build, run in turn (neither builds a "
              "search index)", bare, theirs, 1.0, "≤ 1.0x Hugo")
    if peers.hugo_cold is not None and peers.hugo_pagefind is not None:
        both = peers.hugo_cold.seconds + peers.hugo_pagefind.seconds
        row("e. N=1000: cold build with search / Hugo cold build + Pagefind over its pages",
            f"{cold.seconds:.2f} s / ({peers.hugo_cold.seconds:.2f} + {peers.hugo_pagefind.seconds:.2f}) s = "
            f"**{cold.seconds / both:.2f}x**", "same run", "- (for reference)", "n/a",
            "the same work on both sides: Hugo sites get search by running Pagefind after `hugo`")


# --------------------------------------------------------------------------- machine info, output

def machine_info() -> list[str]:
    versions = subprocess.run([PY, "-c", "import sys, torch; print(sys.version.split()[0], torch.__version__)"],
                              capture_output=True, text=True).stdout.split()
    cpu = ""
    if Path("/proc/cpuinfo").exists():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem = ""
    if Path("/proc/meminfo").exists():
        first = Path("/proc/meminfo").read_text().splitlines()[0].split()
        mem = f"{int(first[1]) / 1024 / 1024:.1f} GiB RAM"
    info = [f"- nproc: {os.cpu_count()}" + (f" ({cpu})" if cpu else "") + (f", {mem}" if mem else ""),
            f"- python: {versions[0] if versions else '?'}, torch: {versions[1] if len(versions) > 1 else '?'}",
            f"- platform: {platform.platform()}",
            f"- peak memory: {MEMORY_METHOD}",
            "- wall time: time.perf_counter() around each subprocess call (includes interpreter start-up)"]
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        info.insert(0, f"- date: {time.strftime('%Y-%m-%d', time.gmtime(int(epoch)))} (SOURCE_DATE_EPOCH)")
    return info


# Benchmarks with tables of their own: each writes bench/<name>-results.md; the row says whether it ran.
COMPANIONS = [
    ("f", "stress.py", "faulty builds under `timeout`", "exit ≤ 2 s after the end of work or a signal; no process left"),
    ("g", "schedule.py", "24 sleep posts `-j 2`, longest first; 200-post, 15-worker simulation",
     "makespan ≤ 1.15x max(longest, total/2)"),
    ("h", "cluster.py", "the same posts and the tutorial on a local Ray cluster",
     "≤ 1.15x max(longest, total/3); ≤ 0.4x local -j 1; tutorial ≤ 1.3x local"),
    ("i", "tutorials.py", "PyTorch tutorials vs sphinx-gallery; serve code edit",
     "cold ≤ 0.6x; prose edit 0 executed; serve ≤ 0.5x cold --force"),
    ("j", "search_fetch.py", "bytes one search query fetches, 1,000-post corpus", "≤ 1/10 of the corpus text"),
]
COMPANION_TIMEOUT = 3600    # seconds; the tutorials row alone builds a dozen real tutorials twice


def run_companion(letter: str, script: str, scenario: str, target: str) -> None:
    """Run one companion benchmark and add a row that points at its own results table."""
    try:
        done = subprocess.run([PY, str(REPO / "bench" / script)], cwd=REPO, capture_output=True,
                              timeout=COMPANION_TIMEOUT)
        outcome = "ran" if done.returncode == 0 else f"exit {done.returncode}"
        lines = done.stdout.decode("utf-8", "replace").strip().splitlines()
        last = lines[-1].replace("|", "/")[:200] if lines else ""
    except subprocess.TimeoutExpired:
        outcome, last = f"stopped after {COMPANION_TIMEOUT} s", ""
    results = f"bench/{script.removesuffix('.py')}-results.md"
    row(f"{letter}. {scenario} (bench/{script})", results if (REPO / results).exists() else "printed only",
        "1", target, outcome, last)


def write_results(info: list[str], command: str, per_post: dict[int, float]) -> Path:
    lines = ["# builder benchmark results", "",
             f"`{command}`; see bench/README.md for the scenarios.", "",
             *info, "",
             "| scenario | measured | runs | target | result | notes |",
             "| --- | --- | --- | --- | --- | --- |",
             *(f"| {' | '.join(r)} |" for r in ROWS), ""]
    if FAILURES:
        lines += ["## Failures", ""] + [f"```\n{f}\n```" for f in FAILURES] + [""]
    path = REPO / "bench" / "results.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def main() -> int:
    parser = argparse.ArgumentParser(description="Benchmark builder (see bench/README.md).")
    parser.add_argument("--quick", action="store_true", help="render-only scale at N=1000 only")
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--only", default="abcdefghij", help="scenario letters to run (default: all, abcdefghij)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="builder-bench-"))
    info = machine_info()
    print("\n".join(info))
    print("\n| scenario | measured | runs | target | result | notes |\n| --- | --- | --- | --- | --- | --- |")
    per_post: dict[int, float] = {}
    try:
        script = tutorial_script(work / "a")
        if set("ac") & set(args.only):
            script = scenario_tutorial(work, 3)
        if set("bd") & set(args.only):
            scenario_eight(work, script, 3)
        if "e" in args.only:
            for n in ([1000] if args.quick else [1000, 10000]):
                scenario_scale(work, n, 3, per_post)
            if 1000 in per_post and 10000 in per_post:
                ratio = per_post[10000] / per_post[1000]
                row("e. per-post time N=10000 / N=1000", f"**{ratio:.2f}x**", "from the cold rows",
                    "≤ 1.2x", verdict(ratio <= 1.2),
                    f"{per_post[1000] * 1000:.1f} vs {per_post[10000] * 1000:.1f} ms/post")
            else:
                row("e. per-post time N=10000 / N=1000", "not measured (--quick)", "-", "≤ 1.2x", "n/a")
        for letter, script, scenario, target in COMPANIONS:
            if letter in args.only:
                run_companion(letter, script, scenario, target)
    finally:
        path = write_results(info, " ".join(["python bench/run.py", *sys.argv[1:]]), per_post)
        print(f"\nwrote {path.relative_to(REPO)}; scratch folder {work}"
              + (" kept" if args.keep else " removed"))
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    if FAILURES:
        print(f"\n{len(FAILURES)} command(s) failed; see bench/results.md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
