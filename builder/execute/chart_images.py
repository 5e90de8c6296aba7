"""Static PNG pictures of interactive charts, made when a post runs: the feed, the notebook
export and readers without JavaScript see these (kaleido draws Plotly, vl-convert Vega-Lite)."""
from __future__ import annotations

from builder.formats.figures import FigureError

SCALE = 2                       # drawn at twice the pixel density, shown at the usual size
PLOTLY_SIZE = (700, 450)        # plotly's own default when the layout names no size
INSTALL_HINT = ("Install the execution requirements (`pip install -r requirements-exec.txt`); "
                "kaleido also needs Chromium (`apt-get install chromium`, or set BROWSER_PATH).")


def chart_png(library: str, spec: dict) -> bytes:
    """The chart drawn as a PNG at SCALE times its size."""
    try:
        if library == "plotly":
            return plotly_png(spec)
        return vegalite_png(spec)
    except ImportError as error:
        raise FigureError(f"cannot draw the {library} chart as a PNG: {error}", INSTALL_HINT) from None
    except Exception as error:      # the converters raise their own types (and RuntimeError, ValueError)
        raise FigureError(f"cannot draw the {library} chart as a PNG: {type(error).__name__}: {error}",
                          INSTALL_HINT) from None


def plotly_png(spec: dict) -> bytes:
    import plotly.io
    layout = spec.get("layout") or {}
    width, height = layout.get("width") or PLOTLY_SIZE[0], layout.get("height") or PLOTLY_SIZE[1]
    return plotly.io.to_image(spec, format="png", width=width, height=height, scale=SCALE)


def vegalite_png(spec: dict) -> bytes:
    import vl_convert
    return vl_convert.vegalite_to_png(spec, scale=SCALE)
