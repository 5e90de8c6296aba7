"""Cells compiled under their post's name and Markdown lines, so warnings and tracebacks say
`posts/x.md:57` instead of a kernel's temporary file, the same in every build."""
from __future__ import annotations

import re

from builder.core.model import CodeCell, Post

# Runs in the kernel, in the hidden first cell. Each cell's code is compiled with the post's
# path as its file name and blank lines before it, so its line numbers are Markdown lines; the
# post's code, at those lines, serves linecache, so warnings and tracebacks show the source.
# Left out of IPython's cell map on purpose: frames read `File posts/x.md:57`, not `Cell In[3]`.
CELL_NAMES = r'''
def _builder_cell_names(path, cells):
    import linecache
    try:
        compiler = get_ipython().compile
    except NameError:          # a Python kernel that is not IPython's: names stay as they are
        return
    lines, pending = [], {}
    for fence, source in cells:
        pending.setdefault(source, []).append(fence)
    original_cache, original_parse = compiler.cache, compiler.ast_parse
    offset = [None]

    def cache(transformed_code, number=0, raw_code=None):
        fences = pending.get(transformed_code if raw_code is None else raw_code)
        if not fences:
            offset[0] = None
            return original_cache(transformed_code, number, raw_code)
        offset[0] = fences.pop(0)
        # The post so far: tracebacks show no lines of cells that have not run.
        lines[len(lines):] = ["\n"] * (offset[0] - len(lines))
        source = transformed_code if raw_code is None else raw_code
        lines[offset[0]:] = [text + "\n" for text in source.split("\n")]
        linecache.cache[path] = (sum(map(len, lines)), None, lines, path)
        return path

    def ast_parse(source, filename="<unknown>", symbol="exec"):
        if filename == path and offset[0]:
            source = "\n" * offset[0] + source
        return original_parse(source, filename, symbol)

    compiler.cache, compiler.ast_parse = cache, ast_parse

'''


def cell_names_code(post: Post, cells: list[CodeCell]) -> str:
    """Kernel code that names the coming cells after the post and their Markdown lines."""
    if not cells:
        return ""
    table = [(cell.fence_line, cell.source) for cell in cells]
    return CELL_NAMES + f"_builder_cell_names({post.path!r}, {table!r})\ndel _builder_cell_names\n"


def failing_cell_line(traceback: str, post: Post, cell: CodeCell) -> int | None:
    """The line, within `cell`, of the traceback's outermost frame in the post."""
    found = re.search(rf"^\s*File {re.escape(post.path)}:(\d+)", traceback, re.MULTILINE)
    if not found:
        return None
    line = int(found[1]) - cell.fence_line
    return line if 1 <= line <= cell.source.count("\n") + 1 else None
