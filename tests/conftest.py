"""Shared helpers: small fixture sites and a build that reports into a string."""
from __future__ import annotations

import io
import logging
import shutil
import textwrap
from pathlib import Path

import pytest

from builder.site.build import BuildOptions, build_site
from builder.site.progress import Reporter

# nbclient leaves output-polling tasks pending after a timeout or a dead kernel; asyncio logs
# them at exit, after pytest's summary line. The tests assert the errors themselves.
logging.getLogger("asyncio").setLevel(logging.CRITICAL)

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"


class Built:
    """The outcome of one build: exit code, the printed log and the summary."""

    def __init__(self, result, reporter: Reporter, stream: io.StringIO):
        self.result, self.summary, self.log = result, reporter.summary, stream.getvalue()

    @property
    def executed(self) -> list[str]:
        return [path for path, _ in self.summary.executed]


def run_build(site: Path, dest: Path | None = None, **options) -> Built:
    stream = io.StringIO()
    reporter = Reporter(stream)
    result = build_site(BuildOptions(source=site, dest=dest, **options), reporter)
    return Built(result, reporter, stream)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


@pytest.fixture
def numpy_site(tmp_path: Path) -> Path:
    """A copy of the fast numpy/matplotlib fixture site."""
    site = tmp_path / "site"
    shutil.copytree(FIXTURES / "numpy-site", site)
    return site


def tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
