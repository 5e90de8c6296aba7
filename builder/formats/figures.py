"""Make captured matplotlib PNGs byte-for-byte reproducible and give them stable file names."""

import re
import struct
import zlib
from typing import NamedTuple

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# Chunks that affect how the image looks; everything else (text, time stamps,
# Exif, private chunks) is metadata that changes between runs or machines.
KEPT_CHUNK_TYPES = frozenset(
    {b"IHDR", b"PLTE", b"IDAT", b"IEND", b"tRNS", b"gAMA", b"cHRM", b"sRGB", b"pHYs"}
)

MAX_CHUNK_LENGTH = 2**31 - 1
IHDR_LENGTH = 13
CHUNK_OVERHEAD = 12  # length, type and CRC fields around the chunk data

MAX_LABEL_LENGTH = 100
ALLOWED_LABEL_CHARACTERS = "A-Z, a-z, 0-9, '.', '_' and '-'"
_LABEL_CHARACTER = re.compile(r"[A-Za-z0-9._-]")


# A cell that draws a huge figure, or hundreds of them, must not make a giant page or record.
MAX_FIGURE_SIDE = 4096               # pixels, width and height
MAX_FIGURE_BYTES = 5 * 1024 * 1024   # per figure, after metadata is stripped
MAX_FIGURES_PER_CELL = 50


class FigureError(ValueError):
    """Raised for malformed PNG data, a figure over the size limits, or an unsafe figure label."""

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.hint = hint


class PngChunk(NamedTuple):
    """One chunk of a PNG stream, with its original bytes."""

    type: bytes
    data: bytes
    raw: bytes  # length, type, data and CRC exactly as stored
    offset: int


def strip_png_metadata(data: bytes) -> bytes:
    """Return the PNG with only the chunks that affect the image, original bytes unchanged."""
    chunks = read_png_chunks(data)
    _reject_unknown_critical_chunks(chunks)
    kept = [chunk.raw for chunk in chunks if chunk.type in KEPT_CHUNK_TYPES]
    return PNG_SIGNATURE + b"".join(kept)


def png_size(data: bytes) -> tuple[int, int]:
    """Return (width, height) of the PNG as stated in its IHDR chunk."""
    header = read_png_chunks(data)[0]
    width, height = struct.unpack(">II", header.data[:8])
    return width, height


# Figures drawn at twice matplotlib's 100 dpi (the inline backend's "retina" format) record
# about 200 dpi in their pHYs chunk; they are shown at half their pixel size so that
# high-density screens get sharp figures at the usual size.
HIGH_DENSITY_DPI = 190
METRES_PER_INCH = 0.0254


def pixel_ratio(data: bytes) -> int:
    """2 when the PNG's pHYs chunk records a high-density figure (about 200 dpi), else 1."""
    for chunk in read_png_chunks(data):
        if chunk.type == b"pHYs" and len(chunk.data) == 9:
            x_per_metre, y_per_metre, unit = struct.unpack(">IIB", chunk.data)
            per_inch = min(x_per_metre, y_per_metre) * METRES_PER_INCH
            return 2 if unit == 1 and per_inch >= HIGH_DENSITY_DPI else 1
    return 1


def display_size(data: bytes) -> tuple[int, int]:
    """(width, height) at which to show the PNG: its pixel size divided by its pixel ratio."""
    width, height = png_size(data)
    ratio = pixel_ratio(data)
    return max(1, width // ratio), max(1, height // ratio)


def read_png_chunks(data: bytes) -> list[PngChunk]:
    """Parse and validate the chunk stream of a PNG file, from IHDR to IEND."""
    _check_signature(data)
    chunks: list[PngChunk] = []
    offset = len(PNG_SIGNATURE)
    while not chunks or chunks[-1].type != b"IEND":
        chunk = _read_chunk(data, offset)
        chunks.append(chunk)
        offset += len(chunk.raw)
    _check_header(chunks[0])
    _check_nothing_after_end(data, offset)
    return chunks


def _check_signature(data: bytes) -> None:
    if not data.startswith(PNG_SIGNATURE):
        raise FigureError(
            f"not a PNG file: expected the signature {PNG_SIGNATURE.hex()}, "
            f"got {data[:len(PNG_SIGNATURE)].hex() or 'no data'}"
        )


def _read_chunk(data: bytes, offset: int) -> PngChunk:
    if offset + 8 > len(data):
        raise FigureError(f"truncated PNG: no IEND chunk before the data ends at byte {len(data)}")
    length, chunk_type = struct.unpack(">I4s", data[offset:offset + 8])
    _check_chunk_type(chunk_type, offset)
    _check_chunk_length(data, offset, chunk_type, length)
    raw = data[offset:offset + CHUNK_OVERHEAD + length]
    _check_crc(raw, offset)
    return PngChunk(chunk_type, raw[8:-4], raw, offset)


def _check_chunk_type(chunk_type: bytes, offset: int) -> None:
    if not chunk_type.isalpha():
        raise FigureError(f"corrupt PNG: invalid chunk type {chunk_type!r} at byte {offset}")


def _check_chunk_length(data: bytes, offset: int, chunk_type: bytes, length: int) -> None:
    if length > MAX_CHUNK_LENGTH:
        raise FigureError(
            f"corrupt PNG: chunk {chunk_type.decode()} at byte {offset} declares "
            f"{length} bytes, more than the PNG maximum of {MAX_CHUNK_LENGTH}"
        )
    available = len(data) - offset - CHUNK_OVERHEAD
    if length > available:
        raise FigureError(
            f"truncated PNG: chunk {chunk_type.decode()} at byte {offset} declares "
            f"{length} data bytes but only {max(available, 0)} remain"
        )


def _check_crc(raw: bytes, offset: int) -> None:
    stored = struct.unpack(">I", raw[-4:])[0]
    computed = zlib.crc32(raw[4:-4])
    if stored != computed:
        raise FigureError(
            f"corrupt PNG: CRC mismatch in chunk {raw[4:8].decode()} at byte {offset} "
            f"(stored {stored:08x}, computed {computed:08x})"
        )


def _check_header(first: PngChunk) -> None:
    if first.type != b"IHDR" or len(first.data) != IHDR_LENGTH:
        raise FigureError(
            f"corrupt PNG: the first chunk must be a {IHDR_LENGTH}-byte IHDR, "
            f"got {first.type.decode()} with {len(first.data)} bytes"
        )


def _check_nothing_after_end(data: bytes, end: int) -> None:
    if end != len(data):
        raise FigureError(f"corrupt PNG: {len(data) - end} unexpected bytes after the IEND chunk")


def _reject_unknown_critical_chunks(chunks: list[PngChunk]) -> None:
    # An uppercase first letter marks a chunk a decoder cannot skip, so
    # dropping one we do not know would silently change the image.
    for chunk in chunks:
        if chunk.type[:1].isupper() and chunk.type not in KEPT_CHUNK_TYPES:
            raise FigureError(
                f"unsupported PNG: unknown critical chunk {chunk.type.decode()} at byte {chunk.offset}"
            )


def check_figure_size(data: bytes, where: str) -> None:
    """Raise FigureError if the PNG `data` (named `where`, e.g. cell3-1.png) is over the size limits."""
    width, height = png_size(data)
    if width > MAX_FIGURE_SIDE or height > MAX_FIGURE_SIDE:
        raise FigureError(
            f"figure {where} is {width}x{height} pixels, more than the limit of "
            f"{MAX_FIGURE_SIDE}x{MAX_FIGURE_SIDE}",
            "Make the figure smaller: lower `figsize` or `dpi`, e.g. plt.figure(figsize=(8, 5), dpi=100).")
    if len(data) > MAX_FIGURE_BYTES:
        raise FigureError(
            f"figure {where} is {len(data):,} bytes, more than the limit of {MAX_FIGURE_BYTES:,} bytes",
            "Make the figure smaller (lower `dpi`, fewer points, or plot a sample of the data).")


def check_figure_count(count: int, where: str) -> None:
    """Raise FigureError if a cell (named `where`) has shown more than MAX_FIGURES_PER_CELL figures."""
    if count > MAX_FIGURES_PER_CELL:
        raise FigureError(
            f"{where} shows more than {MAX_FIGURES_PER_CELL} figures, the limit for one cell",
            "Draw several plots as subplots of one figure, or show fewer (call plt.close() on "
            "figures you do not want on the page).")


def figure_name(label: str | None, cell_number: int, index: int) -> str:
    """Return the stable file name of the index-th figure (0-based) of a code cell (1-based)."""
    if cell_number < 1 or index < 0:
        raise ValueError(f"cell_number must be >= 1 and index >= 0, got {cell_number} and {index}")
    if label is None:
        return f"cell{cell_number}-{index + 1}.png"
    check_figure_label(label)
    return f"{label}.png" if index == 0 else f"{label}-{index + 1}.png"


def check_figure_label(label: str) -> None:
    """Raise FigureError unless label is safe to use as a file name."""
    problem = _label_problem(label)
    if problem:
        raise FigureError(
            f"invalid figure label {label!r}: {problem}; labels may use only "
            f"{ALLOWED_LABEL_CHARACTERS}, must not start with '.' "
            f"and must be 1 to {MAX_LABEL_LENGTH} characters long"
        )


def _label_problem(label: str) -> str | None:
    disallowed = sorted({char for char in label if not _LABEL_CHARACTER.fullmatch(char)})
    if not label:
        return "it is empty"
    if disallowed:
        return "it contains " + ", ".join(repr(char) for char in disallowed)
    if label.startswith("."):
        return "it starts with '.'"
    if len(label) > MAX_LABEL_LENGTH:
        return f"it is {len(label)} characters long"
    return None
