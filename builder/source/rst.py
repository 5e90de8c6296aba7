"""The reStructuredText that sphinx-gallery scripts write their prose in, turned into Markdown.

Only the constructs tutorials use most: section headings, inline literals, links, roles, math,
code blocks, literal blocks, admonitions, images and comments. Anything else stays as it is;
directives that cannot be carried over are dropped, and each one is named in the notes.
"""
from __future__ import annotations

import re

ADORNMENT = re.compile(r"^([=\-~^\"'`*+#:.<>_])\1{2,}\s*$")
DIRECTIVE = re.compile(r"^\.\.[ \t]+(?P<name>[\w:-]+)::[ \t]*(?P<argument>.*)$")
TARGET = re.compile(r"^\.\.[ \t]+(?:_[^:]*|\|[^|]+\|[^:]*):")
COMMENT = re.compile(r"^\.\.(?:[ \t]|$)")
ADMONITIONS = {"note": "Note", "tip": "Tip", "hint": "Hint", "important": "Important",
               "warning": "Warning", "caution": "Caution", "attention": "Attention",
               "danger": "Danger", "error": "Error", "seealso": "See also", "admonition": ""}
CODE_DIRECTIVES = ("code-block", "code", "sourcecode", "ipython", "testcode")
PYTHON = ("python", "python3", "py", "ipython", "pycon", "")
LINK = re.compile(r"`(?P<text>[^`<]*?)\s*<(?P<url>[^`>]+)>`__?")
ROLE = re.compile(r":(?P<role>[\w:.-]+):`(?P<content>[^`]+)`")
LITERAL = re.compile(r"``(?P<code>.+?)``")
NAMED_REFERENCE = re.compile(r"`(?P<text>[^`<]+)`__?")


def rst_to_markdown(text: str, levels: list[str]) -> tuple[str, list[str]]:
    """Markdown for `text`, and notes on what was dropped. `levels` lists the heading adornments
    seen so far (RST ranks headings by the order their styles first appear); it is updated."""
    lines, out, notes = text.split("\n"), [], []
    index = 0
    while index < len(lines):
        converted, index = construct_markdown(lines, index, levels, notes)
        out.extend(converted)
    return "\n".join(single_blank_lines(out)).strip("\n"), notes


def construct_markdown(lines: list[str], index: int, levels: list[str],
                       notes: list[str]) -> tuple[list[str], int]:
    """The Markdown lines for the RST construct starting at lines[index], and the index after it."""
    line = lines[index]
    heading = heading_at(lines, index)
    if heading:
        title, style, used = heading
        return [heading_markdown(title, style, levels)], index + used
    directive = DIRECTIVE.match(line)
    if directive:
        block, index = indented_block(lines, index + 1)
        argument = directive["argument"].strip()
        return directive_markdown(directive["name"], argument, block, notes), index
    if COMMENT.match(line):
        _, index = indented_block(lines, index + 1)
        if not TARGET.match(line) and line.strip() != "..":
            notes.append(f"dropped the RST comment {line.strip()!r}")
        return [], index
    if line.rstrip().endswith("::") and not line.lstrip().startswith(".."):
        block, index = indented_block(lines, index + 1)
        return literal_block_markdown(line, block), index
    return [inline(re.sub(r"^(\s*)#\.(\s)", r"\g<1>1.\2", line))], index + 1


def heading_markdown(title: str, style: str, levels: list[str]) -> str:
    """A Markdown heading ranked by when its RST style first appeared (`levels` is updated)."""
    if style not in levels:
        levels.append(style)
    return "#" * min(levels.index(style) + 1, 6) + " " + inline(title)


def literal_block_markdown(line: str, block: list[str]) -> list[str]:
    """A paragraph ending in `::` (its prose, colon kept once) and the literal block after it."""
    prose = line.rstrip()[:-2].rstrip()
    return ([inline(prose) + ":", ""] if prose else []) + fence("text", block) + [""]


def single_blank_lines(lines: list[str]) -> list[str]:
    """The lines with runs of blank lines outside code fences made one."""
    kept, fenced = [], None
    for line in lines:
        marker = line[:3] if line[:3] in ("```", "~~~") else None
        if marker and fenced in (None, marker):
            fenced = None if fenced else marker
        if fenced or line.strip() or (kept and kept[-1].strip()):
            kept.append(line)
    return kept


def heading_at(lines: list[str], index: int) -> tuple[str, str, int] | None:
    """(title, adornment style, lines used) when a section heading starts at `index`."""
    line = lines[index]
    if ADORNMENT.match(line) and index + 2 < len(lines) and lines[index + 2].strip() == line.strip():
        title = lines[index + 1].strip()
        if title and not ADORNMENT.match(lines[index + 1]):
            return title, "over" + line.strip()[0], 3
    if (line.strip() and not line[0].isspace() and not ADORNMENT.match(line) and index + 1 < len(lines)
            and ADORNMENT.match(lines[index + 1]) and len(lines[index + 1].strip()) >= len(line.strip())):
        return line.strip(), lines[index + 1].strip()[0], 2
    return None


def first_heading(text: str) -> tuple[str, str, str] | None:
    """The first section heading's title, the text without it and its adornment style, or None."""
    lines = text.split("\n")
    for index in range(len(lines)):
        heading = heading_at(lines, index)
        if heading:
            rest = lines[:index] + lines[index + heading[2]:]
            return heading[0], "\n".join(rest), heading[1]
    return None


def indented_block(lines: list[str], start: int) -> tuple[list[str], int]:
    """The indented lines from `start` (options, content), dedented, and where the block ends."""
    end = start
    for index in range(start, len(lines)):
        if lines[index].strip() and not lines[index][0].isspace():
            break
        end = index + 1
    block = lines[start:end]
    while block and not block[-1].strip():
        block.pop()
    while block and not block[0].strip():
        block.pop(0)
    width = min((len(line) - len(line.lstrip()) for line in block if line.strip()), default=0)
    return [line[width:] for line in block], end


def directive_markdown(name: str, argument: str, block: list[str], notes: list[str]) -> list[str]:
    """The Markdown lines for one directive (empty when it is dropped)."""
    body = without_options(block)
    if name in CODE_DIRECTIVES:
        language = argument.split()[0].lower() if argument else "python"
        return [""] + fence("python" if language in PYTHON else language, body, shown_only=True) + [""]
    if name == "math":
        return ["", "$$", *(body or [argument]), "$$", ""]
    if name in ADMONITIONS:
        label = ADMONITIONS[name] or argument
        content = body if name == "admonition" or not argument else [argument, *block]
        converted, inner = rst_to_markdown("\n".join(content), [])
        notes.extend(inner)
        quoted = [f"> {line}" if line else ">" for line in converted.split("\n")]
        return ["", f"> **{label}**", ">", *quoted, ""]
    if name in ("image", "figure") and re.match(r"^https?://", argument):
        caption = " ".join(line for line in body if line.strip())
        image = f"![{alt_text(block) or caption}]({argument})"
        return ["", image, ""] + ([f"*{inline(caption)}*", ""] if caption else [])
    why = " (only images at http(s) URLs are kept)" if name in ("image", "figure") else ""
    shown = f".. {name}:: {argument}".rstrip()
    notes.append(f"dropped the RST directive `{shown}`{why}")
    return []


def without_options(block: list[str]) -> list[str]:
    """A directive's content without its `:option: value` lines."""
    index = 0
    while index < len(block) and re.match(r"^:[\w-]+:", block[index]):
        index += 1
    body = block[index:]
    while body and not body[0].strip():
        body = body[1:]
    return body


def alt_text(block: list[str]) -> str:
    return next((line.split(":alt:", 1)[1].strip() for line in block if line.startswith(":alt:")), "")


def fence(language: str, lines: list[str], shown_only: bool = False) -> list[str]:
    """A fenced block; python code from the prose is shown, never run."""
    fence_mark = "~~~" if any(line.lstrip().startswith("```") for line in lines) else "```"
    options = ["#| eval: false"] if shown_only and language == "python" else []
    return [f"{fence_mark}{language}", *options, *lines, fence_mark]


def plain(text: str) -> str:
    """Inline markup reduced to its text, for a title: ``x`` and `x <url>`_ become x."""
    text = re.sub(r"``(.+?)``", r"\1", text)
    return NAMED_REFERENCE.sub(lambda m: m["text"], LINK.sub(lambda m: m["text"] or m["url"], text))


def inline(text: str) -> str:
    """Inline markup: ``code``, `text <url>`_, roles (:math:, :func:, :ref:, ...)."""
    parts = re.split(r"(``.+?``)", text)
    return "".join(f"`{part[2:-2]}`" if part.startswith("``") and len(part) > 4 else inline_roles(part)
                   for part in parts)


def inline_roles(text: str) -> str:
    text = LINK.sub(lambda m: f"[{m['text'] or m['url']}]({m['url']})", text)
    text = ROLE.sub(role_markdown, text)
    return NAMED_REFERENCE.sub(lambda m: m["text"], text)


def role_markdown(match: re.Match) -> str:
    role, content = match["role"].split(":")[-1], match["content"]
    if role == "math":
        return f"${content}$"
    labelled = re.match(r"^(?P<text>.*?)\s*<(?P<target>[^>]+)>$", content)
    shown = labelled["text"] if labelled else content
    if role in ("ref", "doc", "term"):
        return shown
    return f"`{shown.lstrip('~.')}`"
