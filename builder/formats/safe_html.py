"""HTML that cell outputs bring onto a page, cleaned: what Jupyter would show, minus scripts,
event handlers, style sheets and references the page did not choose."""
from __future__ import annotations

import nh3

TABLE_ATTRIBUTES = {"border", "cellpadding", "cellspacing", "width", "align", "valign",
                    "colspan", "rowspan", "scope", "headers"}
# What pandas (DataFrame and Styler) and other libraries put in inline styles; no positioning,
# no urls, nothing that could cover the page.
STYLE_PROPERTIES = {
    "text-align", "vertical-align", "color", "background-color", "font-weight", "font-style",
    "font-size", "font-family", "text-decoration", "white-space", "padding", "padding-left",
    "padding-right", "padding-top", "padding-bottom", "margin-left", "margin-right", "width",
    "min-width", "max-width", "height", "border", "border-collapse", "border-spacing",
    "border-color", "border-style", "border-width", "border-top", "border-right", "border-bottom",
    "border-left", "opacity", "display",
}
MATHML_TAGS = {
    "math", "semantics", "annotation", "mrow", "mi", "mn", "mo", "ms", "mtext", "mspace",
    "mfrac", "msqrt", "mroot", "msub", "msup", "msubsup", "munder", "mover", "munderover",
    "mtable", "mtr", "mtd", "mstyle", "mpadded", "mphantom", "menclose", "merror",
    "mmultiscripts", "mprescripts", "none",
}
MATHML_ATTRIBUTES = {"display", "xmlns", "encoding", "mathvariant", "displaystyle", "scriptlevel",
                     "stretchy", "fence", "separator", "lspace", "rspace", "accent", "accentunder",
                     "columnalign", "rowspacing", "columnspacing", "width", "height", "depth",
                     "notation", "linethickness", "minsize", "maxsize", "movablelimits"}


def clean_html_output(html: str) -> str:
    """A `text/html` output (a DataFrame, a Styler, any library's table) made safe to show."""
    return nh3.clean(html, tags=nh3.ALLOWED_TAGS | {"caption", "colgroup", "col"},
                     attributes=output_attributes(), filter_style_properties=STYLE_PROPERTIES)


def clean_markdown_output(html: str) -> str:
    """The HTML of a `text/markdown` output, its math kept."""
    attributes = output_attributes() | {tag: MATHML_ATTRIBUTES for tag in MATHML_TAGS}
    return nh3.clean(html, tags=nh3.ALLOWED_TAGS | MATHML_TAGS, attributes=attributes,
                     filter_style_properties=STYLE_PROPERTIES)


def output_attributes() -> dict[str, set[str]]:
    """nh3's allowed attributes, plus class, id, style and table layout."""
    attributes = {tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()}
    attributes["*"] = attributes.get("*", set()) | {"class", "id", "style", "title", "lang", "dir"}
    for tag in ("table", "thead", "tbody", "tfoot", "tr", "th", "td", "col", "colgroup"):
        attributes[tag] = attributes.get(tag, set()) | TABLE_ATTRIBUTES
    return attributes
