"""How a post's figures leave its kernel. For matplotlib, `fig-format` (cell option, front
matter, or the site's `_config.yml`) names one of the inline backend's formats:

- `retina` (the default): PNGs at twice the figure's dpi, shown at the figure's size, so that
  high-density screens get sharp figures (the output's metadata gives the size to show);
- `png`: one pixel per CSS pixel, as every run saved them before this setting existed;
- `svg`: vector figures, shown inline as images.

Altair charts leave as their Vega-Lite spec (see builder.execute.display.CHART_MIMES).
"""
from __future__ import annotations


from builder.core.errors import ExecutionError, Location
from builder.core.model import CodeCell, Post
from builder.core.schema import FIG_FORMATS

DEFAULT_FIG_FORMAT = "retina"
# What every run used before `fig-format` existed: a run with it keeps the key it had then.
FIRST_FIG_FORMAT = "png"
FIG_FORMAT_HINT = ("Write `fig-format: retina` (sharp on high-density screens, the default), "
                   "`fig-format: png` (one pixel per CSS pixel) or `fig-format: svg`.")

# Runs in the kernel, in the hidden first cell; imports nothing heavy, so that a post that draws
# no figure imports no matplotlib (nor altair). Before the inline backend loads, the shell's
# configuration is what it reads when it does; once it is loaded, it is changed directly.
FIGURE_SETUP = r'''
def _builder_figures(default, by_source):
    import re, sys
    try:
        shell = get_ipython()
    except NameError:          # a Python kernel that is not IPython's: figures as it saves them
        return

    def use(fig_format):
        settings = {"figure_formats": {fig_format}, "print_figure_kwargs": {"bbox_inches": "tight"}}
        if fig_format == "svg":    # no date, and ids from a fixed salt: same figure, same bytes
            settings["print_figure_kwargs"]["metadata"] = {"Date": None}
            shell.config.InlineBackend.rc = {"svg.hashsalt": "builder"}
            if "matplotlib" in sys.modules:
                sys.modules["matplotlib"].rcParams["svg.hashsalt"] = "builder"
        inline = sys.modules.get("matplotlib_inline.config")
        loaded = inline is not None and inline.InlineBackend.initialized()
        for name, value in settings.items():
            setattr(shell.config.InlineBackend, name, value)
            if loaded:
                setattr(inline.InlineBackend.instance(), name, value)

    def before_cell(info):     # a cell's own fig-format holds for that cell only
        if info.raw_cell in by_source:
            use(by_source[info.raw_cell])

    def after_cell(result):
        if result.info.raw_cell in by_source:
            use(default)

    def altair_bundle(chart):
        renderers = sys.modules["altair"].renderers
        if renderers.active != "default":        # the renderer the post chose
            return json_named(chart._repr_mimebundle_())
        # The default renderer's HTML needs a script that pages never run (and has a random
        # id); the Vega-Lite spec itself becomes an interactive chart with a PNG picture.
        with renderers.enable("mimetype"):
            return json_named(chart._repr_mimebundle_())

    def json_named(bundle):
        # Altair 6 names its spec `application/vnd.vegalite.v6.json`, which nbformat takes for
        # text and refuses as an object; `+json` is the name Jupyter gives JSON types.
        data, metadata = bundle if isinstance(bundle, tuple) else (bundle or {}, {})
        return json_keys(data), json_keys(metadata)

    def json_keys(mapping):
        return {re.sub(r"^(application/vnd\.vega(?:lite)?\.v\d+)\.json$", r"\1+json", key): value
                for key, value in mapping.items()}

    use(default)
    if by_source:
        shell.events.register("pre_run_cell", before_cell)
        shell.events.register("post_run_cell", after_cell)
    for version in ("v5", "v6"):               # by name: altair is imported only if the post does
        shell.display_formatter.mimebundle_formatter.for_type_by_name(
            f"altair.vegalite.{version}.api", "TopLevelMixin", altair_bundle)

'''


def post_fig_format(post: Post, site_format: str) -> str:
    """The post's figure format: its front matter's, else the site's (`_config.yml`, retina by default)."""
    return str(post.get("fig-format") or site_format)


def figure_setup_code(post: Post, cells: list[CodeCell], default: str) -> str:
    """Kernel code that saves the post's figures in `default`, and each cell's in its own format."""
    check_fig_format(default, Location(post.path))
    by_source = {}
    for cell in cells:
        if cell.options.fig_format is not None:
            check_fig_format(cell.options.fig_format, Location(post.path, cell.fence_line, cell.number))
            by_source[cell.source] = cell.options.fig_format
    return FIGURE_SETUP + f"_builder_figures({default!r}, {by_source!r})\ndel _builder_figures\n"


def check_fig_format(value: str, where: Location) -> None:
    """Raise ExecutionError unless `value` is one of FIG_FORMATS."""
    if value not in FIG_FORMATS:
        raise ExecutionError(f"unknown figure format `fig-format: {value}` "
                             f"(known: {', '.join(FIG_FORMATS)})", where, FIG_FORMAT_HINT)
