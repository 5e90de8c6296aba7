"""Jekyll's Liquid in a post's prose, expanded before Markdown by python-liquid.

Liquid's own tags and filters plus Jekyll's (builder/render/liquid_jekyll.py): `include NAME
key="value"`, `highlight LANG [linenos]`, `post_url`, `link`, `relative_url`, `date_to_string`,
`markdownify`, `slugify`, `where`, `jsonify`, ... Unknown tags and filters, tags never closed and
variables from nowhere are errors naming their line; all of a text's problems are reported together.
"""
from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from builder.core.errors import BuildError, Location, SourceError, in_file_order

UNCLOSED = re.compile(r"\{%-?\s*(raw|highlight)\b[^%]*%\}")
MAY_HOLD_LIQUID = ("{%", "{{")
SUPPORTED_TAGS = ("assign, capture, if, unless, case, for, raw, comment, include, highlight, "
                  "post_url, link")
VARIABLE_ROOTS = ("site", "page", "include", "layout", "paginator", "content", "forloop")
_environment = None


@dataclass
class LiquidContext:
    """What Liquid in a post can see and call."""

    site: Mapping[str, Any]
    page: Mapping[str, Any]
    include: Callable[[str, dict[str, Any], Location], str]   # returns Markdown-safe HTML
    resolve_post: Callable[[str], str | None] = lambda name: None
    resolve_link: Callable[[str], str | None] = lambda path: None
    base: str = ""
    site_url: str = ""


def environment():
    """The one Jekyll Liquid environment, made on first use (its setup is not free)."""
    global _environment
    if _environment is None:
        from builder.render.liquid_jekyll import jekyll_environment   # python-liquid: only if needed
        _environment = jekyll_environment()
    return _environment


def expand_liquid(text: str, context: LiquidContext, path: str, first_line: int,
                  problems: list[BuildError] | None = None) -> str:
    """Return `text` with Liquid expanded; every bad tag, filter or include is a problem at its line.

    Problems are appended to `problems` when it is given (to report a whole post at once), else
    raised together, in file order, once the whole text has been read.
    """
    if not any(marker in text for marker in MAY_HOLD_LIQUID):
        return text   # most prose: no parse at all
    found: list[BuildError] = []
    text, unclosed = cut_unclosed_block(text, path, first_line)
    start, end = liquid_span(text)
    expansion = Expansion(context, path, first_line + text.count("\n", 0, start), text[start:end], found)
    result = text[:start] + expansion.run() + text[end:]
    found.extend(unclosed)
    if problems is not None:
        problems.extend(found)
    elif found:
        raise in_file_order(found)
    return result


def liquid_span(text: str) -> tuple[int, int]:
    """Where Liquid can be: from the first `{%`/`{{` to the last `%}`/`}}`, with the whitespace
    around them (for `{%-` and `-%}`). Lexing long prose costs more than the rest of Liquid."""
    first = min((i for i in (text.find("{%"), text.find("{{")) if i >= 0), default=len(text))
    last = max(text.rfind("%}"), text.rfind("}}"))
    if last < first:
        return first, len(text)
    start = len(text[:first].rstrip())
    end = last + 2
    return start, end + len(text[end:]) - len(text[end:].lstrip())


def cut_unclosed_block(text: str, path: str, first_line: int) -> tuple[str, list[BuildError]]:
    """The text before a raw or highlight block that is never closed (the rest was never Liquid)."""
    for match in UNCLOSED.finditer(text):
        name = match[1]
        if not re.compile(r"\{%-?\s*end" + name + r"\s*-?%\}").search(text, match.end()):
            where = Location(path, first_line + text.count("\n", 0, match.start()))
            return text[:match.start()], [SourceError(
                f"`{{% {name} %}}` is never closed", where, f"Add `{{% end{name} %}}`.")]
    return text, []


class Expansion:
    """One text's expansion: python-liquid's problems become ours, at the post's lines."""

    def __init__(self, context: LiquidContext, path: str, first_line: int, text: str,
                 found: list[BuildError]):
        self.context, self.path, self.first_line, self.text, self.found = \
            context, path, first_line, text, found

    def run(self) -> str:
        from builder.render.liquid_jekyll import current
        current.problems, current.call, current.link, current.undefined = \
            [], self.call, self.link, self.undefined
        env = environment()
        try:
            template = env.from_string(self.text)
            result = template.render(site=self.context.site, page=self.context.page)
        except BuildError as error:
            self.found.append(error)
            result = ""
        except Exception as error:   # python-liquid raises its own errors in render, too
            current.problems.append(error)
            result = ""
        self.found.extend(self.translate(problem) for problem in current.problems)
        return result

    def where(self, token) -> Location:
        index = getattr(token, "start_index", -1)
        source = getattr(token, "source", "") or self.text
        if index < 0:
            index = len(self.text)
        return Location(self.path, self.first_line + source.count("\n", 0, index))

    def call(self, name: str, argument: str, token, liquid_context) -> str:
        """A builder tag's output; its problem is recorded and the rest of the text still read."""
        try:
            return self.builder_tag(name, argument, self.where(token), liquid_context)
        except BuildError as error:
            self.found.append(error)
            return ""

    def builder_tag(self, name: str, argument: str, where: Location, liquid_context) -> str:
        if name == "include":
            include_name, _, rest = argument.partition(" ")
            if not include_name:
                raise SourceError("`{% include %}` needs a name", where,
                                  'Write `{% include toc title="Contents" %}`.')
            from builder.render.liquid_jekyll import include_arguments
            return self.context.include(include_name, include_arguments(rest, liquid_context), where)
        resolver = self.context.resolve_post if name == "post_url" else self.context.resolve_link
        url = resolver(argument)
        if url is None:
            raise SourceError(f"`{{% {name} {argument} %}}` names nothing in this site", where,
                              "Check the post's file name (without .md) or the path.")
        return url

    def opening(self, name: str) -> Location | None:
        """Where the last `{% name ... %}` of the text stands: the block left open."""
        starts = [m.start() for m in re.finditer(r"\{%-?\s*" + name + r"\b", self.text)]
        return Location(self.path, self.first_line + self.text.count("\n", 0, starts[-1])) if starts else None

    def link(self, url: str, absolute: bool) -> str:
        return site_link(url, self.context.base, self.context.site_url if absolute else "")

    def undefined(self, name: str, token) -> None:
        where = self.where(token)
        dotted = token_path(token, name)
        if dotted.split(".")[0] in VARIABLE_ROOTS:
            warnings.warn(f"{where}: `{{{{ {dotted} }}}}` is not set and expands to nothing")
        else:
            self.found.append(SourceError(
                f"unknown Liquid variable `{dotted}`", where,
                "Set it with {% assign %}, or use site.* and page.*; wrap literal braces in {% raw %}."))

    def translate(self, problem: Exception) -> BuildError:
        if isinstance(problem, BuildError):
            return problem
        where = self.where(getattr(problem, "token", None))
        message = str(getattr(problem, "message", problem))
        if unclosed := re.match(r"expected tag end(\w+)", message):
            where = self.opening(unclosed[1]) or where
        return translated(message, where)


def token_path(token, name: str) -> str:
    """The dotted variable as the author wrote it (python-liquid names only the missing part)."""
    source, index = getattr(token, "source", ""), getattr(token, "start_index", -1)
    if not source or index < 0:
        return name
    start = index
    while start > 0 and re.match(r"[\w.\-\[\]'\"]", source[start - 1]):
        start -= 1
    found = re.match(r"[\w.\-]+", source[start:])
    return found[0] if found else name


def translated(message: str, where: Location) -> SourceError:
    """python-liquid's message in our words, with what to do."""
    tag = re.fullmatch(r"unexpected tag '(\w+)'", message)
    if tag and tag[1] in ("else", "elsif", "when"):
        return SourceError(f"`{{% {tag[1]} %}}` outside any block", where,
                           "Remove it, or put it inside its {% if %}, {% case %} or {% for %}.")
    if tag and tag[1].startswith("end"):
        return SourceError(f"`{{% {tag[1]} %}}` has no opening tag", where,
                           "Remove it or add the opening tag.")
    if tag:
        return SourceError(f"unsupported Liquid tag `{{% {tag[1]} %}}`", where,
                           f"Supported tags: {SUPPORTED_TAGS}. Replace the tag with Markdown, or wrap "
                           "literal braces in {% raw %}...{% endraw %}.")
    unclosed = re.match(r"expected tag (end\w+)", message)
    if unclosed:
        return SourceError(f"`{{% {unclosed[1][3:]} %}}` is never closed", where,
                           f"Add `{{% {unclosed[1]} %}}`.")
    unknown_filter = re.fullmatch(r"unknown filter '(\w+)'", message)
    if unknown_filter:
        return SourceError(f"unsupported Liquid filter `{unknown_filter[1]}`", where, FILTER_HINT)
    return SourceError(f"Liquid: {message}", where,
                       "Fix the tag or output, or wrap literal braces in {% raw %}...{% endraw %}.")


FILTER_HINT = ("Use one of Liquid's filters or Jekyll's (relative_url, absolute_url, date, "
               "date_to_string, markdownify, slugify, xml_escape, where, jsonify, ...).")


def site_link(url: str, base: str, site_url: str = "") -> str:
    """baseurl (and site url) + url, leaving URLs that name their own host alone."""
    if re.match(r"^([a-z][a-z0-9+.-]*:|//)", url, re.IGNORECASE):
        return url
    return site_url + base + "/" + url.lstrip("/")
