"""Real tutorials: the official PyTorch tutorial scripts, imported and built, against sphinx-gallery;
and `serve`'s code-edit-to-page time on this repository's tutorial post.

    python bench/tutorials.py [--keep]

The scripts are read from ../shared/corpora/pytorch-tutorials (its README lists which run offline
on a CPU) and copied into a scratch folder at run time; nothing of theirs enters the repository.
sphinx-gallery (bench/requirements-tutorials.txt) is installed in a venv of its own under the
system temp folder, which sees this repository's .venv packages (torch, numpy) through a .pth file.
Writes bench/tutorials-results.md and prints the same table.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

sys.dont_write_bytecode = True
REPO = Path(__file__).resolve().parent.parent
PY = str(REPO / ".venv" / "bin" / "python")
CORPUS = REPO.parent / "shared" / "corpora" / "pytorch-tutorials" / "beginner_source"
SG_VENV = Path(tempfile.gettempdir()) / "builder-bench-sphinx-gallery"
SG_REQUIREMENTS = REPO / "bench" / "requirements-tutorials.txt"
RESULTS = REPO / "bench" / "tutorials-results.md"
# Scripts the corpus README says fail offline on a CPU, or that need what is not installed.
NOT_RUN = {"examples_nn/dynamic_net.py": "pre-0.4 API (`loss.data[0]`), fails on current PyTorch"}
NEEDS = {"basics/buildmodel_tutorial.py": "torchvision"}
RUN_TIME = re.compile(r"done +posts/\S+ in ([\d.]+) s")
SUMMARY = re.compile(r"built \d+ files(?: \(\d+ rendered\))? in [\d.]+ s: (\d+) executed")
PROSE_EDIT = ("Warm-up: numpy", "warm-up-numpy")     # the script edited, and its post's slug
SG_CONF = """
extensions = ["sphinx_gallery.gen_gallery"]
project = "tutorials"
sphinx_gallery_conf = {"examples_dirs": "examples", "gallery_dirs": "auto_examples",
                       "filename_pattern": ".*", "plot_gallery": "True", "download_all_examples": False}
"""
TUTORIAL_POST = "posts/2017-08-11-pytorch-linear-regression.md"
TUTORIAL_PAGE = "_site/tutorial/2017/08/11/pytorch-linear-regression.html"   # categories: [tutorial]
ROWS: list[str] = []
NOTES: list[str] = []


def scripts() -> list[Path]:
    """The corpus scripts that run here, in a fixed order."""
    chosen = []
    for path in sorted(CORPUS.glob("*/*.py")):
        relative = path.relative_to(CORPUS).as_posix()
        missing = NEEDS.get(relative)
        if relative in NOT_RUN:
            NOTES.append(f"left out {relative}: {NOT_RUN[relative]}")
        elif missing and subprocess.run([PY, "-c", f"import {missing}"], capture_output=True).returncode:
            NOTES.append(f"left out {relative}: needs {missing}, not installed here")
        else:
            chosen.append(path)
    return chosen


def sphinx_gallery_python() -> str:
    """The python of a venv with sphinx-gallery that also sees this repository's .venv packages."""
    python = SG_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([PY, "-m", "venv", str(SG_VENV)], check=True, timeout=300)
        purelib = subprocess.run([PY, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                 capture_output=True, text=True, check=True).stdout.strip()
        own = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
        Path(own, "builder-venv.pth").write_text(purelib + "\n", encoding="utf-8")
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(SG_REQUIREMENTS)],
                       check=True, timeout=600)
    return str(python)


def timed(cmd: list[str], cwd: Path | None = None) -> tuple[float, str]:
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          errors="replace", timeout=1800)
    seconds = time.perf_counter() - start
    if proc.returncode:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stdout[-3000:]}")
    return seconds, proc.stdout


def builder_run(site: Path) -> tuple[float, int]:
    seconds, output = timed([PY, "-m", "builder", "build", "--source", str(site)])
    return seconds, int(SUMMARY.search(output)[1])


def sphinx_run(python: str, project: Path) -> tuple[float, int]:
    """Seconds, and the scripts executed: sphinx-gallery rewrites a script's `.py.md5` when it runs it."""
    started = time.time()
    seconds, _ = timed([python, "-m", "sphinx", "-b", "html", "-q", str(project), str(project / "_build")])
    executed = [path for path in (project / "auto_examples").glob("*.py.md5") if path.stat().st_mtime >= started]
    return seconds, len(executed)


def set_up(work: Path, chosen: list[Path]) -> tuple[Path, Path]:
    """A builder site made by `import` and a sphinx-gallery project, from copies of the scripts."""
    copies, site, project = work / "scripts", work / "site", work / "sphinx"
    (project / "examples").mkdir(parents=True)
    copies.mkdir()
    for path in chosen:
        name = path.relative_to(CORPUS).as_posix().replace("/", "__")
        shutil.copyfile(path, copies / name)
        shutil.copyfile(path, project / "examples" / name)
    (project / "conf.py").write_text(SG_CONF, encoding="utf-8")
    (project / "index.rst").write_text("Tutorials\n=========\n\n.. toctree::\n\n   auto_examples/index\n")
    (project / "examples" / "README.txt").write_text("Tutorials\n=========\n")
    (site / "_config.yml").parent.mkdir(parents=True)
    (site / "_config.yml").write_text("title: Tutorials\nbaseurl: ''\n", encoding="utf-8")
    start = time.perf_counter()
    for copy in sorted(copies.iterdir()):
        timed([PY, "-m", "builder", "import", str(copy), "--source", str(site), "--date", "2024-01-01"])
    NOTES.append(f"`import` of the {len(chosen)} scripts: {time.perf_counter() - start:.2f} s "
                 "(one process per script)")
    return site, project


def edit_prose(site: Path, project: Path) -> None:
    """The same one-word prose edit in the post and in the script it came from."""
    post = next(site.glob(f"posts/*-{PROSE_EDIT[1]}.md"))
    post.write_text(post.read_text(encoding="utf-8").replace(" numpy ", " NumPy ", 1), encoding="utf-8")
    script = next(path for path in (project / "examples").iterdir() if PROSE_EDIT[0] in path.read_text())
    script.write_text(script.read_text(encoding="utf-8").replace(" numpy ", " NumPy ", 1), encoding="utf-8")


def row(name: str, ours: tuple[float, int], theirs: tuple[float, int], target: str) -> None:
    ratio = ours[0] / theirs[0]
    ROWS.append(f"| {name} | {ours[0]:.2f} s ({ours[1]} executed) | {theirs[0]:.2f} s ({theirs[1]} executed) "
                f"| {ratio:.2f}x | {target} |")
    print(ROWS[-1], flush=True)


def gallery_rows(work: Path) -> None:
    chosen = scripts()
    python = sphinx_gallery_python()
    site, project = set_up(work, chosen)
    sg_cold, ours_cold = sphinx_run(python, project), builder_run(site)
    row(f"{len(chosen)} PyTorch tutorials, cold build", ours_cold, sg_cold, "≤ 0.6x")
    sg_noop = min(sphinx_run(python, project) for _ in range(3))
    ours_noop = min(builder_run(site) for _ in range(3))
    row("no-op rebuild (best of 3)", ours_noop, sg_noop, "")
    edit_prose(site, project)
    sg_prose, ours_prose = sphinx_run(python, project), builder_run(site)
    row(f"prose edit of one ({PROSE_EDIT[0]})", ours_prose, sg_prose, "0 posts executed")


def serve_rows(work: Path) -> None:
    """Cold `build --force` of the tutorial post vs code edit to rebuilt page under `serve`."""
    site = work / "repo-site"
    site.mkdir()
    for name in ("posts", "assets", "_freeze", "_config.yml"):
        source = REPO / name
        (shutil.copytree if source.is_dir() else shutil.copyfile)(source, site / name)
    builder_run(site)
    colds = [timed([PY, "-m", "builder", "build", "--source", str(site), "--force", TUTORIAL_POST])
             for _ in range(3)]
    cold = min(seconds for seconds, _ in colds)
    NOTES.append("the post's own run (kernel start to last cell) in the cold builds: "
                 + ", ".join(RUN_TIME.findall("".join(output for _, output in colds))) + " s")
    edits = serve_edits(site, 3)
    median = sorted(edits)[len(edits) // 2]
    ROWS.append(f"| tutorial post: `serve` code edit → page written (median of {len(edits)}: "
                f"{', '.join(f'{s:.2f}' for s in edits)}) | {median:.2f} s | cold `build --force` "
                f"{cold:.2f} s (best of 3) | {median / cold:.2f}x | ≤ 0.5x |")
    print(ROWS[-1], flush=True)


def serve_edits(site: Path, count: int) -> list[float]:
    """Seconds from writing a code edit to the page holding its output, for `count` edits."""
    server = subprocess.Popen([PY, "-m", "builder", "serve", "--source", str(site), "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        for line in server.stdout:
            if line.startswith("serving "):
                break
        post, page, seconds = site / TUTORIAL_POST, site / TUTORIAL_PAGE, []
        original = post.read_text(encoding="utf-8")
        for number in range(1, count + 1):
            marker = f"bench-edit-{number}"
            text = original.replace("```python\n", f"```python\nprint('{marker}')\n", 1)
            start = time.perf_counter()
            post.write_text(text, encoding="utf-8")
            while marker not in page.read_text(encoding="utf-8", errors="replace"):
                if time.perf_counter() - start > 120 or server.poll() is not None:
                    sys.exit(f"serve did not rebuild the page for {marker}")
                time.sleep(0.005)
            seconds.append(time.perf_counter() - start)
            time.sleep(1.0)                 # let the rebuild finish writing the other pages
        return seconds
    finally:
        server.send_signal(signal.SIGINT)
        rest = server.communicate(timeout=30)[0]
        NOTES.append("the post's own run under `serve` (warm kernel): "
                     + ", ".join(RUN_TIME.findall(rest)) + " s")


def write_results() -> None:
    torch = subprocess.run([PY, "-c", "import torch; print(torch.__version__)"], capture_output=True,
                           text=True).stdout.strip()
    text = ["# Real tutorials: builder vs sphinx-gallery, and `serve`", "",
            f"`python bench/tutorials.py` on {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"torch {torch}, {SG_REQUIREMENTS.read_text().split(chr(10), 1)[1].strip().replace(chr(10), ', ')}. "
            "One run of each cold build; wall time of the whole command (interpreter start-up included).",
            "", "| scenario | builder | comparison | ratio | target |", "| --- | --- | --- | --- | --- |",
            *ROWS, "", *[f"- {note}" for note in NOTES], ""]
    RESULTS.write_text("\n".join(text), encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--keep", action="store_true", help="keep the scratch folder")
    parser.add_argument("--only", default="gs", help="g: gallery rows, s: serve row (default: both)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="builder-bench-tutorials-"))
    load = os.getloadavg()[0]
    try:
        if "g" in args.only:
            gallery_rows(work)
        if "s" in args.only:
            serve_rows(work)
        NOTES.append(f"load average (1 min) at the start / end of the run: {load:.1f} / {os.getloadavg()[0]:.1f}"
                     f" on {os.cpu_count()} cores (other work on the machine slows both sides)")
        write_results()
    finally:
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
