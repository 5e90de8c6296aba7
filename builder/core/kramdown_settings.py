"""The `kramdown:` settings of `_config.yml`, with Jekyll's defaults; builder/render/kramdown.py applies them."""
from __future__ import annotations

import html.entities
from dataclasses import dataclass
from typing import Any, Mapping

from builder.core.errors import ConfigError

# Jekyll's defaults for the keys we honour (Jekyll's own `_config.yml` defaults).
JEKYLL_SMART_QUOTES = "lsquo,rsquo,ldquo,rdquo"
# Keys that change nothing here: highlighting is ours, warnings and TOC levels have other settings.
IGNORED_KEYS = {"syntax_highlighter", "syntax_highlighter_opts", "show_warnings", "toc_levels",
                "entity_output", "footnote_nr", "guess_lang", "coderay", "math_engine",
                "parse_block_html", "parse_span_html", "transliterated_header_ids",
                "footnote_backlink", "gfm_quirks", "remove_block_html_tags", "enable_coderay"}
HONOURED_KEYS = {"input", "auto_ids", "auto_id_prefix", "smart_quotes", "typographic_symbols",
                 "hard_wrap"}


@dataclass(frozen=True)
class KramdownSettings:
    """Which kramdown behaviours a site's Markdown has; the defaults are Jekyll's."""

    input: str = "GFM"                       # GFM: GitHub-style heading ids; kramdown: kramdown's
    auto_ids: bool = True
    auto_id_prefix: str = ""
    smart_quotes: tuple[str, ...] | None = ("‘", "’", "“", "”")   # None: straight quotes
    typographic_symbols: bool = True         # -- — ... as – — …
    hard_wrap: bool = False                  # a line break in a paragraph is a <br>


def kramdown_settings(raw: Any) -> KramdownSettings:
    """Settings from the `kramdown:` mapping of `_config.yml` (None: Jekyll's defaults)."""
    if raw is None:
        return KramdownSettings()
    if not isinstance(raw, Mapping):
        raise ConfigError(f"`kramdown` must be a mapping, not {raw!r}", "_config.yml",
                          "Write e.g. `kramdown: {smart_quotes: false}`, or remove the key.")
    return KramdownSettings(
        input="kramdown" if str(raw.get("input", "GFM")).lower() == "kramdown" else "GFM",
        auto_ids=raw.get("auto_ids", True) is not False,
        auto_id_prefix=str(raw.get("auto_id_prefix") or ""),
        smart_quotes=quote_characters(raw.get("smart_quotes", JEKYLL_SMART_QUOTES)),
        typographic_symbols=raw.get("typographic_symbols", True) is not False,
        hard_wrap=raw.get("hard_wrap", False) is True,
    )


def unused_keys(raw: Any) -> list[str]:
    """Keys of the `kramdown:` mapping that we neither honour nor know to be harmless."""
    if not isinstance(raw, Mapping):
        return []
    return sorted(str(key) for key in raw if key not in HONOURED_KEYS | IGNORED_KEYS)


def quote_characters(value: Any) -> tuple[str, ...] | None:
    """kramdown's `smart_quotes` (four entity names or numbers) as characters; None when straight."""
    if value is False or value is None:
        return None
    names = value if isinstance(value, list) else str(value).split(",")
    characters = tuple(entity_character(str(name).strip()) for name in names)
    if len(characters) != 4 or None in characters:
        raise ConfigError(f"`kramdown.smart_quotes` must be four entity names, not {value!r}",
                          "_config.yml", "Write e.g. `smart_quotes: lsquo,rsquo,ldquo,rdquo`, "
                          "or `smart_quotes: false` for straight quotes.")
    return None if characters == ("'", "'", '"', '"') else characters


def entity_character(name: str) -> str | None:
    if name.isdigit():
        return chr(int(name))
    return html.entities.html5.get(name + ";")
