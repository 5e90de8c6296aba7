"""The part of Jekyll's Liquid that imported posts use, expanded before Markdown.

Supported: `{{ site.* }}` and `{{ page.* }}` (with `relative_url` / `absolute_url`),
`{% raw %}`, `{% include NAME key="value" %}`, `{% highlight LANG %}`, `{% post_url NAME %}`
and `{% link PATH %}`. Anything else is an error naming the line.
"""
from __future__ import annotations

import html
import re
import shlex
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Mapping

from builder.core.errors import BuildError, Location, SourceError, in_file_order

TOKEN = re.compile(r"\{%-?\s*(?P<tag>.*?)\s*-?%\}|\{\{-?\s*(?P<expr>.*?)\s*-?\}\}", re.DOTALL)
ATTRIBUTE = re.compile(r"""(\w+)\s*=\s*("[^"]*"|'[^']*'|\S+)""")


class UnsupportedTag(SourceError):
    """A Liquid tag this builder does not implement."""


class UnclosedBlock(SourceError):
    """A raw or highlight block without its end tag."""


@dataclass
class LiquidContext:
    """What Liquid in a post can see and call."""

    site: Mapping[str, Any]
    page: Mapping[str, Any]
    include: Callable[[str, dict[str, str], Location], str]   # returns Markdown-safe HTML
    resolve_post: Callable[[str], str | None] = lambda name: None
    resolve_link: Callable[[str], str | None] = lambda path: None
    base: str = ""
    site_url: str = ""


def expand_liquid(text: str, context: LiquidContext, path: str, first_line: int,
                  problems: list[BuildError] | None = None) -> str:
    """Return `text` with Liquid expanded; every bad tag, filter or include is a problem at its line.

    Problems are appended to `problems` when it is given (to report a whole post at once), else
    raised together, in file order, once the whole text has been read.
    """
    found: list[BuildError] = []
    out, position, reported = [], 0, Reported()
    while (match := TOKEN.search(text, position)) is not None:
        out.append(text[position:match.start()])
        where = Location(path, first_line + text.count("\n", 0, match.start()))
        try:
            replacement, position = expand_token(match, text, context, where, reported)
        except BuildError as error:
            found.append(error)
            # The rest of an unclosed raw or highlight block was never meant as Liquid.
            replacement, position = "", len(text) if isinstance(error, UnclosedBlock) else match.end()
        out.append(replacement)
    out.append(text[position:])
    if problems is not None:
        problems.extend(found)
    elif found:
        raise in_file_order(found)
    return "".join(out)


@dataclass
class Reported:
    """Unsupported tags already reported in a text, and the variables they would have set: their
    `end` tags and uses are consequences, not further problems."""

    tags: set[str] = field(default_factory=set)
    variables: set[str] = field(default_factory=set)


# The variable each unsupported tag would set: {% capture x %}, {% assign x = ... %}, {% for x in ... %}
SETS_VARIABLE = re.compile(r"^(?:capture|assign|for|increment|decrement)\s+([\w-]+)")


# The inner tags of a block tag: part of its problem once the block tag is reported.
BRANCHES = {"else": {"if", "unless", "case", "for"}, "elsif": {"if", "unless"}, "when": {"case"}}


def expand_token(match: re.Match, text: str, context: LiquidContext, where: Location,
                 reported: Reported) -> tuple[str, int]:
    """(what replaces the token, where reading goes on)."""
    if match["expr"] is not None:
        return expand_variable(match["expr"], context, where, reported.variables), match.end()
    name = match["tag"].partition(" ")[0]
    if name.startswith("end") and name[3:] in reported.tags or reported.tags & BRANCHES.get(name, set()):
        return "", match.end()
    try:
        return expand_tag(match, text, context, where)
    except UnsupportedTag:
        reported.tags.add(name)
        reported.variables.update(SETS_VARIABLE.findall(match["tag"]))
        raise


def expand_tag(match: re.Match, text: str, context: LiquidContext, where: Location) -> tuple[str, int]:
    name, _, argument = match["tag"].partition(" ")
    argument = argument.strip()
    if name in ("raw", "highlight"):
        return block_tag(name, argument, match, text, where)
    if name == "include":
        include_name, attributes = parse_include(argument, where)
        return context.include(include_name, attributes, where), match.end()
    if name in ("post_url", "link"):
        return resolve(name, argument, context, where), match.end()
    if name.startswith("end"):
        raise SourceError(f"`{{% {name} %}}` has no opening tag", where, "Remove it or add the opening tag.")
    raise UnsupportedTag(f"unsupported Liquid tag `{{% {name} %}}`", where,
                         "Supported tags: raw, include, highlight, post_url, link. Replace the tag "
                         "with Markdown, or wrap literal braces in {% raw %}...{% endraw %}.")


def block_tag(name: str, argument: str, match: re.Match, text: str, where: Location) -> tuple[str, int]:
    closing = re.compile(r"\{%-?\s*end" + name + r"\s*-?%\}")
    end = closing.search(text, match.end())
    if end is None:
        raise UnclosedBlock(f"`{{% {name} %}}` is never closed", where, f"Add `{{% end{name} %}}`.")
    inner = text[match.end():end.start()]
    if name == "raw":
        return inner, end.end()
    language = argument.split()[0] if argument else ""
    return f"```{language}\n{inner.strip(chr(10))}\n```", end.end()


def parse_include(argument: str, where: Location) -> tuple[str, dict[str, str]]:
    name, _, rest = argument.partition(" ")
    if not name:
        raise SourceError("`{% include %}` needs a name", where, 'Write `{% include toc title="Contents" %}`.')
    attributes = {key: unquote(value) for key, value in ATTRIBUTE.findall(rest)}
    return name, attributes


def unquote(value: str) -> str:
    try:
        return shlex.split(value)[0] if value[:1] in "\"'" else value
    except ValueError:
        return value.strip("\"'")


def resolve(name: str, argument: str, context: LiquidContext, where: Location) -> str:
    resolver = context.resolve_post if name == "post_url" else context.resolve_link
    url = resolver(argument.strip())
    if url is None:
        raise SourceError(f"`{{% {name} {argument} %}}` names nothing in this site", where,
                          "Check the post's file name (without .md) or the path.")
    return url


def expand_variable(expression: str, context: LiquidContext, where: Location,
                    set_by_unsupported: Collection[str] = ()) -> str:
    name, *filters = [part.strip() for part in expression.split("|")]
    unsupported = [SourceError(f"unsupported Liquid filter `{f}`", where, FILTER_HINT)
                   for f in filters if f not in FILTERS]
    value = None
    try:
        value = lookup(name, context, where)
    except SourceError as error:
        if name.split(".")[0] not in set_by_unsupported:   # else already reported with its tag
            unsupported.insert(0, error)
    if unsupported:
        raise in_file_order(unsupported)
    for filter_name in filters:
        value = apply_filter(filter_name, value, context)
    return "" if value is None else str(value)


def lookup(name: str, context: LiquidContext, where: Location) -> Any:
    if name[:1] in "\"'":
        return name[1:-1]
    root, *keys = name.split(".")
    scopes = {"site": context.site, "page": context.page}
    if root not in scopes:
        raise SourceError(f"unknown Liquid variable `{name}`", where,
                          "Only site.* and page.* are available; wrap literal braces in {% raw %}.")
    value: Any = scopes[root]
    for key in keys:
        value = value.get(key) if isinstance(value, Mapping) else None
    if value is None:
        warnings.warn(f"{where}: `{{{{ {name} }}}}` is not set and expands to nothing")
    return value


def site_link(url: str, base: str, site_url: str = "") -> str:
    """baseurl (and site url) + url, leaving URLs that name their own host alone."""
    if re.match(r"^([a-z][a-z0-9+.-]*:|//)", url, re.IGNORECASE):
        return url
    return site_url + base + "/" + url.lstrip("/")


SIMPLE_FILTERS = {"escape": html.escape, "xml_escape": html.escape, "strip": str.strip,
                  "downcase": str.lower, "upcase": str.upper}
FILTERS = {"relative_url", "absolute_url", *SIMPLE_FILTERS}
FILTER_HINT = "Supported filters: relative_url, absolute_url, escape, strip, downcase, upcase."


def apply_filter(name: str, value: Any, context: LiquidContext) -> Any:
    text = "" if value is None else str(value)
    if name in ("relative_url", "absolute_url"):
        return site_link(text, context.base, context.site_url if name == "absolute_url" else "")
    return SIMPLE_FILTERS[name](text)
