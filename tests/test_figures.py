import io
import struct
import zlib

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

from builder.formats.figures import (  # noqa: E402
    PNG_SIGNATURE,
    FigureError,
    display_size,
    figure_name,
    pixel_ratio,
    png_size,
    read_png_chunks,
    strip_png_metadata,
)
from conftest import png_chunk as chunk  # noqa: E402


# A 1x1 8-bit greyscale image: filter byte 0, then one black pixel.
IHDR = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
IDAT = chunk(b"IDAT", zlib.compress(b"\x00\x00"))
IEND = chunk(b"IEND", b"")
TEXT = chunk(b"tEXt", b"Software\x00hand-made")
TIME = chunk(b"tIME", struct.pack(">HBBBBB", 2024, 5, 17, 12, 30, 0))
GAMA = chunk(b"gAMA", struct.pack(">I", 45455))


def tiny_png(*middle: bytes) -> bytes:
    return PNG_SIGNATURE + IHDR + b"".join(middle) + IEND


def chunk_types(data: bytes) -> list[bytes]:
    return [c.type for c in read_png_chunks(data)]


def savefig_bytes(metadata: dict) -> bytes:
    fig, ax = plt.subplots(figsize=(2, 1), dpi=50)
    ax.plot([1, 3, 2])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", metadata=metadata)
    plt.close(fig)
    return buffer.getvalue()


# strip_png_metadata on a hand-made PNG


def test_strip_drops_text_and_time_keeping_other_chunk_bytes():
    data = tiny_png(TEXT, TIME, IDAT)
    assert strip_png_metadata(data) == PNG_SIGNATURE + IHDR + IDAT + IEND


def test_strip_keeps_rendering_chunks_in_order():
    data = tiny_png(GAMA, TEXT, IDAT)
    assert chunk_types(strip_png_metadata(data)) == [b"IHDR", b"gAMA", b"IDAT", b"IEND"]


def test_strip_drops_ztxt_itxt_exif_and_unknown_ancillary_chunks():
    extras = [chunk(t, b"x") for t in (b"zTXt", b"iTXt", b"eXIf", b"prVt")]
    data = tiny_png(*extras, IDAT)
    assert strip_png_metadata(data) == PNG_SIGNATURE + IHDR + IDAT + IEND


def test_strip_returns_clean_png_unchanged():
    data = tiny_png(GAMA, IDAT)
    assert strip_png_metadata(data) == data


def test_strip_is_idempotent():
    once = strip_png_metadata(tiny_png(TEXT, TIME, IDAT))
    assert strip_png_metadata(once) == once


def test_strip_rejects_unknown_critical_chunk():
    data = tiny_png(chunk(b"ABCD", b""), IDAT)
    with pytest.raises(FigureError, match="unknown critical chunk ABCD at byte 33"):
        strip_png_metadata(data)


# strip_png_metadata on matplotlib output


def test_strip_removes_matplotlib_text_chunks():
    data = savefig_bytes({"Software": "builder test", "Title": "a plot"})
    assert b"tEXt" in chunk_types(data)
    stripped = chunk_types(strip_png_metadata(data))
    assert stripped == [t for t in chunk_types(data) if t != b"tEXt"]
    assert stripped[0] == b"IHDR" and stripped[-1] == b"IEND"


def test_same_plot_with_different_metadata_strips_to_same_bytes():
    first = savefig_bytes({"Software": "matplotlib 1.0", "Title": "first"})
    second = savefig_bytes({"Software": "matplotlib 2.0", "Author": "someone"})
    assert first != second
    assert strip_png_metadata(first) == strip_png_metadata(second)


def test_matplotlib_png_size():
    assert png_size(savefig_bytes({})) == (100, 50)


# malformed data


def test_corrupt_crc_raises():
    data = bytearray(tiny_png(IDAT))
    data[8 + 8 + 13] ^= 0xFF  # first byte of the IHDR CRC
    with pytest.raises(FigureError, match="CRC mismatch in chunk IHDR at byte 8"):
        strip_png_metadata(bytes(data))


def test_corrupt_chunk_data_raises():
    data = bytearray(tiny_png(IDAT))
    data[8 + 8] ^= 0x01  # first byte of the IHDR width
    with pytest.raises(FigureError, match="CRC mismatch"):
        png_size(bytes(data))


def test_truncated_chunk_raises():
    data = tiny_png(IDAT)[:-20]
    with pytest.raises(FigureError, match="truncated PNG: chunk IDAT at byte 33 declares"):
        strip_png_metadata(data)


def test_missing_iend_raises():
    data = PNG_SIGNATURE + IHDR + IDAT
    with pytest.raises(FigureError, match="truncated PNG: no IEND chunk"):
        strip_png_metadata(data)


def test_data_after_iend_raises():
    with pytest.raises(FigureError, match="3 unexpected bytes after the IEND chunk"):
        strip_png_metadata(tiny_png(IDAT) + b"abc")


def test_non_png_raises():
    with pytest.raises(FigureError, match="not a PNG file"):
        strip_png_metadata(b"GIF89a\x01\x00\x01\x00")


def test_empty_data_raises():
    with pytest.raises(FigureError, match="got no data"):
        png_size(b"")


def test_first_chunk_must_be_ihdr():
    data = PNG_SIGNATURE + IDAT + IHDR + IEND
    with pytest.raises(FigureError, match="first chunk must be a 13-byte IHDR, got IDAT"):
        strip_png_metadata(data)


def test_invalid_chunk_type_raises():
    data = tiny_png(chunk(b"a1b2", b""), IDAT)
    with pytest.raises(FigureError, match="invalid chunk type b'a1b2' at byte 33"):
        strip_png_metadata(data)


# png_size


def test_png_size_of_hand_made_image():
    assert png_size(tiny_png(TEXT, IDAT)) == (1, 1)


def test_png_size_reads_width_and_height_in_order():
    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 640, 480, 8, 2, 0, 0, 0))
    data = PNG_SIGNATURE + header + IDAT + IEND
    assert png_size(data) == (640, 480)


# figure_name


def test_first_labelled_figure_uses_label():
    assert figure_name("loss-curve", 3, 0) == "loss-curve.png"


def test_later_labelled_figures_are_numbered_from_two():
    assert figure_name("loss-curve", 3, 1) == "loss-curve-2.png"
    assert figure_name("loss-curve", 3, 9) == "loss-curve-10.png"


def test_unlabelled_figures_use_cell_number():
    assert figure_name(None, 7, 0) == "cell7-1.png"
    assert figure_name(None, 7, 2) == "cell7-3.png"


def test_label_with_all_allowed_characters():
    assert figure_name("Fig_2.a-b", 1, 0) == "Fig_2.a-b.png"


def test_label_of_maximum_length_is_allowed():
    assert figure_name("a" * 100, 1, 0) == "a" * 100 + ".png"


@pytest.mark.parametrize(
    ("label", "problem"),
    [
        ("", "it is empty"),
        ("loss curve", "it contains ' '"),
        ("../etc/passwd", "it contains '/'"),
        ("a/b\\c", "it contains '/', '\\\\'"),
        ("résumé", "it contains 'é'"),
        (".hidden", "it starts with '.'"),
        ("a" * 101, "it is 101 characters long"),
    ],
)
def test_invalid_labels_raise_with_reason(label, problem):
    with pytest.raises(FigureError) as error:
        figure_name(label, 1, 0)
    message = str(error.value)
    assert message.startswith(f"invalid figure label {label!r}: {problem}; ")
    assert "A-Z, a-z, 0-9, '.', '_' and '-'" in message


def test_figure_error_is_a_value_error():
    with pytest.raises(ValueError):
        figure_name("bad label", 1, 0)


def test_cell_number_is_one_based():
    with pytest.raises(ValueError, match="cell_number must be >= 1"):
        figure_name(None, 0, 0)


def test_index_is_zero_based():
    with pytest.raises(ValueError, match="index >= 0, got 1 and -1"):
        figure_name(None, 1, -1)


# high-density figures: shown at half their pixel size when pHYs records about 200 dpi


def phys(dots_per_inch: float, unit: int = 1) -> bytes:
    per_metre = round(dots_per_inch / 0.0254)
    return chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, unit))


def retina_bytes() -> bytes:
    """A figure as the inline backend's 'retina' format saves it: at twice the figure's dpi."""
    fig, ax = plt.subplots(figsize=(2, 1), dpi=100)
    ax.plot([1, 3, 2])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=200, metadata={"Software": "x"})
    plt.close(fig)
    return strip_png_metadata(buffer.getvalue())


def test_retina_figure_is_shown_at_half_its_pixels_and_stays_deterministic():
    data = retina_bytes()
    assert png_size(data) == (400, 200)
    assert pixel_ratio(data) == 2
    assert display_size(data) == (200, 100)
    assert b"pHYs" in data and b"tEXt" not in data
    assert retina_bytes() == data


def test_figure_at_100_dpi_is_shown_at_its_pixel_size():
    data = strip_png_metadata(savefig_bytes({}))   # matplotlib records the 50 dpi in pHYs
    assert b"pHYs" in data
    assert pixel_ratio(data) == 1
    assert display_size(data) == png_size(data) == (100, 50)


@pytest.mark.parametrize("middle, ratio", [
    ((), 1),                       # no pHYs: the pixels are the size
    ((phys(144),), 1),             # 1.44x is shown as it is
    ((phys(200),), 2),
    ((phys(300),), 2),
    ((phys(200, unit=0),), 1),     # unit 0 is an aspect ratio, not a density
])
def test_pixel_ratio_from_phys(middle, ratio):
    assert pixel_ratio(tiny_png(*middle)) == ratio


def test_display_size_never_rounds_to_zero():
    assert display_size(tiny_png(phys(200))) == (1, 1)
