"""Jekyll's tags and filters on python-liquid: what a Jekyll blog's posts call beyond plain Liquid."""
from __future__ import annotations

import datetime as dt
import html
import json
import re
import shlex
import threading
from typing import Any, Iterable, TextIO
from urllib.parse import quote, quote_plus

from dateutil import parser as date_parser
from liquid import Environment, Mode, Tag, Undefined
from liquid.ast import BlockNode, Node
from liquid.filter import with_context
from liquid.parser import get_parser
from liquid.stream import TokenStream
from liquid.token import TOKEN_EXPRESSION, TOKEN_TAG

# One post's expansion per thread at a time: what its tags, filters and undefined values report to.
current = threading.local()
ARGUMENT = re.compile(r"""([\w-]+)\s*=\s*("[^"]*"|'[^']*'|\S+)""")


def expression_text(stream: TokenStream, block: bool) -> tuple[Any, str]:
    """(the tag's token, the raw text after its name); a block tag also steps past the text."""
    token = stream.eat(TOKEN_TAG)
    if stream.current.kind != TOKEN_EXPRESSION:
        return token, ""
    text = stream.current.value
    if block:
        next(stream)
    return token, text.strip()


class CallbackNode(Node):
    """A tag whose output comes from the builder: include, post_url, link."""

    def __init__(self, token, name: str, argument: str):
        super().__init__(token)
        self.name, self.argument = name, argument

    def render_to_output(self, context, buffer: TextIO) -> int:
        return buffer.write(current.call(self.name, self.argument, self.token, context))

    def children(self, static_context, *, include_partials: bool = True) -> Iterable[Node]:
        return ()


class CallbackTag(Tag):
    """`{% include NAME key=value %}`, `{% post_url NAME %}`, `{% link PATH %}` as Jekyll writes them."""

    block = False

    def parse(self, stream: TokenStream) -> Node:
        token, text = expression_text(stream, block=False)
        return CallbackNode(token, self.name, text)


def callback_tag(tag_name: str) -> type[CallbackTag]:
    return type(f"{tag_name.title()}Tag", (CallbackTag,), {"name": tag_name})


def include_arguments(text: str, context) -> dict[str, Any]:
    """`key="v" other=page.x` → values; unquoted values are variables, as in Jekyll."""
    values: dict[str, Any] = {}
    for key, value in ARGUMENT.findall(text):
        if value[:1] in "\"'":
            values[key] = unquote(value)
        else:
            found = context.get(value.split("."), token=None, default=None)
            values[key] = None if isinstance(found, Undefined) else found
    return values


def unquote(value: str) -> str:
    try:
        return shlex.split(value)[0]
    except (ValueError, IndexError):
        return value.strip("\"'")


class HighlightNode(Node):
    """`{% highlight LANG [linenos] %}` as the fenced block the Markdown stage highlights."""

    def __init__(self, token, argument: str, block: BlockNode):
        super().__init__(token)
        self.argument, self.block = argument, block

    def render_to_output(self, context, buffer: TextIO) -> int:
        inner = context.get_buffer(buffer)
        self.block.render(context, inner)
        language, *options = self.argument.split() or [""]
        numbers = ' linenums="1"' if any(o.startswith("linenos") for o in options) else ""
        return buffer.write(f"```{language}{numbers}\n{inner.getvalue().strip(chr(10))}\n```")

    def children(self, static_context, *, include_partials: bool = True) -> Iterable[Node]:
        yield self.block


class HighlightTag(Tag):
    name = "highlight"
    end = "endhighlight"

    def parse(self, stream: TokenStream) -> Node:
        token, argument = expression_text(stream, block=True)
        block = get_parser(self.env).parse_block(stream, ("endhighlight",))
        stream.expect(TOKEN_TAG, value="endhighlight")
        return HighlightNode(token, argument, block)


class QuietUndefined(Undefined):
    """Jekyll prints nothing for an unset value; we also say so, and a variable from nowhere is an error."""

    def __str__(self) -> str:
        current.undefined(self.name, self.token)
        return ""


# Filters Jekyll adds to Liquid's own.


def to_datetime(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value
    if isinstance(value, dt.date):
        return dt.datetime(value.year, value.month, value.day)
    try:
        return date_parser.parse(str(value))
    except (ValueError, OverflowError):
        return None


def date_filter(format_name: str):
    def apply(value: Any, *_: Any) -> str:
        when = to_datetime(value)
        if when is None:
            return "" if value is None or isinstance(value, Undefined) else str(value)
        if format_name == "xmlschema":
            return when.isoformat() + ("" if when.tzinfo else "+00:00")
        if format_name == "rfc822":
            return when.strftime("%a, %d %b %Y %H:%M:%S ") + (when.strftime("%z") or "+0000")
        month = "%B" if format_name == "long" else "%b"
        return f"{when.day:02d} {when.strftime(month)} {when.year}"
    return apply


def slugify(value: Any, mode: str = "default") -> str:
    """Jekyll's `slugify`: lower case, runs of anything but letters and digits become one hyphen."""
    text = "" if value is None else str(value)
    if mode == "raw":
        return re.sub(r"\s+", "-", text).strip("-").lower()
    pattern = r"[^\w._~!$&'()+,;=@-]+" if mode == "pretty" else r"[^\w-]+|_+"
    return re.sub(pattern, "-", text).strip("-").lower()


def where(items: Any, key: str, value: Any = None) -> list:
    return [item for item in as_items(items) if str(get(item, key)) == str(value)]


def group_by(items: Any, key: str) -> list[dict[str, Any]]:
    groups: dict[str, list] = {}
    for item in as_items(items):
        groups.setdefault(str(get(item, key) or ""), []).append(item)
    return [{"name": name, "items": members, "size": len(members)} for name, members in groups.items()]


def as_items(items: Any) -> list:
    if isinstance(items, dict):
        return list(items.values())
    return [] if items is None or isinstance(items, Undefined) else list(items)


def get(item: Any, key: str) -> Any:
    return item.get(key) if isinstance(item, dict) else getattr(item, key, None)


def jsonify(value: Any) -> str:
    return json.dumps(value, default=str, ensure_ascii=False)


def number_of_words(value: Any) -> int:
    return len(str(value or "").split())


def array_to_sentence_string(items: Any, connector: str = "and") -> str:
    words = [str(item) for item in as_items(items)]
    if len(words) <= 2:
        return f" {connector} ".join(words)
    return ", ".join(words[:-1]) + f", {connector} {words[-1]}"


@with_context
def relative_url(value: Any, *, context) -> str:
    return current.link(str(value or ""), absolute=False)


@with_context
def absolute_url(value: Any, *, context) -> str:
    return current.link(str(value or ""), absolute=True)


def markdownify(value: Any) -> str:
    from builder.render.markup import render_markdown_output   # the Markdown stage; imported late
    return render_markdown_output(str(value or "")).strip()


JEKYLL_FILTERS = {
    "date_to_string": date_filter("short"), "date_to_long_string": date_filter("long"),
    "date_to_xmlschema": date_filter("xmlschema"), "date_to_rfc822": date_filter("rfc822"),
    "slugify": slugify, "xml_escape": lambda v: html.escape(str(v or "")), "where": where,
    "group_by": group_by, "jsonify": jsonify, "number_of_words": number_of_words,
    "array_to_sentence_string": array_to_sentence_string, "relative_url": relative_url,
    "absolute_url": absolute_url, "markdownify": markdownify,
    "cgi_escape": lambda v: quote_plus(str(v or "")),
    "uri_escape": lambda v: quote(str(v or ""), safe="/:?&=#"),
    "normalize_whitespace": lambda v: re.sub(r"\s+", " ", str(v or "")),
    "inspect": lambda v: repr(v), "smartify": lambda v: str(v or ""),
}


class Problems(Environment):
    """A Liquid environment that records every problem of a text instead of stopping at the first."""

    def error(self, exc, msg=None, token=None) -> None:
        if not isinstance(exc, Exception):
            exc = exc(msg, token=token)
        elif not exc.token:
            exc.token = token
        current.problems.append(exc)


def jekyll_environment() -> Environment:
    """Liquid with Jekyll's tags and filters; lax parsing so that every problem is recorded."""
    env = Problems(tolerance=Mode.LAX, strict_filters=True, undefined=QuietUndefined)
    for name in ("include", "post_url", "link"):
        env.add_tag(callback_tag(name))
    env.add_tag(HighlightTag)
    for name in ("render", "tablerow", "ifchanged", "include_relative"):
        env.tags.pop(name, None)
    env.filters.update(JEKYLL_FILTERS)
    return env

