"""The Jinja environment: the site's own templates first, then the default theme."""
from __future__ import annotations

import html
import re
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
import yaml

from builder import __version__
from builder.core.config import SiteConfig
from builder.core.theme import THEME_DIR, template_dirs  # noqa: F401 (THEME_DIR re-exported)
from builder.core.errors import TemplateError
from builder.render.liquid import site_link
from builder.render.template_code import CompiledTemplates
from builder.source.frontmatter import FAST_SAFE_LOADER
from builder.core.urls import category_url, tag_url

UI_TEXT = "data/ui-text.yml"
LINK_SCHEMES = {"http", "https", "mailto"}
SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*):", re.IGNORECASE)
# The first figure a post's code made (figures live in assets/img/<slug>/), for its social card.
FIGURE_SRC = re.compile(r'<img\s[^>]*?src="(/(?!/)(?:[^"]*/)?assets/img/[^"]+)"')
CSS_COLOR = re.compile(r"^(#[0-9a-f]{3,8}|[a-z]+|(rgb|rgba|hsl|hsla)\([0-9.,%\s/]+\))$", re.IGNORECASE)


def make_environment(site_dir: Path, config: SiteConfig, code_folder: Path | None = None) -> jinja2.Environment:
    """Autoescaping, strict environment with the theme's filters and UI strings; compiled
    templates are kept in `code_folder` when given."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in template_dirs(site_dir)]),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True,
        # Each build makes its own environment, so templates cannot change under it; reloading
        # would stat every included file on every render (26,000 stats for 1,000 posts).
        auto_reload=False,
        # A plain dict instead of a locked LRU: every render and every `{% include %}` looks a
        # template up (23 times a post), and a theme's templates are few enough to keep all.
        cache_size=-1,
        bytecode_cache=CompiledTemplates(code_folder) if code_folder is not None else None,
    )
    base, site_url = config.base, config.site_url
    env.filters["relative_url"] = lambda url: site_link(str(url), base)
    env.filters["absolute_url"] = lambda url: site_link(str(url), base, site_url)
    env.filters["link_url"] = lambda url: link_url(str(url), base)
    env.filters["date_to_xmlschema"] = lambda d: d.isoformat() if hasattr(d, "isoformat") else str(d)
    env.filters["date_format"] = format_date
    env.filters["tag_url"] = lambda name: tag_url(str(name))
    env.filters["category_url"] = lambda name: category_url(str(name))
    env.filters["css_url"] = css_url
    env.filters["css_color"] = css_color
    env.filters["first_figure"] = first_figure
    env.tests["has_code"] = has_code
    env.globals["ui"] = ui_strings(site_dir, config.lang)
    env.globals["generator"] = f"builder {__version__}"
    return env


def link_url(url: str, base: str) -> str:
    """A link from configuration: site paths get `baseurl`; other schemes than http(s) and mailto are dropped."""
    if url.startswith("/") and not url.startswith("//"):
        return site_link(url, base)
    # Browsers ignore control characters and spaces in a scheme: "java\tscript:" is still one.
    scheme = SCHEME.match(re.sub(r"[\x00-\x20]", "", url))
    return "#" if scheme and scheme[1].lower() not in LINK_SCHEMES else url


def css_url(url: str) -> str:
    """A URL made safe to sit inside CSS `url('...')`."""
    return re.sub(r"[\\'\"()\s<>]", lambda m: "%{:02X}".format(ord(m.group())), url)


def css_color(value: Any, fallback: str = "") -> str:
    """A CSS colour (#hex, a name, rgb()/hsl()), or `fallback` for anything else."""
    text = str(value).strip()
    return text if CSS_COLOR.match(text) else fallback


def first_figure(content: Any) -> str:
    """The `src` (with baseurl) of the first figure in a page's HTML, or ''."""
    found = FIGURE_SRC.search(str(content))
    return html.unescape(found[1]) if found else ""


def has_code(content: Any) -> bool:
    """Whether a page's HTML shows a code block (it then gets the copy buttons' script)."""
    return "<pre" in str(content)


def format_date(value: Any, pattern: str = "%B %-d, %Y") -> str:
    return value.strftime(pattern) if isinstance(value, datetime) else str(value)


def ui_strings(site_dir: Path, lang: str) -> dict[str, str]:
    """UI strings for the site's language, falling back to English per string."""
    for folder in template_dirs(site_dir):
        path = folder / UI_TEXT
        if path.is_file():
            table = yaml.load(path.read_text(encoding="utf-8"), Loader=FAST_SAFE_LOADER)
            chosen = table.get(lang) or table.get(lang.split("-")[0]) or {}
            return {**table["en"], **chosen}
    return {}


def render_template(env: jinja2.Environment, name: str, context: dict[str, Any]) -> str:
    """Render a template, turning Jinja's errors into ours with template name and line."""
    try:
        return env.get_template(name).render(context)
    except jinja2.TemplateNotFound as error:
        raise TemplateError(f"template `{error.name}` does not exist", name,
                            f"Create templates/{error.name} or fix the name (layouts live in templates/layouts/).") from None
    except jinja2.TemplateSyntaxError as error:
        raise TemplateError(f"template syntax error: {error.message}", f"templates/{error.name}:{error.lineno}",
                            "Fix the Jinja syntax at that line.") from None
    except jinja2.UndefinedError as error:
        raise TemplateError(f"template uses an undefined value: {error.message}", template_frame(error, name, env),
                            "Guard optional values with `is defined` or fix the name.") from None


def template_frame(error: Exception, fallback: str, env: jinja2.Environment) -> str:
    """`templates/<name>:<line>` of the innermost template frame of the error's traceback."""
    folders = [Path(folder) for folder in env.loader.searchpath]
    tb, where = error.__traceback__, fallback
    while tb is not None:
        filename = Path(tb.tb_frame.f_code.co_filename)
        for folder in folders:
            if filename.is_relative_to(folder):
                where = f"templates/{filename.relative_to(folder).as_posix()}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where
