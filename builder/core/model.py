"""Frozen data passed between the pipeline's stages: Post -> ExecutedPost -> Page."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping

from builder.core.schema import NO_OPTIONS, CellOptions, FrontMatter


@dataclass(frozen=True)
class Prose:
    """A run of Markdown between code cells, with the line it starts on."""

    text: str
    line: int


@dataclass(frozen=True)
class CodeCell:
    """An executable ```python block.

    `fence_line` is the Markdown line of the opening fence; line N of `source` (1-based,
    option lines included) sits on Markdown line `fence_line + N`.
    """

    number: int
    source: str
    fence_line: int
    options: CellOptions = field(default_factory=lambda: NO_OPTIONS)

    def __post_init__(self) -> None:
        if not isinstance(self.options, CellOptions):     # a plain mapping, e.g. from a test
            object.__setattr__(self, "options", CellOptions.from_given(self.options))

    @property
    def code(self) -> str:
        """The source without its leading `#|` option lines."""
        lines = self.source.split("\n")
        return "\n".join(lines[self.option_line_count:])

    @property
    def option_line_count(self) -> int:
        count = 0
        for line in self.source.split("\n"):
            if not line.startswith("#|"):
                break
            count += 1
        return count

    @property
    def evaluated(self) -> bool:
        return self.options.eval is not False

    @property
    def tags(self) -> tuple[str, ...]:
        return tuple(self.options.tags or ())

    def markdown_line(self, cell_line: int) -> int:
        """The Markdown line of line `cell_line` (1-based) of this cell's source."""
        return self.fence_line + cell_line


Block = Prose | CodeCell


@dataclass(frozen=True)
class Post:
    """A post as read from its source file, validated, nothing executed."""

    path: str                      # relative to the site folder, e.g. posts/2017-08-11-x.md
    slug: str
    date: datetime
    title: str
    front_matter: FrontMatter
    blocks: tuple[Block, ...]
    url: str                       # site-relative, without baseurl, starts with /
    body_line: int                 # line of the first body line in the file

    def __post_init__(self) -> None:
        if not isinstance(self.front_matter, FrontMatter):     # a plain mapping, e.g. from a test
            object.__setattr__(self, "front_matter", FrontMatter.from_given(self.front_matter))

    @property
    def cells(self) -> tuple[CodeCell, ...]:
        return tuple(b for b in self.blocks if isinstance(b, CodeCell))

    @property
    def executes(self) -> bool:
        return any(cell.evaluated for cell in self.cells)

    def get(self, key: str, default: Any = None) -> Any:
        """The front matter value as written, or `default` when the key is not written."""
        return self.front_matter.get(key, default)


@dataclass(frozen=True)
class Output:
    """One output of a code cell, cleaned and ready to render or freeze.

    kind: 'stream' (name stdout/stderr), 'text', 'html', 'image' (path, sha256, width,
    height) or 'error' (text holds the cleaned traceback).
    """

    kind: str
    text: str = ""
    name: str = ""
    path: str = ""
    sha256: str = ""
    width: int = 0
    height: int = 0


@dataclass(frozen=True)
class CellResult:
    """The outputs of one code cell."""

    number: int
    outputs: tuple[Output, ...]


@dataclass(frozen=True)
class ExecutedPost:
    """A post with the outputs of its code, either just run or loaded from its freeze record."""

    post: Post
    results: Mapping[int, CellResult]
    provenance: Mapping[str, Any]
    from_cache: bool = False

    def outputs_of(self, cell: CodeCell) -> tuple[Output, ...]:
        result = self.results.get(cell.number)
        return result.outputs if result else ()


@dataclass(frozen=True)
class Page:
    """A rendered file of the site: where it goes and its bytes."""

    path: str                      # relative to the output folder
    content: bytes
