"""What the previous build read and wrote, so that an unchanged input costs a stat, not a render.

The state lives in `<site>/.build-cache/` (one file per output folder; git-ignored, never
published). Every rendered output is stored with a key: the hash of everything its bytes depend
on. A later build renders an output only when its key changed or the file on disk is no longer
the one it wrote. Any doubt (another builder version, another config, an unreadable state)
means starting from an empty state, which is a clean full build.
"""
from __future__ import annotations

import gc
import hashlib
import os
import pickle
import shutil
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import jinja2
from jinja2 import meta

from builder.core.model import Post
from builder.site.writer import Listing, WriteError, Writer, holds, remove_quietly, replace_file

SCHEMA = 1
CACHE_DIR = ".build-cache"
PACKAGE_DIR = Path(__file__).resolve().parents[1]     # builder/, every stage


@dataclass
class SourceEntry:
    """A source file as last read: its stat, its hash and what it parsed to."""

    stat: tuple[int, int]
    sha: str
    post: Post
    # What the post's prose pulls into its page (builder.site.build.prose_facts), worked out
    # once per version of the source instead of by scanning every post's text in every build.
    prose: tuple[bool, bool, bool] | None = None


@dataclass
class IncrementalState:
    """The previous build's inputs and outputs."""

    fingerprint: str = ""                                   # builder code + config
    sources: dict[str, SourceEntry] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)      # output path -> render key
    outputs: dict[str, tuple[int, int]] = field(default_factory=dict)   # output path -> stat
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)    # outputs made together
    # template -> (hash of its source, the templates it names; None for a computed name)
    template_references: dict[str, tuple[str, tuple[str | None, ...]]] = field(default_factory=dict)


def sha256(data: bytes | str) -> str:
    return hashlib.sha256(data.encode("utf-8") if isinstance(data, str) else data).hexdigest()


def file_stat(path: Path | str) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size


def state_file(site_dir: Path, output: Path) -> Path:
    return site_dir / CACHE_DIR / f"state-{sha256(str(output.resolve()))[:16]}.pickle"


def forget_state(site_dir: Path, output: Path) -> None:
    """Remove what builds into `output` keep in the cache (for a throwaway output, as `check`'s)."""
    state = state_file(site_dir, output)
    for path in state.parent.glob(state.stem + ".*"):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)


def build_fingerprint(site_dir: Path) -> str:
    """Changes when the builder's code or the site's configuration changes."""
    parts = [str(SCHEMA)]
    for path in code_files():
        parts.append(sha256(path.read_bytes()))
    config = site_dir / "_config.yml"
    parts.append(sha256(config.read_bytes()) if config.is_file() else "")
    return sha256("\n".join(parts))


def code_files() -> list[Path]:
    """The builder's own modules, in every stage folder: a change to any of them is a new builder."""
    return sorted(PACKAGE_DIR.rglob("*.py"))


def load_state(path: Path, fingerprint: str) -> IncrementalState:
    """The stored state when it belongs to this builder and config; an empty one otherwise."""
    try:
        with path.open("rb") as handle, collection_paused():
            state = pickle.load(handle)
    except Exception:   # a missing, truncated or foreign cache only costs a full build
        return IncrementalState(fingerprint)
    if not isinstance(state, IncrementalState) or state.fingerprint != fingerprint or not well_formed(state):
        return IncrementalState(fingerprint)
    return state


@contextmanager
def collection_paused() -> Iterator[None]:
    """No garbage collection while unpickling: its tens of thousands of new objects would set off
    passes that find nothing to free (they are all referenced), a fifth of the load time."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def well_formed(state: IncrementalState) -> bool:
    """Whether a loaded state has the shape this code reads (a damaged one is thrown away)."""
    tables = (state.sources, state.keys, state.outputs, state.groups, state.template_references)
    return (all(isinstance(table, dict) for table in tables)
            and all(isinstance(entry, SourceEntry) for entry in state.sources.values())
            and all(isinstance(key, str) for key in state.keys.values()))


def save_state(path: Path, state: IncrementalState, previous: IncrementalState) -> None:
    """Write the state atomically, and only when it changed."""
    # Unchanged entries are the very objects loaded, so this comparison is cheap where pickling
    # a thousand posts again is not.
    if state == previous and path.is_file():
        return
    data = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    if holds(path, data):
        return
    try:
        replace_file(path, data, f"{CACHE_DIR}/{path.name}")
    except WriteError:
        # A full disk or a read-only site folder: an old state could describe outputs this
        # build replaced, so drop it and let the next build start from scratch.
        remove_quietly(path)


def load_listing(path: Path, fingerprint: str) -> Listing | None:
    """The output folder as the last sweep left it (builder.site.writer.Listing), or None."""
    try:
        with path.open("rb") as handle:
            made_by, listing = pickle.load(handle)
    except Exception:   # missing or damaged: the next commit sweeps the folder
        return None
    return listing if made_by == fingerprint and isinstance(listing, Listing) else None


def save_listing(path: Path, fingerprint: str, listing: Listing | None) -> None:
    """Kept apart from the state: a sweep after an edit's search index changes it, and the state
    (megabytes) need not be written again for that."""
    if listing is not None:
        try:
            replace_file(path, pickle.dumps((fingerprint, listing), protocol=pickle.HIGHEST_PROTOCOL),
                         f"{CACHE_DIR}/{path.name}")
            return
        except WriteError:
            pass
    remove_quietly(path)      # a listing of an older folder must not be left to describe this one


class TemplateGraph:
    """Which template files each template pulls in, and a hash of that closure."""

    def __init__(self, env: jinja2.Environment, known: dict[str, tuple[str, tuple[str | None, ...]]] | None = None):
        """`known` holds references found by an earlier build; it is updated with this build's."""
        self.env = env
        self.known = {} if known is None else known
        self.names = set(env.list_templates())
        self.hashes: dict[str, str] = {}
        self.closures: dict[str, frozenset[str]] = {}
        self.fingerprints: dict[frozenset[str], str] = {}
        self.prefixed: dict[str, frozenset[str]] = {}

    def named(self, prefix: str) -> frozenset[str]:
        """The templates whose names start with `prefix` (asked for every page)."""
        if prefix not in self.prefixed:
            self.prefixed[prefix] = frozenset(name for name in self.names if name.startswith(prefix))
        return self.prefixed[prefix]

    def file_hash(self, name: str) -> str:
        if name not in self.hashes:
            source, _, _ = self.env.loader.get_source(self.env, name)
            self.hashes[name] = sha256(source)
        return self.hashes[name]

    def closure(self, name: str) -> frozenset[str]:
        """`name` and every template it extends or includes, transitively."""
        if name not in self.closures:
            self.closures[name] = frozenset([name])   # guards against cycles while walking
            self.closures[name] = frozenset(self.walk(name))
        return self.closures[name]

    def walk(self, name: str) -> set[str]:
        if name not in self.names:
            return {name}
        references = self.references(name)
        if references is None:
            return set(self.names)   # rendering will report the error with its line
        found = {name}
        for referenced in references:
            # A computed name (None) could be any template: depend on all of them.
            targets = self.names if referenced is None else {referenced}
            for target in targets:
                found |= self.closure(target) if target != name else {name}
        return found

    def references(self, name: str) -> tuple[str | None, ...] | None:
        """The templates `name` extends or includes (parsed only when its source changed); None if it cannot parse."""
        digest = self.file_hash(name)
        known = self.known.get(name)
        if known is not None and known[0] == digest:
            return known[1]
        source, _, _ = self.env.loader.get_source(self.env, name)
        try:
            references = tuple(meta.find_referenced_templates(self.env.parse(source)))
        except jinja2.TemplateSyntaxError:
            return None
        self.known[name] = (digest, references)
        return references

    def fingerprint(self, names: set[str]) -> str:
        wanted = frozenset(names)
        if wanted not in self.fingerprints:   # most pages of a site name the same templates
            closure = set().union(*(self.closure(n) for n in wanted)) if wanted else set()
            self.fingerprints[wanted] = sha256("\n".join(f"{n}:{self.file_hash(n) if n in self.names else '-'}"
                                                         for n in sorted(closure)))
        return self.fingerprints[wanted]


def render_key(*parts: Any) -> str:
    """A key from the repr of everything an output depends on (reprs of our data are stable)."""
    return sha256(repr(parts))


class RenderPlan:
    """Output by output, whether the previous build's file can stay; what this build wrote and kept.

    Deciding (`unchanged`) and recording a new file (`write`) are separate steps; the bytes go
    through the one `Writer`.
    """

    def __init__(self, previous: IncrementalState, state: IncrementalState, graph: TemplateGraph, writer: Writer):
        self.previous, self.state, self.graph, self.writer = previous, state, graph, writer
        self.written: list[str] = []

    @property
    def rendered(self) -> int:
        return len(self.written)

    def unchanged(self, path: str, key: str) -> bool:
        """True (and the old file kept) when `path` was made from the same inputs and is intact."""
        if self.previous.keys.get(path) != key:
            return False
        stat = self.previous.outputs.get(path)
        if stat is None or stat != file_stat(os.path.join(self.writer.root, path)):
            return False
        self.writer.kept.add(path)       # just stat-ed: Writer.keep() would stat it again
        self.state.keys[path] = key
        self.state.outputs[path] = stat   # untouched by this build: no need to stat it again
        return True

    def write(self, path: str, key: str, content: bytes) -> None:
        """Hand `content` to the writer and remember the key it was made from."""
        self.writer.write(path, content)
        self.state.keys[path] = key
        self.written.append(path)

    def record_outputs(self) -> None:
        """The stat of every output this build wrote (after the commit), for the next build."""
        for path in list(self.state.keys):
            if path in self.state.outputs:
                continue
            stat = file_stat(self.writer.root / path)
            if stat is None:
                del self.state.keys[path]
            else:
                self.state.outputs[path] = stat


def render_plan(previous: IncrementalState, state: IncrementalState, env: jinja2.Environment,
                writer: Writer) -> RenderPlan:
    """A render plan whose template graph starts from the previous build's template references."""
    state.template_references = dict(previous.template_references)
    return RenderPlan(previous, state, TemplateGraph(env, state.template_references), writer)
