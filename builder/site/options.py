"""What a build is asked to do, and what it came to."""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from builder.core.errors import BuildError
from builder.site.schedule import Shard


@dataclass(frozen=True)
class BuildOptions:
    source: Path = Path(".")
    dest: Path | None = None
    jobs: int = os.cpu_count() or 1
    frozen: bool = False
    force: tuple[str, ...] | bool = False       # True: every post; a tuple: these posts
    keep_going: bool = False
    drafts: bool = False
    future: bool = False
    execute: bool = True
    verbose: bool = False
    shard: Shard | None = None                  # run only this CI shard's stale posts; write no site
    cluster: str | None = None                  # Ray cluster address (--cluster); else _config.yml's

    @property
    def output(self) -> Path:
        return self.dest or self.source / "_site"


@dataclass
class BuildResult:
    pages: int = 0
    failures: list[BuildError] = field(default_factory=list)
    failed_pages: set[str] = field(default_factory=set)    # output paths of posts that failed

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0
