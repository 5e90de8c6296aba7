"""Copy the chart libraries that the Python packages ship into assets/js/vendor/ (run after
changing the pinned plotly or vl-convert-python): the site then works offline and
`build --frozen` needs neither package."""
from __future__ import annotations

import re
import sys
from pathlib import Path

VENDOR = Path(__file__).resolve().parent.parent / "assets" / "js" / "vendor"
# vega-embed (which bundles vega-lite and vega) as a global, for assets/js/charts.js
VEGA_GLOBALS = "window.vegaEmbed = vegaEmbed;"


def main() -> int:
    import plotly
    import vl_convert
    plotly_js = (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()
    version = re.search(rb"plotly\.js v([0-9.]+)", plotly_js[:500]).group(1).decode()
    lite = vl_convert.get_vegalite_versions()[-1]
    vega_name = (f"vega-{vl_convert.get_vega_version()}-lite-{lite}-embed-"
                 f"{vl_convert.get_vega_embed_version()}.min.js")
    for old in VENDOR.glob("*.js"):
        old.unlink()
    VENDOR.mkdir(parents=True, exist_ok=True)
    (VENDOR / f"plotly-{version}.min.js").write_bytes(plotly_js)
    (VENDOR / vega_name).write_text(vl_convert.javascript_bundle(VEGA_GLOBALS, lite), encoding="utf-8")
    print("\n".join(sorted(path.name for path in VENDOR.glob("*.js"))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
