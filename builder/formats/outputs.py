"""Clean captured text outputs of notebook cells before they go on a page or into a record."""

import re

_ANSI_ESCAPE = re.compile(
    # OSC (window titles, hyperlinks) and the other string sequences, ended by BEL or ST
    r"\x1b[\]PX^_][^\x07\x1b\n]*(?:\x07|\x1b\\)"
    # CSI: colours, cursor movement, erasing
    r"|\x1b\[[0-?]*[ -/]*[@-~]"
    # short escapes such as ESC ( B or ESC =
    r"|\x1b[ -/]*[0-~]"
)


def clean_text_output(text: str) -> str:
    """Strip ANSI escapes, resolve carriage returns and backspaces, then truncate."""
    return truncate_output(collapse_carriage_returns(strip_ansi(text)))


def strip_ansi(text: str) -> str:
    """Remove ANSI escape sequences (CSI such as colours, OSC and short escapes)."""
    return _ANSI_ESCAPE.sub("", text)


def collapse_carriage_returns(text: str) -> str:
    """Render each line as a terminal would show it after its \\r and \\b characters."""
    # A \r just before \n changes nothing, so \r\n needs no special case.
    return "\n".join(_render_line(line) for line in text.split("\n"))


def _render_line(line: str) -> str:
    if "\b" in line:
        return _render_characters(line)
    # Fast path for progress bars: each \r-separated part overwrites the start.
    screen = ""
    for part in line.split("\r"):
        screen = part + screen[len(part):]
    return screen


def _render_characters(line: str) -> str:
    screen: list[str] = []
    cursor = 0
    for char in line:
        if char == "\r":
            cursor = 0
        elif char == "\b":
            if cursor:
                cursor -= 1
                del screen[cursor]
        else:
            screen[cursor:cursor + 1] = [char]
            cursor += 1
    return "".join(screen)


def truncate_output(
    text: str,
    max_lines: int = 1000,
    head: int = 200,
    tail: int = 200,
    max_chars: int = 200_000,
) -> str:
    """Cut the middle of text over max_lines lines or max_chars characters, leaving a note."""
    _check_limits(max_lines, head, tail, max_chars)
    start, end = _cut_span(text, max_lines, head, tail, max_chars)
    if start >= end:
        return text
    return _splice_note(text, start, end, _cut_note(text, start, end))


def _check_limits(max_lines: int, head: int, tail: int, max_chars: int) -> None:
    if min(max_lines, head, tail, max_chars) < 0 or head + tail > max_lines:
        raise ValueError(
            "limits must be non-negative with head + tail <= max_lines, got "
            f"max_lines={max_lines}, head={head}, tail={tail}, max_chars={max_chars}"
        )


def _cut_span(text: str, max_lines: int, head: int, tail: int, max_chars: int) -> tuple[int, int]:
    """Offsets (start, end) of the middle part to cut; start >= end means keep everything."""
    start, end = _line_cut_span(text, max_lines, head, tail) or (len(text), 0)
    if len(text) - max(end - start, 0) <= max_chars:
        return start, end
    head_chars = max_chars // 2
    return min(start, head_chars), max(end, len(text) - (max_chars - head_chars))


def _line_cut_span(text: str, max_lines: int, head: int, tail: int) -> tuple[int, int] | None:
    if _count_lines(text) <= max_lines:
        return None
    return _start_of_line(text, head), _start_of_last_lines(text, tail)


def _count_lines(text: str) -> int:
    return text.count("\n") + (not text.endswith("\n"))


def _start_of_line(text: str, index: int) -> int:
    offset = 0
    for _ in range(index):
        offset = text.index("\n", offset) + 1
    return offset


def _start_of_last_lines(text: str, count: int) -> int:
    if count == 0:
        return len(text)
    # The final newline ends the last line rather than starting a new one.
    offset = len(text) - text.endswith("\n")
    for _ in range(count):
        offset = text.rindex("\n", 0, offset)
    return offset + 1


def _cut_note(text: str, start: int, end: int) -> str:
    if _is_whole_lines(text, start, end):
        amount = _plural(_count_lines(text[start:end]), "line")
    else:
        amount = _plural(end - start, "character")
    return f"... [{amount} cut: output too long; run the tutorial to see all of it] ..."


def _is_whole_lines(text: str, start: int, end: int) -> bool:
    starts_a_line = start == 0 or text[start - 1] == "\n"
    ends_a_line = end == len(text) or text[end - 1] == "\n"
    return starts_a_line and ends_a_line


def _plural(count: int, noun: str) -> str:
    return f"{count:,} {noun}" + ("" if count == 1 else "s")


def _splice_note(text: str, start: int, end: int, note: str) -> str:
    """Replace text[start:end] with note on a line of its own."""
    before = "\n" if start and text[start - 1] != "\n" else ""
    after = "\n" if end < len(text) or text.endswith("\n") else ""
    return text[:start] + before + note + after + text[end:]
