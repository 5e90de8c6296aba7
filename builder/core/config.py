"""Typed site settings from `_config.yml`, each declared once with its default and help."""
from __future__ import annotations

import fnmatch
import functools
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from builder.core.errors import ConfigError, Location
from builder.core.dates import first_bad_date_line
from builder.core.schema import FIG_FORMATS, Declaration, Declared, declarations, fits, key
from builder.core.kramdown_settings import kramdown_settings, unused_keys


@dataclass(frozen=True, eq=False)
class SiteConfig(Declared):
    """Validated settings from `_config.yml`, each declared once: its types, default and help.

    Typed attributes (`config.title`, `config.citation_style`) hold the values with defaults
    filled in; `values` is every key by the name the file uses, unknown keys included, so that
    Liquid's and the templates' `site.*` can read a site's own keys.
    """

    title: str = key((str,), "Untitled site", "The site's name, shown in the masthead and the feed.")
    description: str = key((str,), "", "One sentence about the site, for search engines and the feed.")
    url: str = key((str,), "", "Scheme and host of the published site, e.g. https://user.github.io.")
    baseurl: str = key((str,), "", "Path the site lives under, e.g. /blog for a GitHub project site.")
    author: dict = key((dict,), {}, "Site author: name, bio, avatar, links.")
    lang: str = key((str,), "en", "Language of the pages, e.g. en or zh-CN.")
    permalink: str = key((str,), "date", "URL pattern of posts: date, pretty, none or a pattern.")
    timezone: str = key((str,), "UTC", "Time zone of dates written without one.")
    paginate: int = key((int,), 10, "Posts per page on the home page.")
    navigation: list = key((list,), [], "Masthead links: a list of {title, url}.")
    timeout: int = key((int,), 600, "Seconds one code cell may run before it is stopped.")
    post_timeout: int = key((int,), 3600, "Seconds a whole post may run before it is stopped.")
    comments: dict = key((dict,), {}, "Comments provider settings; off unless `provider` is set.")
    repository: str = key((str,), "", "GitHub repository owner/name, for notebook links.")
    exclude: list = key((list,), [], "Files, folders and glob patterns (from the site folder) left out of the site.")
    cluster: str = key((str,), "", "Ray cluster posts run on (ray://HOST:PORT or auto); `--cluster` overrides it.")
    bibliography: str = key((str,), "", "BibTeX file (in the site folder) for `[@key]` citations, e.g. refs.bib.")
    citation_style: str = key((str,), "author-year", "How citations read: author-year or numeric.",
                              name="citation-style")
    cite: bool = key((bool,), False, "Show \"Cite this post\" and Google Scholar citation_* tags on every post.")
    favicon: str = key((str,), "", "Path or URL of the site's icon; the theme's assets/favicon.svg by default.")
    fig_format: str = key((str,), "retina", "How matplotlib figures are saved: retina (2x PNG shown at their size), "
                          "png or svg.", name="fig-format")
    search: bool = key((bool,), True, "false to build the site without a search index and search page.")
    given: Mapping[Any, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_checked(cls, raw: Mapping[str, Any]) -> "SiteConfig":
        """Settings from a `_config.yml` mapping whose problems were already reported (None: unset)."""
        given = {key: value for key, value in raw.items() if value is not None}
        made = cls.from_given(given)
        attributes = made.__dict__
        attributes["author"] = {"name": "", "bio": "", "avatar": ""} | attributes["author"]
        attributes["comments"] = dict(attributes["comments"])
        attributes["values"] = {d.name: attributes[d.attribute] for d in declarations(cls)} \
            | {key: value for key, value in given.items() if key not in cls.by_name()}
        return made

    @property
    def site_url(self) -> str:
        return self.url.rstrip("/")

    @property
    def base(self) -> str:
        return normalise_baseurl(self.baseurl)


# Keys Jekyll sites commonly carry that we accept without use.
TOLERATED = {"markdown", "theme", "remote_theme", "plugins", "include", "encoding", "locale",
             "name", "subtitle", "email", "logo", "github_username", "twitter_username",
             "minimal_mistakes_skin", "footer", "defaults", "collections", "kramdown",
             "future", "show_drafts", "excerpt_separator", "cname", "analytics"}
# Jekyll 4 leaves these out of every site, in addition to what `exclude:` names.
DEFAULT_EXCLUDES = (".sass-cache", ".jekyll-cache", "gemfiles", "Gemfile", "Gemfile.lock", "node_modules",
                    "vendor/bundle/", "vendor/cache/", "vendor/gems/", "vendor/ruby/")
TOP_LEVEL_KEY = re.compile(r"^(?P<key>[^\s#:'\"-][^:#]*?)\s*:(?:\s|$)")
# Comment providers and the settings each needs under `comments:`.
COMMENT_PROVIDERS = {
    "giscus": ("repo", "repo_id", "category", "category_id"),
    "utterances": ("repo",),
    "disqus": ("shortname",),
}
DISQUS_NAME = re.compile(r"^[a-z0-9-]+$", re.IGNORECASE)
REPOSITORY = re.compile(r"^(?P<owner>[A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/(?P<name>[A-Za-z0-9._-]{1,100})$")
TYPES_HINT = "Fix the listed keys; see the README for each key's type."
COMMENTS_HINT = "Fix `comments:`, or remove `provider:` to turn comments off."
CITATION_STYLES = ("author-year", "numeric")
STYLE_HINT = "Write `citation-style: author-year` or `citation-style: numeric`."
FIG_HINT = "Write `fig-format: retina` (the default), `fig-format: png` or `fig-format: svg`."
# Settings whose text must be one of a few words, and what to write instead.
CHOICES = {"citation-style": (CITATION_STYLES, STYLE_HINT), "fig-format": (FIG_FORMATS, FIG_HINT)}
REPOSITORY_HINT = "Write the repository as owner/name, e.g. `repository: octocat/blog`."


def normalise_baseurl(baseurl: str) -> str:
    """'' or '/blog' (leading slash, no trailing one)."""
    stripped = baseurl.strip("/")
    return f"/{stripped}" if stripped else ""


def load_config(site_dir: Path) -> SiteConfig:
    """Read `_config.yml` in `site_dir` (optional) and check every known key's type."""
    path = site_dir / "_config.yml"
    if not path.exists():
        return validate_config({}, "_config.yml")
    text = read_config_text(path)
    return validate_config(parse_config(text), "_config.yml", key_lines(text))


def read_config_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8").lstrip("\ufeff")
    except UnicodeDecodeError:
        # No line here: tests/test_urls_config.py pins this exact message.
        raise ConfigError("the file is not valid UTF-8", "_config.yml",
                          "Save the file with UTF-8 encoding.") from None


def parse_config(text: str) -> dict:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise yaml_config_error(error) from None
    except ValueError as error:   # PyYAML's timestamps: 2020-02-30 is not a real date
        raise ConfigError(f"invalid date: {error}", Location("_config.yml", first_bad_date_line(text, first_line=1)),
                          "Write a real date (YYYY-MM-DD), or quote the value to keep it as text.") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("the file must be a mapping of keys to values",
                          "_config.yml", "Write one `key: value` per line.")
    return data


def key_lines(text: str) -> dict[str, int]:
    """The line of each top-level `key:` in the file, for messages."""
    lines = {}
    for number, line in enumerate(text.split("\n"), 1):
        match = TOP_LEVEL_KEY.match(line)
        if match:
            lines.setdefault(match["key"], number)
    return lines


def yaml_config_error(error: yaml.YAMLError) -> ConfigError:
    mark = getattr(error, "problem_mark", None)
    where = Location("_config.yml", mark.line + 1 if mark else None)
    problem = getattr(error, "problem", None) or str(error)
    return ConfigError(f"invalid YAML: {problem}", where,
                       "Check indentation (spaces, not tabs) and quote values containing ':' or '#'.")


def validate_config(raw: Mapping[str, Any], where: str, lines: Mapping[str, int] | None = None) -> SiteConfig:
    """Check every setting, all at once, before any work; `lines` (key -> line) locates the problems."""
    lines = lines or {}
    raise_problems(settings_problems(raw, lines), where)
    for key in sorted(set(raw) - set(SiteConfig.by_name()) - TOLERATED, key=str):
        at = f"{where}:{lines[key]}" if key in lines else where
        warnings.warn(f"{at}: unknown key `{key}` is ignored (available to templates as site.{key})")
    check_kramdown(raw.get("kramdown"), f"{where}:{lines['kramdown']}" if "kramdown" in lines else where)
    return SiteConfig.from_checked(raw)


def settings_problems(raw: Mapping[str, Any], lines: Mapping[str, int]) -> list[tuple[str, str]]:
    """Every problem of the settings as (message, hint): types first, then what the values mean."""
    declared = SiteConfig.by_name()
    types = [type_problem(declared[key], value, lines.get(key)) for key, value in raw.items() if key in declared]
    types = [p for p in types if p] + timezone_problems(raw.get("timezone"), lines.get("timezone"))
    problems = [(problem, TYPES_HINT) for problem in types]
    if isinstance(raw.get("comments"), dict):
        problems += [(problem, COMMENTS_HINT) for problem in comments_problems(raw["comments"])]
    problems += [(f"`{name}` {raw[name]!r} is not one of {', '.join(allowed)}", hint)
                 for name, (allowed, hint) in CHOICES.items() if isinstance(raw.get(name), str) and raw[name] not in allowed]
    if isinstance(raw.get("repository"), str) and repository_problem(raw["repository"]):
        problems.append((repository_problem(raw["repository"]), REPOSITORY_HINT))
    return problems


def raise_problems(problems: list[tuple[str, str]], where: str) -> None:
    """One ConfigError listing every problem, with the hints of each kind of problem."""
    if problems:
        hints = dict.fromkeys(hint for _, hint in problems)
        raise ConfigError("; ".join(message for message, _ in problems), where, " ".join(hints))


def comments_problems(settings: Mapping[str, Any]) -> list[str]:
    """What is wrong with `comments:`; nothing when no provider is set (comments off)."""
    provider = settings.get("provider")
    if not provider:
        return []
    if not isinstance(provider, str) or provider not in COMMENT_PROVIDERS:
        return [f"`comments.provider` {provider!r} is not one of {', '.join(COMMENT_PROVIDERS)}"]
    problems = [f"`comments.{key}` is required for {provider}" for key in COMMENT_PROVIDERS[provider]
                if not settings.get(key)]
    if provider == "disqus" and settings.get("shortname") and not DISQUS_NAME.match(str(settings["shortname"])):
        problems.append(f"`comments.shortname` {settings['shortname']!r} is not a Disqus shortname (letters, digits, '-')")
    return problems


def repository_problem(repository: str) -> str | None:
    """Why `repository` is not a GitHub owner/name, or None when it is (or is empty)."""
    value = repository.strip()
    match = REPOSITORY.match(value)
    if not value or (match and match["name"] not in {".", ".."} and not match["owner"].endswith("-")):
        return None
    return f"`repository` must be a GitHub owner/name such as octocat/blog, not {repository!r}"


def check_kramdown(raw: Any, at: str) -> None:
    """A bad `kramdown:` value stops the build here, not in every post; unused keys warn."""
    kramdown_settings(raw)
    for key in unused_keys(raw):
        warnings.warn(f"{at}: `kramdown.{key}` is not supported and is ignored (see the README's Markdown section)")


def type_problem(setting: Declaration, value: Any, line: int | None = None) -> str | None:
    if value is None or fits(value, setting.types):
        return None
    return (f"`{setting.name}` must be {' or '.join(readable_type(t) for t in setting.types)}, "
            f"not {value!r}{on_line(line)} ({setting.help})")


def on_line(line: int | None) -> str:
    return "" if line is None else f" on line {line}"


def timezone_problems(name: Any, line: int | None = None) -> list[str]:
    if not isinstance(name, str):
        return []
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return [f"`timezone` {name!r}{on_line(line)} is not a known time zone "
                "(use an IANA name such as Asia/Shanghai or UTC)"]
    return []


def readable_type(kind: type) -> str:
    return {str: "a string", int: "a whole number", dict: "a mapping", list: "a list",
            bool: "true or false"}.get(kind, kind.__name__)


def is_excluded(relative: str, config: SiteConfig) -> bool:
    """True for a site-relative path that `exclude:` or Jekyll's default excludes leave out."""
    return exclusion_matcher(tuple(str(p) for p in config.exclude))(relative)


@functools.lru_cache(maxsize=16)
def exclusion_matcher(patterns: tuple[str, ...]) -> Callable[[str], bool]:
    """A test for site-relative paths: a pattern names a file, a folder (and all it holds) or a glob.

    As in Jekyll, patterns are read from the site folder and `*` also matches across `/`.
    """
    cleaned = [p.strip().removeprefix("./").strip("/") for p in DEFAULT_EXCLUDES + patterns]
    globs = [glob for p in cleaned if p for glob in (p, p + "/*")]
    matcher = re.compile("|".join(fnmatch.translate(glob) for glob in globs))
    return lambda relative: matcher.match(relative.lstrip("/")) is not None
