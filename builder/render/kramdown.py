"""kramdown-compatible Markdown: Python-Markdown's extensions set up as Jekyll's kramdown renders.

Jekyll renders posts with kramdown (GFM input by default): typographic quotes and dashes,
definition lists, abbreviations, footnotes, attribute lists, two-space nested lists, fenced code
inside list items and GitHub-style heading ids. Each of those is a stock or well-kept Python-Markdown
extension; what none covers is in builder/render/kramdown_blocks.py. The `kramdown:` keys of `_config.yml`
choose, with Jekyll's defaults, which of them apply.
"""
from __future__ import annotations

from builder.core.kramdown_settings import KramdownSettings, kramdown_settings, unused_keys  # noqa: F401 (re-exported)
from builder.render.kramdown_blocks import KramdownBlocksExtension

def markdown_extensions(settings: KramdownSettings, toc_marker: str = "") -> tuple[list, dict]:
    """Python-Markdown extensions and their configs for `settings`; code highlighting is the caller's."""
    extensions: list = ["pymdownx.superfences", "tables", "footnotes", "attr_list", "md_in_html",
                        "def_list", "abbr", "mdx_truly_sane_lists"]
    configs: dict = {"mdx_truly_sane_lists": {"nested_indent": 2, "truly_sane": False}}
    if settings.input == "GFM":   # ~~struck~~; a single ~ stays a tilde, as in GFM
        extensions.append("pymdownx.tilde")
        configs["pymdownx.tilde"] = {"subscript": False}
    if settings.smart_quotes or settings.typographic_symbols:
        extensions.append("smarty")
        configs["smarty"] = smarty_config(settings)
    if settings.hard_wrap:
        extensions.append("nl2br")
    extensions.append(KramdownBlocksExtension(
        ids=("kramdown" if settings.input == "kramdown" else "gfm") if settings.auto_ids else "",
        id_prefix=settings.auto_id_prefix, toc_marker=toc_marker, gfm=settings.input == "GFM"))
    return extensions, configs


def smarty_config(settings: KramdownSettings) -> dict:
    """smarty as kramdown's typography: the characters themselves, as Jekyll writes them."""
    quotes = settings.smart_quotes or ("'", "'", '"', '"')
    symbols = settings.typographic_symbols
    return {
        "smart_quotes": settings.smart_quotes is not None,
        "smart_dashes": symbols, "smart_ellipses": symbols, "smart_angled_quotes": symbols,
        "substitutions": {
            "left-single-quote": quotes[0], "right-single-quote": quotes[1],
            "left-double-quote": quotes[2], "right-double-quote": quotes[3],
            "ndash": "–", "mdash": "—", "ellipsis": "…",
            "left-angle-quote": "«", "right-angle-quote": "»",
        },
    }
