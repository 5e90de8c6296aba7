"""Front matter keys and cell options, each declared once: its types, its default and its help.

A `FrontMatter` or `CellOptions` is two things at once: typed attributes with the declared
defaults (`front.toc`, `options.fig_cap`), and a read-only mapping of the keys exactly as the
source wrote them, custom keys included (`front["my_key"]`, `front.get("seed", 0)`), so that a
key written as `seed:` (null) still differs from one not written at all.
"""
from __future__ import annotations

import copy
from dataclasses import MISSING, dataclass, field, fields
from datetime import date, datetime
from functools import cache
from typing import Any, Iterator, Mapping


def key(types: tuple[type, ...], default: Any, help: str, name: str = "") -> Any:
    """Declare a key: the types its value may have, its default, and what to write (for messages)."""
    metadata = {"types": types, "help": help, "name": name}
    if isinstance(default, (dict, list)):   # dataclasses refuse a mutable default; treat it as read-only
        return field(default_factory=lambda: copy.deepcopy(default), metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass(frozen=True)
class Declaration:
    """One declared key, as `declarations()` lists it."""

    name: str          # as written in the source, e.g. fig-cap
    attribute: str     # the Python attribute, e.g. fig_cap
    types: tuple[type, ...]
    default: Any
    help: str


class Declared(Mapping):
    """Base of the typed key sets: declared attributes plus the mapping of the keys as written."""

    given: Mapping[Any, Any]

    @classmethod
    def from_given(cls, given: Mapping[Any, Any]):
        """Typed view of `given`; unknown keys stay in the mapping (no checks here: see the readers)."""
        known = cls.by_name()
        # Built without __init__: a frozen dataclass's __init__ sets its ~40 fields one by one,
        # which front matter parsing of every post would pay for.
        values = cls.defaults() | {known[k].attribute: v for k, v in given.items() if k in known}
        made = object.__new__(cls)
        made.__dict__.update(values, given=given)
        return made

    @classmethod
    @cache
    def defaults(cls) -> dict[str, Any]:
        """Every declared attribute with its default."""
        return {d.attribute: d.default for d in declarations(cls)}

    @classmethod
    @cache
    def by_name(cls) -> dict[str, Declaration]:
        """The declared keys by their source name."""
        return {d.name: d for d in declarations(cls)}

    def __getitem__(self, name: Any) -> Any:
        return self.given[name]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.given)

    def __len__(self) -> int:
        return len(self.given)

    def __setstate__(self, state: dict[str, Any]) -> None:
        # What unpickling does without it, but found at once: its lookup would otherwise reach
        # __getattr__ and raise, for each of the thousands of these a build state holds.
        self.__dict__.update(state)

    def __getattr__(self, name: str) -> Any:
        # Only reached for undeclared names: a site's custom keys read as `page.my_key`.
        given = self.__dict__.get("given")
        if given is not None and name in given:
            return given[name]
        raise AttributeError(name)


def fits(value: Any, types: tuple[type, ...]) -> bool:
    """Whether `value` is one of the declared types; true/false count as numbers only where bool is declared."""
    if isinstance(value, bool) and bool not in types:
        return False
    return isinstance(value, types)


def declarations(cls: type) -> list[Declaration]:
    return [Declaration(f.metadata["name"] or f.name, f.name, f.metadata["types"],
                        f.default_factory() if f.default is MISSING else f.default, f.metadata["help"])
            for f in fields(cls) if "types" in f.metadata]


TEXT, FLAG, LIST = "text", "true or false", "a list such as [tutorial]"
# matplotlib figure formats (builder.execute.figure_formats says what each does)
FIG_FORMATS = ("retina", "png", "svg")
FIG_FORMAT_HELP = "retina (sharp on high-density screens, the default), png or svg"


@dataclass(frozen=True, eq=False)
class FrontMatter(Declared):
    """A post's or page's front matter (Minimal Mistakes keys and ours)."""

    layout: str = key((str,), "single", "a layout name such as single")
    title: str | int | float | None = key((str, int, float), None, TEXT)
    excerpt: str = key((str,), "", TEXT)
    description: str = key((str,), "", TEXT)
    date: datetime | date | None = key((datetime, date), None, "a date such as 2017-08-11 or 2017-08-11 10:00:00 +08:00")
    modified: datetime | date | str | None = key((datetime, date, str), None, "a date such as 2017-08-11T11:55:22-04:00")
    last_modified_at: datetime | date | str | None = key((datetime, date, str), None, "a date")
    permalink: str | None = key((str,), None, "a URL path such as /linear-regression/")
    published: bool = key((bool,), True, FLAG)
    tags: list | str = key((list, str), (), "a list such as [pytorch, regression]")
    categories: list | str = key((list, str), (), LIST)
    category: str | None = key((str,), None, "one category name")
    toc: bool = key((bool,), False, FLAG)
    toc_label: str | None = key((str,), None, TEXT)
    toc_sticky: bool = key((bool,), False, FLAG)
    toc_icon: str | None = key((str,), None, "an icon name")
    author_profile: bool = key((bool,), False, FLAG)
    author: str | dict | None = key((str, dict), None, "a name")
    comments: bool = key((bool,), False, FLAG)
    share: bool = key((bool,), True, FLAG)
    related: bool = key((bool,), True, FLAG)
    series: str | None = key((str,), None, "a series name such as \"Deep learning basics\"")
    series_order: int | None = key((int,), None, "a whole number: the post's place in its series")
    read_time: bool = key((bool,), True, FLAG)
    header: dict | None = key((dict,), None, "a mapping with overlay_image, overlay_color, caption, ...")
    seed: int | bool = key((int, bool), 0, "a whole number, or false to not seed")
    timeout: int | None = key((int,), None, "seconds, a whole number")
    kernel: str = key((str,), "python3", "a Jupyter kernel name such as python3")
    device: str = key((str,), "cpu", "cpu or cuda")
    fig_format: str | None = key((str,), None, FIG_FORMAT_HELP, name="fig-format")
    cpus: int = key((int,), 1, "a whole number: the CPUs the post's task asks for on a cluster")
    image: str | dict | None = key((str, dict), None, "an image path")
    lang: str | None = key((str,), None, "a language code such as zh-CN")
    sitemap: bool = key((bool,), True, FLAG)
    classes: str | list | None = key((str, list), None, "CSS class names")
    execute: bool = key((bool,), True, FLAG)
    excerpt_separator: str | None = key((str,), None, "text such as <!--more-->")
    slug: str | None = key((str,), None, "the URL's last segment, e.g. linear-regression")
    search: bool = key((bool,), True, FLAG)
    bibliography: str | None = key((str,), None, "a BibTeX file in the site folder, e.g. refs.bib")
    citation_style: str | None = key((str,), None, "author-year or numeric", name="citation-style")
    cite: bool | None = key((bool,), None, FLAG)
    gallery: list | None = key((list,), None, "a list of images (url, image_path, alt, title)")
    feature_row: list | None = key((list,), None, "a list of items (image_path, title, excerpt, url)")
    # Jekyll blogs switch MathJax on per post; math here is MathML, made at build time, always on.
    mathjax: bool | str | None = key((bool, str), None, FLAG)
    math: bool | str | None = key((bool, str), None, FLAG)
    given: Mapping[Any, Any] = field(default_factory=dict, repr=False)


@dataclass(frozen=True, eq=False)
class CellOptions(Declared):
    """A code cell's `#| key: value` options."""

    label: str | None = key((str,), None, "a name for the cell's figures")
    fig_cap: str | None = key((str,), None, "a figure caption", name="fig-cap")
    fig_alt: str | None = key((str,), None, "a figure's alt text", name="fig-alt")
    fig_format: str | None = key((str,), None, FIG_FORMAT_HELP, name="fig-format")
    eval: bool = key((bool,), True, "false to show the code without running it")
    echo: bool = key((bool,), True, "false to hide the code and show its outputs")
    output: bool = key((bool,), True, "false to hide the outputs")
    tags: list = key((list,), (), "Jupyter cell tags such as [raises-exception]")
    chart: bool = key((bool,), True, "false to show a training log as text, not a chart")
    collapse: bool = key((bool,), False, "true to fold the code away")
    given: Mapping[Any, Any] = field(default_factory=dict, repr=False)


NO_OPTIONS = CellOptions()
