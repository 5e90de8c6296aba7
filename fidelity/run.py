"""Build someone else's Jekyll posts with us and with Jekyll, and compare each post's article.

The posts are read from the shared corpus and copied into a temporary folder at run time (their
text never enters this repository); missing images get placeholder files on both sides. Jekyll
gets stub layouts and includes so that its page holds just the post's own HTML. For each post we
compare the article text (whitespace collapsed, typography included) and the heading ids, write
fidelity/results.md and print a summary.

    python fidelity/run.py [--corpus DIR] [--keep DIR] [--min-identical N]
"""
from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from compare import Article, article, first_difference, similarity, structure_difference  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "minimal-mistakes-test-posts" / "_posts"
RESULTS = ROOT / "fidelity" / "results.md"
BUILD_TIMEOUT = 600
IMAGE = re.compile(r"""(?<![\w:/.])/?((?:[\w.-]+/)*[\w.-]+\.(?:jpe?g|png|gif|svg|webp))\b""")
INCLUDE = re.compile(r"\{%-?\s*include\s+([\w.-]+)")
POST_NAME = re.compile(r"^\d{4}-\d{2}-\d{2}-(.+)\.(?:md|markdown)$")
# A 1x1 transparent PNG: browsers and both builders accept it whatever the file's extension.
PLACEHOLDER = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                            "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")
# Minimal Mistakes' gallery include, in substance: its caption is part of the post's article.
JEKYLL_GALLERY = (
    "{% if include.id %}{% assign items = page[include.id] %}{% else %}{% assign items = page.gallery %}{% endif %}"
    '<figure class="gallery">{% for item in items %}{% if item.url %}<a href="{{ item.url }}" '
    'title="{{ item.title }}"><img src="{{ item.image_path }}" alt="{{ item.alt }}"></a>{% else %}'
    '<img src="{{ item.image_path }}" alt="{{ item.alt }}">{% endif %}{% endfor %}{% if include.caption %}'
    '<figcaption>{{ include.caption | markdownify | remove: "<p>" | remove: "</p>" }}</figcaption>'
    "{% endif %}</figure>\n")
THEME_INCLUDES = {"gallery": JEKYLL_GALLERY}
JEKYLL_LAYOUT = '<!doctype html><html><body><div class="fidelity-article">\n{{ content }}\n</div></body></html>\n'


@dataclass
class Row:
    post: str
    ours: str = "build failed"
    jekyll: str = "build failed"
    text: str = ""
    ids: str = ""
    structure: str = ""
    note: str = ""


def main() -> int:
    options = parse_arguments()
    if shutil.which("jekyll") is None:
        print("fidelity: SKIPPED - jekyll is not installed (as root: apt-get install -y jekyll)")
        return 0
    posts = sorted(options.corpus.glob("*.md")) + sorted(options.corpus.glob("*.markdown"))
    if not posts:
        print(f"fidelity: SKIPPED - no posts in {options.corpus}")
        return 0
    work = Path(options.keep or tempfile.mkdtemp(prefix="fidelity-"))
    try:
        rows = compare_sites(posts, work)
    finally:
        if not options.keep:
            shutil.rmtree(work, ignore_errors=True)
    write_results(rows)
    print(summary(rows))
    identical = sum(row.text == "identical" for row in rows)
    if identical < options.min_identical:
        print(f"fidelity: FAILED - {identical} identical, fewer than --min-identical {options.min_identical}")
        return 1
    return 0


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS, help="folder of Jekyll posts")
    parser.add_argument("--keep", type=Path, help="build here and keep the two sites")
    parser.add_argument("--min-identical", type=int, default=0,
                        help="exit 1 when fewer posts than this have identical article text (for CI)")
    return parser.parse_args()


def compare_sites(posts: list[Path], work: Path) -> list[Row]:
    ours, jekyll = work / "ours", work / "jekyll"
    make_our_site(posts, ours)
    make_jekyll_site(posts, jekyll)
    # --future on both sides: one of the posts is dated 9999 to test exactly that flag.
    ours_log = build(["python", "-m", "builder", "build", "--source", str(ours), "--dest", str(ours / "_site"),
                      "--no-execute", "--keep-going", "--future"], ours, "ours")
    jekyll_log = build(["jekyll", "build", "--future", "--source", str(jekyll), "--destination", str(jekyll / "_site")],
                       jekyll, "jekyll")
    return [compare_post(post, ours / "_site", jekyll / "_site", ours_log, jekyll_log) for post in posts]


def make_our_site(posts: list[Path], site: Path) -> None:
    (site / "posts").mkdir(parents=True)
    (site / "_config.yml").write_text("title: Fidelity\nurl: https://example.org\n", encoding="utf-8")
    for post in posts:
        shutil.copyfile(post, site / "posts" / post.name)
    add_placeholders(posts, site)


def make_jekyll_site(posts: list[Path], site: Path) -> None:
    (site / "_posts").mkdir(parents=True)
    (site / "_layouts").mkdir()
    (site / "_includes").mkdir()
    (site / "_config.yml").write_text(
        "title: Fidelity\nurl: https://example.org\nmarkdown: kramdown\n"
        "permalink: /:year/:month/:day/:title:output_ext\n"
        "defaults: [{scope: {path: ''}, values: {layout: default}}]\n", encoding="utf-8")
    (site / "_layouts" / "default.html").write_text(JEKYLL_LAYOUT, encoding="utf-8")
    for post in posts:
        shutil.copyfile(post, site / "_posts" / post.name)
        text = post.read_text(encoding="utf-8")
        layout = (front_matter(text).get("layout") or "default")
        if not (site / "_layouts" / f"{layout}.html").exists():
            (site / "_layouts" / f"{layout}.html").write_text("---\nlayout: default\n---\n{{ content }}\n")
        for name in INCLUDE.findall(text):   # theme includes: empty (their output is not the post's)
            (site / "_includes" / name).write_text(THEME_INCLUDES.get(name, ""), encoding="utf-8")
    add_placeholders(posts, site)


def add_placeholders(posts: list[Path], site: Path) -> None:
    """An image file for every local image path a post names, unless one is there."""
    for post in posts:
        for path in IMAGE.findall(post.read_text(encoding="utf-8")):
            target = site / path
            if ".." not in Path(path).parts and not target.exists():
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(PLACEHOLDER)


def front_matter(text: str) -> dict:
    if not text.startswith("---"):
        return {}
    try:
        data = yaml.safe_load(text.split("---", 2)[1])
    except yaml.YAMLError:
        return {}
    return data if isinstance(data, dict) else {}


def build(command: list[str], site: Path, name: str) -> str:
    """Run one builder (bounded); its output, for the table's notes."""
    if command[0] == "python":
        command[0] = sys.executable
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=BUILD_TIMEOUT)
    except subprocess.TimeoutExpired:
        return f"{name}: timed out after {BUILD_TIMEOUT} s"
    log = done.stdout + done.stderr
    print(f"fidelity: {name} build exited {done.returncode}")
    return log


def compare_post(post: Path, ours_site: Path, jekyll_site: Path, ours_log: str, jekyll_log: str) -> Row:
    row = Row(post.name)
    slug = POST_NAME.match(post.name)[1] if POST_NAME.match(post.name) else post.stem
    mine = page_article(ours_site, slug, "class", "page__content")
    theirs = page_article(jekyll_site, slug, "class", "fidelity-article")
    row.ours = "built" if mine else "build failed"
    row.jekyll = "built" if theirs else "build failed"
    if mine is None and theirs is None:
        row.ours = row.jekyll = "no page"
        row.note = "neither builder writes a page (a future date, or not published)"
    elif mine is None:
        row.note = failure_line(ours_log, post.name)
    if mine is None or theirs is None:
        return row
    row.text = "identical" if mine.text == theirs.text else f"{similarity(mine.text, theirs.text):.3f}"
    row.ids = "equal" if mine.heading_ids == theirs.heading_ids else "differ"
    row.structure = "equal" if mine.structure == theirs.structure else "differ"
    if mine.text != theirs.text:
        row.note = first_difference(mine.text, theirs.text)
    elif mine.heading_ids != theirs.heading_ids:
        row.note = f"ids ours {list(mine.heading_ids)[:4]} / Jekyll {list(theirs.heading_ids)[:4]}"
    elif mine.structure != theirs.structure:
        row.note = structure_difference(mine.structure, theirs.structure)
    return row


def page_article(site: Path, slug: str, key: str, value: str) -> Article | None:
    for candidate in (*site.rglob(f"{slug}.html"), *site.rglob(f"{slug}/index.html")):
        found = article(candidate.read_text(encoding="utf-8", errors="replace"), key, value)
        if found is not None:
            return found
    return None


def failure_line(log: str, name: str) -> str:
    """Our build's reason for failing the post: its `failed:` line, else the first line naming it."""
    lines = [line.strip() for line in log.splitlines() if name in line]
    reasons = [line.removeprefix("failed: ") for line in lines if line.startswith("failed: ")]
    return (reasons or lines or ["no page written"])[0][:160]


def write_results(rows: list[Row]) -> None:
    lines = ["# Fidelity: Minimal Mistakes test posts, ours vs Jekyll 4.3 (kramdown)", "",
             "Written by `make fidelity` (fidelity/run.py); do not edit by hand.", "",
             summary(rows), "",
             "| post | ours | Jekyll | article text | heading ids | elements | first difference or failure |",
             "| --- | --- | --- | --- | --- | --- | --- |"]
    for row in rows:
        note = row.note.replace("|", "\\|").replace("\n", " ")
        lines.append(f"| {row.post} | {row.ours} | {row.jekyll} | {row.text} | {row.ids} | {row.structure} | {note} |")
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")


def summary(rows: list[Row]) -> str:
    built = sum(row.ours == "built" for row in rows)
    jekyll = sum(row.jekyll == "built" for row in rows)
    identical = sum(row.text == "identical" for row in rows)
    ids = sum(row.ids == "equal" for row in rows)
    elements = sum(row.structure == "equal" for row in rows)
    return (f"{identical} of {len(rows)} identical article text; heading ids equal on {ids}, "
            f"elements equal on {elements}; "
            f"we built {built}, Jekyll built {jekyll}.")


if __name__ == "__main__":
    sys.exit(main())
