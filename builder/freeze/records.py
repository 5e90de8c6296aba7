"""Freeze records: a post's outputs and the exact inputs they came from, as committed text.

A record lives at `_freeze/<post path without suffix>.json`. It is keyed on what execution
depends on: the evaluated code cells, the execution options, the content of every site
file the code read, and the versions of the packages it imported. Prose is not part of it.

In memory a record is a `FreezeRecord`; `as_json()` is its committed form. Changing that form
means bumping SCHEMA and adding to MIGRATIONS a function that turns a record of the previous
schema into the new one, so that committed records keep loading.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, Callable, Mapping

from builder.execute.executor import Execution, ExecutionOptions
from builder.core.errors import FreezeError
from builder.core.model import CellResult, CodeCell, ExecutedPost, Output, Post

SCHEMA = 1
FREEZE_DIR = "_freeze"
# schema N -> a function turning a record of schema N (parsed JSON) into one of schema N + 1
MIGRATIONS: dict[int, Callable[[dict], dict]] = {}


@dataclass(frozen=True)
class RecordKey:
    """What the outputs depend on: evaluated cells' hashes, options, files read, package versions."""

    cells: tuple[str, ...]
    options: Mapping[str, Any]
    files: Mapping[str, str]          # site-relative path -> sha256
    packages: Mapping[str, str]       # distribution -> version


@dataclass(frozen=True)
class FreezeRecord:
    """A post's outputs and the inputs they came from."""

    post: str                         # the post's site-relative path
    key: RecordKey
    provenance: Mapping[str, Any]
    results: Mapping[int, CellResult]
    schema: int = SCHEMA

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FreezeRecord:
        """The record of parsed JSON (already of this SCHEMA); raises KeyError/TypeError on a bad shape."""
        key = data["key"]
        results = {cell["number"]: CellResult(cell["number"], tuple(map(output_from_record, cell["outputs"])))
                   for cell in data["cells"]}
        return cls(data.get("post", ""), RecordKey(tuple(key["cells"]), key["options"], key["files"], key["packages"]),
                   data["provenance"], results, data["schema"])

    def as_json(self) -> dict[str, Any]:
        """The committed form (see `dump_record`)."""
        return {
            "schema": self.schema, "post": self.post,
            "key": {"cells": list(self.key.cells), "options": self.key.options, "files": self.key.files,
                    "packages": self.key.packages},
            "provenance": self.provenance,
            "cells": [{"number": number, "outputs": [output_record(o) for o in result.outputs]}
                      for number, result in sorted(self.results.items())],
        }

    def figures(self) -> list[Output]:
        """The outputs stored as files under assets/img/: images and charts' pictures."""
        return [o for result in self.results.values() for o in result.outputs if o.kind in ("image", "chart")]


def record_path(post: Post) -> str:
    """Site-relative path of the post's freeze record."""
    return f"{FREEZE_DIR}/{PurePosixPath(post.path).with_suffix('.json')}"


def cell_key(cell: CodeCell) -> str:
    """Hash of what in a cell changes its execution or output names."""
    parts = [cell.code, str(cell.options.get("label", "")), ",".join(cell.tags)]
    if cell.options.fig_format is not None:    # only then: the hashes of cells without one stay
        parts.append(f"fig-format: {cell.options.fig_format}")
    return sha256_text("\x00".join(parts))


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def make_record(post: Post, options: ExecutionOptions, run: Execution, site_dir: Path) -> FreezeRecord:
    """The record of one execution, ready to dump."""
    files = {name: sha256_file(site_dir / name) for name in run.reads if (site_dir / name).is_file()}
    key = RecordKey(tuple(cell_key(cell) for cell in post.cells if cell.evaluated), options.as_key(),
                    files, run.packages)
    provenance = {"python": run.python, "torch": run.packages.get("torch"), "device": run.device,
                  "seed": options.seed, "run_seconds": run.seconds}
    return FreezeRecord(post.path, key, provenance, dict(sorted(run.results.items())))


def output_record(output: Output) -> dict:
    record: dict[str, Any] = {"kind": output.kind}
    if output.name:
        record["name"] = output.name
    if output.kind == "image":
        record.update(path=output.path, sha256=output.sha256, width=output.width,
                      height=output.height, alt=output.text)
    elif output.kind == "chart":     # the spec, and the PNG drawn of it for pages without JavaScript
        record.update(path=output.path, sha256=output.sha256, width=output.width,
                      height=output.height, text=[output.text])
    else:
        record["text"] = output.text.split("\n")   # one line per entry: readable diffs
    return record


def dump_record(record: FreezeRecord) -> bytes:
    """The bytes committed under _freeze/: sorted keys, one output line per entry."""
    return (json.dumps(record.as_json(), indent=1, ensure_ascii=False, sort_keys=True) + "\n").encode("utf-8")


class UnreadableRecord(FreezeError):
    """A freeze record that is not one: truncated, garbage, another format or another shape."""

    def __init__(self, reason: str, where: str, post_path: str):
        super().__init__(f"the freeze record of {post_path} is unreadable: {reason}", where,
                         f"Delete it to run the post again, or restore it from git "
                         f"(`git checkout -- {where}`).")
        self.reason, self.post_path = reason, post_path

    def __reduce__(self):
        return self.__class__, (self.reason, self.where, self.post_path)


def load_record(site_dir: Path, post: Post) -> FreezeRecord | None:
    """The post's record; None when it has none. Raises UnreadableRecord for a damaged one."""
    relative = record_path(post)
    path = site_dir / relative
    if not path.is_file():
        return None
    try:
        record = json.loads(path.read_bytes().decode("utf-8"))
    except OSError as error:
        raise UnreadableRecord(error.strerror or str(error), relative, post.path) from None
    except UnicodeDecodeError:
        raise UnreadableRecord("it is not UTF-8 text", relative, post.path) from None
    except RecursionError:
        raise UnreadableRecord("it is not valid JSON (nested too deeply)", relative, post.path) from None
    except json.JSONDecodeError as error:
        raise UnreadableRecord(f"it is not valid JSON ({error.msg} at line {error.lineno}, "
                               f"column {error.colno}; truncated?)", relative, post.path) from None
    record = migrated(record)
    problem = shape_problem(record, post)
    if problem:
        raise UnreadableRecord(problem, relative, post.path)
    return FreezeRecord.from_json(record)


def migrated(record: Any) -> Any:
    """A record of an older schema brought up to SCHEMA, when MIGRATIONS knows how."""
    while isinstance(record, dict) and record.get("schema") in MIGRATIONS:
        record = MIGRATIONS[record["schema"]](record)
    return record


def load_record_if_readable(site_dir: Path, post: Post) -> FreezeRecord | None:
    """The post's record, or None when it has none or it is damaged."""
    try:
        return load_record(site_dir, post)
    except UnreadableRecord:
        return None


def shape_problem(record: Any, post: Post) -> str | None:
    """What makes parsed JSON not a record this builder can use; None when nothing does."""
    if not isinstance(record, dict):
        return f"it holds a JSON {type(record).__name__}, not an object"
    if record.get("schema") != SCHEMA:
        return f"its format is {record.get('schema')!r}, this builder reads format {SCHEMA}"
    try:
        key = record["key"]
        texts = [*key["cells"], *key["files"].keys(), *key["files"].values(),
                 *key["packages"].keys(), *key["packages"].values()]
        images = [o for cell in record["cells"] for o in cell["outputs"] if o["kind"] in ("image", "chart")]
        texts += [image[name] for image in images for name in ("path", "sha256")]
        usable = (all(isinstance(text, str) for text in texts) and isinstance(key["options"], dict)
                  and isinstance(record["provenance"], dict))
        executed_from_record(post, FreezeRecord.from_json(record))    # reads every other field rendering uses
    except (KeyError, TypeError, ValueError, AttributeError) as error:
        return f"it is not shaped like a freeze record ({type(error).__name__}: {error})"
    return None if usable else "it is not shaped like a freeze record (a field of the wrong type)"


def executed_from_record(post: Post, record: FreezeRecord, from_cache: bool = True) -> ExecutedPost:
    """Rebuild an ExecutedPost from a record, without running anything."""
    return ExecutedPost(post, record.results, record.provenance, from_cache=from_cache)


def output_from_record(record: dict) -> Output:
    if record["kind"] == "image":
        return Output("image", path=record["path"], sha256=record["sha256"], width=record["width"],
                      height=record["height"], text=record.get("alt", ""))
    if record["kind"] == "chart":
        return Output("chart", text="\n".join(record["text"]), name=record["name"], path=record["path"],
                      sha256=record["sha256"], width=record["width"], height=record["height"])
    return Output(record["kind"], text="\n".join(record["text"]), name=record.get("name", ""))


def stale_reasons(record: FreezeRecord | None, post: Post, options: ExecutionOptions, site_dir: Path,
                  check_packages: bool = True) -> list[str]:
    """Why the record no longer stands for the post; empty when it does."""
    if record is None:
        return ["no frozen result"]
    if record.schema != SCHEMA:
        return [f"record format {record.schema} → {SCHEMA}"]
    key = record.key
    reasons = cell_changes(list(key.cells), [cell_key(c) for c in post.cells if c.evaluated])
    reasons += option_changes(key.options, options.as_key())
    reasons += file_changes(key.files, site_dir)
    reasons += figure_changes(record, site_dir)
    if check_packages:
        reasons += package_changes(key.packages)
    return reasons


def cell_changes(old: list[str], new: list[str]) -> list[str]:
    reasons = [f"cell {i} changed" for i, (a, b) in enumerate(zip(old, new), 1) if a != b]
    reasons += [f"cell {i} added" for i in range(len(old) + 1, len(new) + 1)]
    reasons += [f"cell {i} removed" for i in range(len(new) + 1, len(old) + 1)]
    return reasons


def option_changes(old: dict, new: dict) -> list[str]:
    return [f"{name} {old.get(name)} → {new.get(name)}" for name in sorted(set(old) | set(new))
            if old.get(name) != new.get(name)]


def file_changes(files: dict[str, str], site_dir: Path) -> list[str]:
    reasons = []
    for name, digest in sorted(files.items()):
        path = site_dir / name
        if not path.is_file():
            reasons.append(f"{name} removed")
        elif sha256_file(path) != digest:
            reasons.append(f"{name} changed")
    return reasons


def figure_changes(record: FreezeRecord, site_dir: Path) -> list[str]:
    return [f"{figure.path} missing or modified" for figure in record.figures()
            if not figure_intact(site_dir / figure.path, figure.sha256)]


def figure_intact(path: Path, digest: str) -> bool:
    return path.is_file() and sha256_file(path) == digest


def package_changes(packages: dict[str, str]) -> list[str]:
    reasons = []
    for name, version in sorted(packages.items()):
        current = installed_version(name)
        if current != version:
            reasons.append(f"{name} {version} → {current or 'not installed'}")
    return reasons


def installed_version(name: str) -> str | None:
    from importlib import metadata   # 15 ms to import: only posts with a freeze record need it
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None
