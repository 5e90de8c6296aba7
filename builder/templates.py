"""The Jinja environment: the site's own templates first, then the default theme."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
import yaml

from builder.config import SiteConfig
from builder.errors import TemplateError
from builder.liquid import site_link

THEME_DIR = Path(__file__).resolve().parent.parent
UI_TEXT = "data/ui-text.yml"


def template_dirs(site_dir: Path) -> list[Path]:
    """Where templates are looked up, the site's own folder first."""
    dirs = [site_dir / "templates", THEME_DIR / "templates"]
    return [d for i, d in enumerate(dirs) if d.is_dir() and d.resolve() not in
            [e.resolve() for e in dirs[:i]]]


def make_environment(site_dir: Path, config: SiteConfig) -> jinja2.Environment:
    """Autoescaping, strict environment with the theme's filters and UI strings."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(d) for d in template_dirs(site_dir)]),
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    base, site_url = config.base, config.site_url
    env.filters["relative_url"] = lambda url: site_link(str(url), base)
    env.filters["absolute_url"] = lambda url: site_link(str(url), base, site_url)
    env.filters["date_to_xmlschema"] = lambda d: d.isoformat()
    env.filters["date_format"] = format_date
    env.globals["ui"] = ui_strings(site_dir, config.lang)
    return env


def format_date(value: Any, pattern: str = "%B %-d, %Y") -> str:
    return value.strftime(pattern) if isinstance(value, datetime) else str(value)


def ui_strings(site_dir: Path, lang: str) -> dict[str, str]:
    """UI strings for the site's language, falling back to English per string."""
    for folder in template_dirs(site_dir):
        path = folder / UI_TEXT
        if path.is_file():
            table = yaml.safe_load(path.read_text(encoding="utf-8"))
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
        raise TemplateError(f"template uses an undefined value: {error.message}", template_frame(error, name),
                            "Guard optional values with `is defined` or fix the name.") from None


def template_frame(error: Exception, fallback: str) -> str:
    tb = error.__traceback__
    where = fallback
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith(".html") or filename.endswith(".xml"):
            where = f"{Path(filename).parent.name}/{Path(filename).name}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where
