"""Citations in prose: `[@key]`, `[@key, p. 3]` and `[@a; @b]`, formatted by citeproc-py (its
CSL style) from the post's or site's BibTeX file, with a References list at the end of the post,
and the "Cite this post" BibTeX block for posts with `cite: true`."""
from __future__ import annotations

import base64
import functools
import re
from html import escape
from pathlib import Path

from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markupsafe import Markup

from builder.core.errors import ConfigError, Location, SourceError
from builder.core.config import CITATION_STYLES
from builder.core.model import Post, Prose

MARK = "\ue000"                 # private use: authors never type it (see render/markup.py)
MARKER = re.compile(MARK + "cite:([A-Za-z0-9+/=]*)" + MARK)
CITATION = r"\[(@[^\[\]\n]+)\]"
KEY = re.compile(r"@([A-Za-z0-9_][\w:.#$%&+?~/-]*?)(?=[,;\s]|$)")
LOCATORS = {"p.": "page", "pp.": "page", "page": "page", "chap.": "chapter", "ch.": "chapter",
            "sec.": "section", "§": "section", "fig.": "figure", "eq.": "equation"}
STYLES = CITATION_STYLES
CSL_STYLE = "harvard-cite-them-right"     # the CSL style citeproc-py ships


class CitationExtension(Extension):
    """Turns each `[@key ...]` into a marker that `cite_post` formats once the whole post is known."""

    def extendMarkdown(self, md) -> None:
        # before links (160), so that [@key] is never read as a link reference
        md.inlinePatterns.register(CitationPattern(CITATION, md), "builder_citation", 175)


class CitationPattern(InlineProcessor):
    def handleMatch(self, match, data):
        encoded = base64.b64encode(match.group(1).encode("utf-8")).decode("ascii")
        return f"{MARK}cite:{encoded}{MARK}", match.start(0), match.end(0)


def parse_citation(text: str) -> list[tuple[str, str]]:
    """(key, locator) of each item of `@a, p. 3; @b`."""
    items = []
    for part in text.split(";"):
        match = KEY.search(part)
        if match:
            items.append((match.group(1), part[match.end():].strip(" ,")))
    return items


def cited_keys(post: Post) -> list[tuple[str, int]]:
    """Each cited key with the source line it is cited on, in the order written."""
    found = []
    for block in post.blocks:
        if isinstance(block, Prose):
            for number, line in enumerate(block.text.split("\n")):
                for match in re.finditer(CITATION, line):
                    found += [(key, block.line + number) for key, _ in parse_citation(match.group(1))]
    return found


def bibliography_path(post: Post, config) -> str | None:
    """The post's `bibliography:`, else the site's, else None."""
    return post.get("bibliography") or config.bibliography or None


def citation_style(post: Post, config) -> str:
    """`citation-style:` of the post or the site: author-year (the default) or numeric."""
    style = post.get("citation-style") or config.citation_style
    if style not in STYLES:
        raise SourceError(f"citation-style is {style!r}, not one of {', '.join(STYLES)}", post.path,
                          "Write `citation-style: author-year` or `citation-style: numeric`.")
    return style


@functools.lru_cache(maxsize=8)
def load_bibtex(path: str, stamp: tuple):
    """citeproc-py's reading of one BibTeX file (cached while the file is unchanged)."""
    from citeproc.source.bibtex import BibTeX
    return BibTeX(path, encoding="utf-8")


def read_bibliography(post: Post, site_dir: Path, name: str):
    path = site_dir / name
    if not path.is_file():
        raise SourceError(f"the bibliography {name} does not exist", post.path,
                          f"Put the BibTeX file at {name} in the site folder, or fix `bibliography:`.")
    stat = path.stat()
    return load_bibtex(str(path), (stat.st_mtime_ns, stat.st_size))


def check_keys(post: Post, source, name: str) -> None:
    """A SourceError naming the line of the first key that the bibliography lacks."""
    known = {key.lower() for key in source}
    for key, line in cited_keys(post):
        if key.lower() not in known:
            raise SourceError(f"citation @{key} is not in the bibliography {name}", Location(post.path, line),
                              f"Add an entry `{key}` to {name}, or fix the key (known: "
                              f"{', '.join(sorted(source)[:8]) or 'none'}).")


def locator_of(text: str) -> dict:
    """CitationItem's `locator` for `p. 3`, `chap. 2`, ... (a bare one is a page); {} for none."""
    from citeproc import Locator
    if not text:
        return {}
    label, _, rest = text.partition(" ")
    if label.lower() in LOCATORS and rest:
        return {"locator": Locator(LOCATORS[label.lower()], rest.strip())}
    return {"locator": Locator("page", text)}


def format_citations(html: str, post: Post, site_dir: Path, config) -> tuple[str, list[tuple[str, str, str]]]:
    """The body with each citation marker formatted, and the references as (id, label, entry HTML)."""
    markers = [base64.b64decode(m).decode("utf-8") for m in MARKER.findall(html)]
    if not markers:
        return html, []
    name = bibliography_path(post, config)
    if not name:
        line = next((line for _, line in cited_keys(post)), None)
        raise SourceError("the post cites [@...] but names no bibliography", Location(post.path, line),
                          "Add `bibliography: refs.bib` to the front matter or to _config.yml.")
    source = read_bibliography(post, site_dir, name)
    check_keys(post, source, name)
    return render_citations(html, [parse_citation(text) for text in markers], source,
                            citation_style(post, config))


def render_citations(html: str, citations: list, source, style: str):
    from citeproc import Citation, CitationItem, CitationStylesBibliography, CitationStylesStyle, formatter
    bibliography = CitationStylesBibliography(CitationStylesStyle(CSL_STYLE, validate=False), source, formatter.html)
    cites = [Citation([CitationItem(key.lower(), **locator_of(locator)) for key, locator in items])
             for items in citations]
    for cite in cites:
        bibliography.register(cite)
    numbers = {key: index + 1 for index, key in enumerate(bibliography.keys)}   # order of first citation
    if style == "author-year":
        bibliography.sort()
    entries = [(f"ref-{slug(item.key)}", item.key, str(text))
               for item, text in zip(bibliography.items, bibliography.bibliography())]
    previews = {key: plain(text) for _, key, text in entries}
    texts = iter([in_text(bibliography, cite, items, numbers, previews, style) for cite, items in zip(cites, citations)])
    references = [(ref_id, f"[{numbers[key]}]" if style == "numeric" else "", text) for ref_id, key, text in entries]
    return MARKER.sub(lambda _: next(texts), html), references


def in_text(bibliography, cite, items, numbers, previews, style) -> str:
    """One citation as a link to its first reference, with every cited entry as its preview."""
    keys = [key.lower() for key, _ in items]
    if style == "numeric":
        label = "[" + "; ".join(f"{numbers[key]}" + (f", {locator}" if locator else "")
                                for key, (_, locator) in zip(keys, items)) + "]"
        label = escape(label)
    else:
        label = str(bibliography.cite(cite, lambda item: None))
    described = " ".join(f"ref-{slug(key)}" for key in keys)
    # Shown by the style sheet on hover and on keyboard focus (a title shows on hover only).
    preview = escape(" ".join(previews[key] for key in keys))
    return (f'<a class="citation" href="#ref-{slug(keys[0])}" data-preview="{preview}" '
            f'aria-describedby="{described}">{label}</a>')


def slug(key: str) -> str:
    """A key as an id fragment."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", key)


def plain(entry_html: str) -> str:
    """A formatted entry without its tags, for a tooltip."""
    import html
    return html.unescape(re.sub(r"<[^>]+>", "", entry_html))


def cites_post(post: Post, config) -> bool:
    """Whether the post shows "Cite this post" and the citation_* tags (`cite: true`)."""
    chosen = post.get("cite")
    return bool(config.cite if chosen is None else chosen)


def post_bibtex(post: Post, config) -> str:
    """A BibTeX @online entry for the post, from its front matter and the site's settings."""
    authors = " and ".join(author_names(post, config)) or config.title
    url = config.site_url + config.base + post.url
    fields = [("title", str(post.title)), ("author", authors), ("year", f"{post.date:%Y}"),
              ("month", f"{post.date:%m}"), ("url", url)]
    key = entry_key(author_names(post, config), post)
    body = ",\n".join(f"  {name} = {{{bibtex_text(value)}}}" for name, value in fields if value)
    return f"@online{{{key},\n{body}\n}}"


def entry_key(authors: list[str], post: Post) -> str:
    """A BibTeX key such as lovelace2024attention: first author's last name, year, slug's first word."""
    surname = re.sub(r"[^a-z0-9]", "", authors[0].split()[-1].lower()) if authors and authors[0].split() else ""
    word = re.sub(r"[^a-z0-9]", "", post.slug.split("-")[0].lower())
    return f"{surname or 'post'}{post.date:%Y}{word}"


def bibtex_text(value: str) -> str:
    """A value safe inside BibTeX braces: braces and backslashes escaped."""
    return re.sub(r"([{}\\])", r"\\\1", value)


def author_names(post: Post, config) -> list[str]:
    """The post's `author:` (a name, a list of names or a mapping with `name`), else the site's."""
    author = post.get("author") or config.author
    authors = author if isinstance(author, list) else [author]
    names = [a.get("name") if isinstance(a, dict) else a for a in authors]
    return [str(name) for name in names if name]


def add_citations(html: str, post: Post, env, site_dir: Path, config) -> str:
    """The post body with its citations formatted, its References and its "Cite this post" block."""
    from builder.render.templates import render_template
    html, references = format_citations(html, post, site_dir, config)
    if references:
        html += render_template(env, "includes/references.html", {
            "references": [(ref_id, label, Markup(text)) for ref_id, label, text in references],
            "numbered": bool(references[0][1])})
    if cites_post(post, config):
        html += render_template(env, "includes/cite-this.html", {"bibtex": post_bibtex(post, config)})
    return html


def bibliography_stamp(post: Post, config, site_dir: Path) -> tuple:
    """What of the bibliography a post's page depends on: its file's size and time, if it cites."""
    name = bibliography_path(post, config)
    if not name or not any("[@" in block.text for block in post.blocks if isinstance(block, Prose)):
        return ()
    path = site_dir / name
    stat = path.stat() if path.is_file() else None
    return (name, stat.st_mtime_ns, stat.st_size) if stat else (name,)
