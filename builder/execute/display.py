"""A cell's nbformat outputs as ours: the richest kind of each display that a page can show,
chosen in the order Jupyter chooses, and made safe and stable for the page and its record."""
from __future__ import annotations

import base64
import hashlib
import json
import re
import struct
import xml.etree.ElementTree as etree

from builder.core.errors import ExecutionError, Location
from builder.formats.figures import (FigureError, MAX_FIGURE_BYTES, MAX_FIGURE_SIDE, check_figure_count,
                                     check_figure_size, figure_name, display_size, png_size,
                                     strip_png_metadata)
from builder.core.model import CodeCell, Output, Post
from builder.formats.outputs import clean_text_output, strip_ansi

VOLATILE_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]{6,}>")
# Jupyter's order of preference among what a page can show (JavaScript and widgets: never).
MIME_ORDER = ("text/html", "text/markdown", "text/latex", "image/svg+xml", "image/png",
              "image/jpeg", "text/plain")
# Interactive charts come before all of those: their HTML needs a script the page never runs.
# Altair 5 names its spec `...v5+json`; Altair 6's `...v6.json` is renamed `...v6+json` in the
# kernel (builder.execute.figure_formats), since nbformat refuses a JSON object under that name.
CHART_MIMES = {"application/vnd.plotly.v1+json": "plotly",
               "application/vnd.vegalite.v5+json": "vegalite", "application/vnd.vegalite.v6+json": "vegalite"}


def collect_outputs(post: Post, cells: list[CodeCell], nb_cells: list) -> tuple[dict, dict]:
    """Each cell's outputs (by cell number) and the figures they saved (path -> bytes)."""
    from builder.core.model import CellResult
    results, figures = {}, {}
    for cell, nb_cell in zip(cells, nb_cells):
        outputs, first_figure = [], len(figures)
        for raw in merge_streams(nb_cell.get("outputs", [])):
            outputs.append(convert_output(post, cell, raw, figures, len(figures) - first_figure))
        results[cell.number] = CellResult(cell.number, tuple(o for o in outputs if o))
    return results, figures


def merge_streams(outputs: list) -> list:
    """Consecutive outputs of one stream as one, as a notebook shows them."""
    merged: list = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (output.get("output_type") == "stream" and previous is not None
                and previous.get("output_type") == "stream" and previous["name"] == output["name"]):
            merged[-1] = dict(previous, text=previous["text"] + output["text"])
        else:
            merged.append(dict(output))
    return merged


def convert_output(post: Post, cell: CodeCell, raw: dict, figures: dict, index: int) -> Output | None:
    """One nbformat output as ours; `index` counts the cell's figures so far."""
    kind = raw.get("output_type")
    if kind == "stream":
        return Output("stream", text=clean_text_output(raw["text"]), name=raw["name"])
    if kind == "error":
        return Output("error", text=clean_traceback(raw["traceback"]))
    data = raw.get("data", {})
    for mime, library in CHART_MIMES.items():
        if isinstance(data.get(mime), dict):
            return chart_output(post, cell, library, data[mime], figures, index)
    for mime in MIME_ORDER:
        if mime in data:
            output = display_output(post, cell, mime, data[mime], figures, index,
                                    raw.get("metadata", {}).get(mime))
            if output is not None:
                return output
    return None


def display_output(post: Post, cell: CodeCell, mime: str, value, figures: dict, index: int,
                   metadata: dict | None = None) -> Output | None:
    """The output for one representation, or None when it cannot be shown (the next one is tried);
    `metadata` is the kernel's for this representation (a figure's size to show)."""
    if mime in ("image/png", "image/jpeg"):
        return figure_output(post, cell, base64.b64decode(join_text(value)), figures, index, mime, metadata)
    text = join_text(value)
    if mime == "text/html":
        return Output("html", text=text)
    if mime == "text/markdown":
        return Output("markdown", text=text)
    if mime == "text/latex":
        return Output("latex", text=text.strip()) if latex_converts(text) else None
    if mime == "image/svg+xml":
        svg = safe_svg(text) if len(text) <= MAX_FIGURE_BYTES else None
        return Output("svg", text=svg) if svg else None
    return Output("text", text=clean_text_output(VOLATILE_ADDRESS.sub(" at 0x…>", text)))


def join_text(value: str | list[str]) -> str:
    """A MIME bundle's value, which nbformat may store as a list of lines."""
    return value if isinstance(value, str) else "".join(value)


def clean_traceback(lines: list[str]) -> str:
    """A traceback's lines as plain text, without colours."""
    return strip_ansi("\n".join(lines))


def latex_converts(tex: str) -> bool:
    """Whether a text/latex output converts to MathML (else the next representation is shown)."""
    from builder.formats.mathml import MathError, latex_html
    try:
        latex_html(tex)
    except MathError:
        return False
    return True


def figure_output(post: Post, cell: CodeCell, data: bytes, figures: dict, index: int,
                  mime: str = "image/png", metadata: dict | None = None) -> Output:
    """A PNG or JPEG figure: checked, stripped of metadata, added to `figures` under its name."""
    try:
        check_figure_count(index + 1, f"cell {cell.number}")
        name = figure_name(cell.options.get("label"), cell.number, index)
        if mime == "image/jpeg":
            name = name[:-len(".png")] + ".jpg"
            data = strip_jpeg_metadata(data)
            width, height = jpeg_size(data)
            if len(data) > MAX_FIGURE_BYTES:
                raise FigureError(f"image {name} is {len(data):,} bytes, more than the limit of "
                                  f"{MAX_FIGURE_BYTES:,} bytes", "Show a smaller image.")
        else:
            data = strip_png_metadata(data)
            check_figure_size(data, name)
            width, height = shown_size(data, metadata)
    except FigureError as error:
        raise ExecutionError(str(error), Location(post.path, cell.fence_line, cell.number),
                             error.hint or "Use a label of letters, digits, '-', '_' and '.'.") from None
    path = f"assets/img/{post.slug}/{name}"
    figures[path] = data
    return Output("image", path=path, sha256=hashlib.sha256(data).hexdigest(),
                  width=width, height=height, text=str(cell.options.get("fig-alt") or ""))


def shown_size(data: bytes, metadata: dict | None) -> tuple[int, int]:
    """The size at which to show a PNG: the kernel's when it gives one, as Jupyter does (a
    "retina" figure carries half its pixel size), else its pixels divided by its pHYs density."""
    if isinstance(metadata, dict):
        size = metadata.get("width"), metadata.get("height")
        if all(type(side) is int and 1 <= side <= MAX_FIGURE_SIDE for side in size):
            return size
    return display_size(data)


def chart_output(post: Post, cell: CodeCell, library: str, spec: dict, figures: dict, index: int) -> Output:
    """An interactive chart: its spec as JSON data, and a PNG of it saved like other figures."""
    from builder.execute.chart_images import SCALE, chart_png
    text = json.dumps(spec, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    try:
        check_figure_count(index + 1, f"cell {cell.number}")
        if len(text.encode("utf-8")) > MAX_FIGURE_BYTES:
            raise FigureError(f"the {library} chart's data is {len(text.encode('utf-8')):,} bytes, more than "
                              f"the limit of {MAX_FIGURE_BYTES:,}", "Plot a sample or a summary of the data.")
        name = figure_name(cell.options.get("label"), cell.number, index)[:-len(".png")] + f".{library}.png"
        data = strip_png_metadata(chart_png(library, spec))
        check_figure_size(data, name)
    except FigureError as error:
        raise ExecutionError(str(error), Location(post.path, cell.fence_line, cell.number),
                             error.hint or "Use a label of letters, digits, '-', '_' and '.'.") from None
    width, height = png_size(data)
    path = f"assets/img/{post.slug}/{name}"
    figures[path] = data
    return Output("chart", text=text, name=library, path=path, sha256=hashlib.sha256(data).hexdigest(),
                  width=max(1, width // SCALE), height=max(1, height // SCALE))


# --- JPEG: segments are FF, a marker byte, then (for most) a 2-byte length that counts itself.

JPEG_START, JPEG_SCAN = b"\xff\xd8", 0xDA
# APP1-APP13 and APP15 (Exif, XMP, camera notes) and comments change between runs or leak where
# an image was made; JFIF (APP0) and Adobe (APP14) describe the colours and stay.
JPEG_METADATA = set(range(0xE1, 0xEE)) | {0xEF, 0xFE}
JPEG_FRAMES = set(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}


def jpeg_segments(data: bytes) -> list[tuple[int, int, int]]:
    """(marker, start, end) of each segment before the image data."""
    if not data.startswith(JPEG_START):
        raise FigureError("the image/jpeg output is not a JPEG image")
    segments, offset = [], 2
    while offset + 4 <= len(data) and data[offset] == 0xFF:
        marker = data[offset + 1]
        length = struct.unpack(">H", data[offset + 2:offset + 4])[0]
        segments.append((marker, offset, offset + 2 + length))
        if marker == JPEG_SCAN:
            return segments
        offset += 2 + length
    raise FigureError("the image/jpeg output is a truncated or damaged JPEG image")


def strip_jpeg_metadata(data: bytes) -> bytes:
    """The JPEG without its metadata segments."""
    *headers, scan = jpeg_segments(data)
    kept = [data[start:end] for marker, start, end in headers if marker not in JPEG_METADATA]
    return JPEG_START + b"".join(kept) + data[scan[1]:]


def jpeg_size(data: bytes) -> tuple[int, int]:
    """(width, height) from the JPEG's frame header."""
    for marker, start, end in jpeg_segments(data):
        if marker in JPEG_FRAMES and end - start >= 9:
            height, width = struct.unpack(">HH", data[start + 5:start + 9])
            return width, height
    raise FigureError("the image/jpeg output has no frame header")


# --- SVG: shown as an <img>, where a browser runs no script and loads nothing; cleaned as well,
# since the page's HTML and the freeze record carry it.

SVG = "http://www.w3.org/2000/svg"
XLINK = "http://www.w3.org/1999/xlink"
SVG_UNSAFE_ELEMENTS = {"script", "foreignObject", "iframe", "embed", "object", "audio", "video"}
LINK_ATTRIBUTES = {"href", f"{{{XLINK}}}href"}
EXTERNAL_URL = re.compile(r"url\(\s*['\"]?\s*(?!#)", re.IGNORECASE)


def safe_svg(text: str) -> str | None:
    """The SVG without scripts, event handlers and references outside itself; None if not SVG."""
    etree.register_namespace("", SVG)
    etree.register_namespace("xlink", XLINK)
    try:
        root = etree.fromstring(text.encode("utf-8"))
    except (etree.ParseError, ValueError):
        return None
    if local_name(root.tag) != "svg":
        return None
    for parent in root.iter():
        for child in list(parent):
            if unsafe_element(child):
                parent.remove(child)
        for name, value in list(parent.attrib.items()):
            if unsafe_attribute(name, value):
                del parent.attrib[name]
    return etree.tostring(root, encoding="unicode")


def unsafe_element(element: etree.Element) -> bool:
    """Whether an SVG element can run code or load another file."""
    if not isinstance(element.tag, str) or local_name(element.tag) in SVG_UNSAFE_ELEMENTS:
        return True
    # a style sheet may import or point at other files
    return local_name(element.tag) == "style" and bool(re.search(
        r"@import|" + EXTERNAL_URL.pattern, element.text or "", re.IGNORECASE))


def local_name(tag: str) -> str:
    """A tag or attribute name without its {namespace}."""
    return tag.rsplit("}", 1)[-1]


def unsafe_attribute(name: str, value: str) -> bool:
    """Whether an SVG attribute handles an event or points outside the image."""
    if local_name(name).lower().startswith("on"):
        return True
    if name in LINK_ATTRIBUTES:
        return not value.strip().startswith("#")
    return EXTERNAL_URL.search(value) is not None
