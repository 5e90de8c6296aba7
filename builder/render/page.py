"""Executed posts and listings to HTML pages through the Jinja layouts."""
from __future__ import annotations

import base64
import functools
import math
from html import escape
import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Mapping

import jinja2
from markupsafe import Markup

from builder.core.config import SiteConfig
from builder.core.errors import Location, TemplateError
from builder.render.liquid import LiquidContext
from builder.render.charts import chart_variables
from builder.render.citations import add_citations
from builder.render.logchart import parse_training_log, render_chart_svg
from builder.render.notebook import colab_url, notebook_path
from builder.core.model import CodeCell, ExecutedPost, Output, Page, Post, Prose
from builder.core.schema import FrontMatter
from builder.source.layouts import layout_file
from builder.source.reader import as_list
from builder.render.templates import render_template
from builder.core.urls import output_path

MAX_HTML_OUTPUT = 200_000      # characters; a whole DataFrame printed as HTML stays off the page
PUBLISHED_BRANCH = "gh-pages"    # where `make publish` puts the site, notebooks included
CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff]")
# A code span (its backticks dropped) or inline math (kept whole, as TeX) in an excerpt's text.
LITERAL_SPAN = re.compile(r"(`+)(.+?)\1|\$(?:\\.|[^$\\\n])+\$")
EMPHASIS_MARKS = re.compile(r"[*_`>]")
# A Latin word is a run of these characters. In the ASCII-encoded text (a non-ASCII character
# encodes as "?") they become "a" and every other byte a space: a word starts at each " a".
WORD_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_'")
WORDS_AS_A = bytes(ord("a") if byte in WORD_BYTES else ord(" ") for byte in range(256))
SITE_LISTS = re.compile(r"\bsite\s*(\.\s*(posts|tags|categories)\b|\[)")


@dataclass(frozen=True)
class PageView:
    """`page` in the templates: what rendering computed, then the front matter's keys.

    A key the front matter declares reads as its value or its declared default; a site's own
    keys (Jekyll sites use custom ones) read as written: `page.my_key`.
    """

    title: str
    url: str
    layout: str = "single"
    front: FrontMatter = field(default_factory=FrontMatter)
    date: datetime | None = None
    path: str = ""
    collection: str = ""
    excerpt: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    modified: Any = None
    toc: bool = False
    toc_html: Markup = Markup("")
    reading_time: int = 0
    provenance: Mapping[str, Any] | None = None
    notebook: str | None = None             # the post as a notebook, site-relative
    colab: str | None = None
    previous: Mapping[str, Any] | None = None
    next: Mapping[str, Any] | None = None
    series_box: Mapping[str, Any] | None = None
    related_posts: list[Mapping[str, Any]] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        front = self.__dict__.get("front")
        if front is None:
            raise AttributeError(name)
        return getattr(front, name)


def listing_page(title: str, url: str, layout: str) -> PageView:
    """`page` for a page made of other pages: home, tags, archive, 404."""
    return PageView(title=title, url=url, layout=layout)


@dataclass(frozen=True)
class RenderContext:
    """What every page render needs, made once per build."""

    env: jinja2.Environment
    config: SiteConfig
    posts_by_name: Mapping[str, str]     # post file stem -> site-relative URL
    site_dir: Path = Path(".")           # where `bibliography:` files are found
    posts: tuple[Post, ...] = ()         # published posts, newest first

    @functools.cached_property
    def site(self) -> dict[str, Any]:
        """`site` for templates and Liquid; made once, since every cell output reads it."""
        return dict(self.config.values, baseurl=self.config.base, url=self.config.site_url)

    @functools.cached_property
    def site_with_lists(self) -> dict[str, Any]:
        """`site` plus Jekyll's `site.posts`, `site.tags` and `site.categories`, for Liquid that loops
        over them; made once, and only when some post's prose mentions them."""
        posts = [listed_post(post) for post in self.posts]
        return dict(self.site, posts=posts, tags=grouped(posts, "tags"), categories=grouped(posts, "categories"))

    @functools.cached_property
    def site_lists_stamp(self) -> str:
        """What `site_with_lists` shows of every post, for the render key of the pages that use it."""
        return repr([sorted(post.items()) for post in self.site_with_lists["posts"]])


def shows_site_lists(post: Post) -> bool:
    """Whether the post's prose names `site.posts`, `site.tags` or `site.categories` (or indexes `site`)."""
    return any(isinstance(block, Prose) and mentions_site_lists(block.text) for block in post.blocks)


def mentions_site_lists(text: str) -> bool:
    # Substring checks first: the regex, with its leading \b, scans slowly, and most prose has no Liquid.
    return ("{{" in text or "{%" in text) and "site" in text and SITE_LISTS.search(text) is not None


def listed_post(post: Post) -> dict[str, Any]:
    """A post as Jekyll's `site.posts` gives it: front matter keys, then what rendering computed."""
    return dict(post.front_matter, title=post.title, url=post.url, date=post.date, excerpt=excerpt_of(post),
                tags=as_list(post.get("tags")), categories=as_list(post.get("categories")))


def grouped(posts: list[dict[str, Any]], key: str) -> dict[str, list[dict[str, Any]]]:
    """name -> its posts, newest first; names in the order the oldest posts first use them, as Jekyll."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for post in reversed(posts):
        for name in post[key]:
            groups.setdefault(str(name), []).insert(0, post)
    return groups


def markup():
    """The Markdown stage, imported on first use: a rebuild that renders nothing never loads it."""
    from builder.render import markup as module
    return module


def render_post(executed: ExecutedPost, context: RenderContext, neighbours: dict[str, Any]) -> Page:
    """The post's page: body with cell outputs, in its layout."""
    post = executed.post
    toc_requests: list[dict[str, str]] = []
    liquid = liquid_context(post, context, toc_requests)
    body = markup().render_body(executed, liquid, lambda cell, outputs: render_cell(cell, outputs, post, context))
    page = page_view(post, executed, body.toc, context, neighbours)
    html = add_citations(body.html, post, context.env, context.site_dir, context.config)
    if body.toc_placed:
        title = toc_requests[0].get("title") if toc_requests else None
        html = html.replace(markup().TOC_MARKER, render_template(
            context.env, "includes/toc.html", {"site": context.site, "page": page, "toc_title": title}), 1)
        html = html.replace(markup().TOC_MARKER, "")
        page = replace(page, toc=False)   # already shown in the body
    layout = layout_file(page.layout, lambda name: template_exists(context.env, name))
    result = render_template(context.env, layout, {"site": context.site, "page": page, "content": Markup(html)})
    return Page(output_path(post.url, post.path), result.encode("utf-8"))


def template_exists(env: jinja2.Environment, name: str) -> bool:
    try:
        env.get_template(name)
        return True
    except jinja2.TemplateNotFound:
        return False


def liquid_context(post: Post, context: RenderContext, toc_requests: list) -> LiquidContext:
    def include(name: str, attributes: dict[str, str], where: Location) -> str:
        if name == "toc":
            toc_requests.append(attributes)
            return f"\n\n{markup().TOC_MARKER}\n\n"
        return render_include(name, attributes, where, context, page=dict(post.front_matter))

    return LiquidContext(
        site=context.site_with_lists if shows_site_lists(post) else context.site, page=dict(post.front_matter, title=post.title, url=post.url),
        include=include, base=context.config.base, site_url=context.config.site_url,
        resolve_post=lambda name: link_to(context.posts_by_name.get(name), context),
        resolve_link=lambda path: link_to(context.posts_by_name.get(stem_of(path)), context),
    )


def stem_of(path: str) -> str:
    return path.rsplit("/", 1)[-1].rsplit(".", 1)[0]


def link_to(url: str | None, context: RenderContext) -> str | None:
    return None if url is None else context.config.base + url


def render_include(name: str, attributes: dict[str, str], where: Location, context: RenderContext,
                   page: Mapping[str, Any] | None = None) -> str:
    if not re.fullmatch(r"[\w./-]+", name) or ".." in name:
        raise TemplateError(f"`{{% include {name} %}}` is not a valid include name", where,
                            "Use the name of a file in templates/includes/.")
    template = name if name.endswith(".html") else f"{name}.html"
    try:
        context.env.get_template(f"includes/{template}")
    except jinja2.TemplateNotFound:
        raise TemplateError(f"unknown include `{name}`", where,
                            f"Create templates/includes/{template} or remove the include.") from None
    return render_template(context.env, f"includes/{template}",
                           {"site": context.site, "page": page or {}, "include": attributes})


def page_view(post: Post, executed: ExecutedPost, toc: str, context: RenderContext,
              neighbours: Mapping[str, Any]) -> PageView:
    """What the post's templates see as `page`."""
    front, excerpt = post.front_matter, excerpt_of(post)
    return PageView(
        title=post.title, url=post.url, layout=front.layout, front=front, date=post.date, path=post.path,
        collection=front.get("collection", ""), excerpt=excerpt, description=front.description or excerpt,
        tags=as_list(front.tags), categories=as_list(front.categories), modified=front.modified,
        toc=front.toc, toc_html=Markup(toc), reading_time=reading_minutes(post),
        provenance=executed.provenance or None, **notebook_links(executed, context), **neighbours)


def offers_notebook(executed: ExecutedPost) -> bool:
    """Executed posts are offered as notebooks with their outputs."""
    return executed.post.executes and bool(executed.results)


def notebook_links(executed: ExecutedPost, context: RenderContext) -> dict[str, Any]:
    if not offers_notebook(executed):
        return {}
    path = notebook_path(executed.post)
    return {"notebook": "/" + path,
            "colab": colab_url(str(context.config.repository or ""), PUBLISHED_BRANCH, path)}


def excerpt_of(post: Post, limit: int = 200) -> str:
    """Front matter `excerpt`, or the start of the first paragraph of prose."""
    if post.front_matter.excerpt:
        return str(post.front_matter.excerpt)
    for block in post.blocks:
        if isinstance(block, Prose):
            for paragraph in block.text.split("\n\n"):
                text = plain_text(paragraph)
                if text and not text.startswith(("{%", "#", "![", "<")):
                    return text if len(text) <= limit else text[:limit].rstrip() + "…"
    return ""


def plain_text(markdown_text: str) -> str:
    """A paragraph's words: links' text, no citations, and no emphasis marks, except inside
    code spans and inline math, whose `_` and `*` are part of what they say."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", markdown_text)
    text = re.sub(r"\s*\[@[^\[\]\n]+\]", "", text)     # [@key] citations: no words of the prose
    pieces, end = [], 0
    for literal in LITERAL_SPAN.finditer(text):
        pieces += [EMPHASIS_MARKS.sub("", text[end:literal.start()]), literal[2] or literal[0]]
        end = literal.end()
    pieces.append(EMPHASIS_MARKS.sub("", text[end:]))
    return " ".join("".join(pieces).split())


def reading_minutes(post: Post) -> int:
    """Minutes to read: 200 Latin words or 400 CJK characters a minute."""
    text = " ".join(b.text if isinstance(b, Prose) else b.code for b in post.blocks)
    # A byte translation and count find the words seven times as fast as a regex; the CJK regex
    # scans only text that has a non-ASCII character at all.
    marked = text.encode("ascii", "replace").translate(WORDS_AS_A)
    words = marked.count(b" a") + marked.startswith(b"a")
    cjk = 0 if text.isascii() else len(CJK.findall(text))
    return max(1, math.ceil(words / 200 + cjk / 400))


def render_cell(cell: CodeCell, outputs: tuple[Output, ...], post: Post, context: RenderContext) -> str:
    """A code cell's input (unless `echo: false`) and its outputs (unless `output: false`)."""
    show_outputs = cell.options.output is not False
    variables = {
        "site": context.site, "cell": cell, "input_html": Markup(markup().highlight_python(cell.code.strip("\n"))),
        "echo": cell.options.echo is not False, "collapse": cell.options.collapse is True,
        "outputs": [render_output(o, cell, context) for o in outputs] if show_outputs else [],
    }
    return render_template(context.env, "includes/cell/cell.html", variables).strip()


def html_too_long(size: int) -> str:
    return (f'<p class="output__cut">HTML output of {size:,} characters not shown (the limit is '
            f'{MAX_HTML_OUTPUT:,}); show a summary instead, e.g. <code>df.head()</code>.</p>')


def rich_html(output: Output) -> str:
    """The HTML of an html, markdown or latex output, as Jupyter shows it, made safe."""
    from builder.formats import safe_html
    if output.kind == "html":
        return safe_html.clean_html_output(output.text)
    if output.kind == "markdown":
        return safe_html.clean_markdown_output(markup().render_markdown_output(output.text))
    from builder.formats.mathml import MathError, latex_html
    try:
        return latex_html(output.text)
    except MathError:        # a record written by hand, or by another latex2mathml
        return f'<pre class="output__text">{escape(output.text)}</pre>'


def render_output(output: Output, cell: CodeCell, context: RenderContext) -> Markup:
    variables: dict[str, Any] = {"site": context.site, "output": output, "cell": cell}
    if output.kind == "stream":
        log = parse_training_log(output.text) if cell.options.chart is not False else None
        variables["chart"] = Markup(render_chart_svg(log)) if log else None
        variables["lines"] = output.text.rstrip("\n").split("\n")
    elif output.kind in ("html", "markdown", "latex"):
        variables["html"] = Markup(rich_html(output) if len(output.text) <= MAX_HTML_OUTPUT
                                   else html_too_long(len(output.text)))
    elif output.kind in ("image", "svg"):
        caption = cell.options.fig_cap
        variables["caption"] = caption
        # an image's text is its alt (fig-alt, or the output's own); an SVG's text is its markup
        variables["alt"] = (output.text if output.kind == "image" else cell.options.fig_alt) or caption \
            or f"Figure from cell {cell.number}"
        if output.kind == "svg":
            variables["data"] = base64.b64encode(output.text.encode("utf-8")).decode("ascii")
    elif output.kind == "chart":
        variables.update(chart_variables(output, cell))
    return Markup(render_template(context.env, f"includes/cell/output-{output.kind}.html", variables).strip())
