"""Interactive charts on a page: the spec as JSON data for assets/js/charts.js, and which
vendored library each kind of chart needs (copied to the site only when a chart uses it)."""
from __future__ import annotations

from markupsafe import Markup

from builder.core.model import CodeCell, Output

# Pinned: made by scripts/vendor_chart_js.py from the plotly and vl-convert-python packages.
LIBRARIES = {"plotly": "assets/js/vendor/plotly-4.1.1.min.js",
             "vegalite": "assets/js/vendor/vega-6.2.0-lite-6.4-embed-7.0.2.min.js"}
CHART_SCRIPT = "assets/js/charts.js"
# Inside <script>, "</" would end the element early; \u escapes keep the JSON the same data.
SCRIPT_ESCAPES = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def script_json(spec_json: str) -> Markup:
    """JSON text made safe to place inside <script type="application/json">."""
    return Markup(spec_json.translate(SCRIPT_ESCAPES))


def chart_variables(output: Output, cell: CodeCell) -> dict:
    """The template variables of a chart output."""
    caption = cell.options.get("fig-cap")
    return {"spec": script_json(output.text), "library": output.name, "caption": caption,
            "alt": cell.options.get("fig-alt") or caption or f"Chart from cell {cell.number}"}


def chart_library(figure_path: str) -> str | None:
    """The library a saved chart picture (cell3-1.plotly.png) was drawn from, or None."""
    stem = figure_path.rsplit("/", 1)[-1][:-len(".png")] if figure_path.endswith(".png") else ""
    library = stem.rsplit(".", 1)[-1] if "." in stem else ""
    return library if library in LIBRARIES else None


def drop_unused_libraries(sources: dict) -> dict:
    """The site's assets without the chart scripts that no chart picture under assets/img/ needs."""
    used = {chart_library(path) for path in sources if path.startswith("assets/img/")} - {None}
    unused = {LIBRARIES[library] for library in LIBRARIES.keys() - used}
    if not used:
        unused.add(CHART_SCRIPT)
    return {path: source for path, source in sources.items() if path not in unused}
