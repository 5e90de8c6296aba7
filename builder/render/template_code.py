"""Compiled templates kept in the build's cache folder, so that a rebuild does not compile the
theme again (a tenth of a second of a one-post edit)."""
from __future__ import annotations

import hashlib
import os
import tempfile
import weakref
from pathlib import Path

import jinja2


def folding_inputs(env: jinja2.Environment) -> str:
    """What compiled code depends on besides the source: Jinja folds filters and tests over
    constants while compiling, so `"/x" | relative_url` keeps the baseurl of the environment
    that compiled it. Each filter and test by its code and the values its closure holds, and the
    policies. An object without a stable repr then shares nothing, which is safe."""
    parts = []
    for kind, table in (("filter", env.filters), ("test", env.tests)):
        for name, function in sorted(table.items()):
            parts.append((kind, name, code_identity(function)))
    return repr((parts, sorted(env.policies.items(), key=lambda item: item[0])))


def code_identity(value: object, depth: int = 3) -> object:
    """A function by where its code is and what its closure holds, recursively: Jinja's async
    variants of filters hold functions, whose repr is an address that differs every build."""
    code = getattr(value, "__code__", None)
    if code is None or depth == 0:
        return repr(value)
    held = []
    for cell in getattr(value, "__closure__", None) or ():
        try:
            held.append(code_identity(cell.cell_contents, depth - 1))
        except ValueError:          # a cell not filled yet
            held.append(None)
    return f"{code.co_filename}:{code.co_firstlineno}:{code.co_name}", held


class CompiledTemplates(jinja2.BytecodeCache):
    """Jinja's code for each template in `folder`, under a name that holds the environment's
    folding inputs and the template's name. Jinja compiles again when the file's source
    checksum or Python's bytecode version differs, or the file is damaged."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.prefixes: weakref.WeakKeyDictionary[jinja2.Environment, str] = weakref.WeakKeyDictionary()

    def path(self, bucket: jinja2.bccache.Bucket) -> Path:
        # Taken at the environment's first template, once `make_environment` has set its filters.
        env = bucket.environment
        if env not in self.prefixes:
            self.prefixes[env] = hashlib.sha256(folding_inputs(env).encode()).hexdigest()[:20]
        return self.folder / f"{self.prefixes[env]}-{bucket.key}"

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        try:
            code = self.path(bucket).read_bytes()
        except OSError:
            return
        try:
            bucket.bytecode_from_string(code)
        except Exception:           # a damaged file (Jinja checks only its header): compile again
            bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        """Written whole or not at all (render workers may compile the same template at once);
        a cache that cannot be written only costs the next build a compile."""
        temporary = None
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=self.folder, prefix=".code-")
            with os.fdopen(descriptor, "wb") as file:
                file.write(bucket.bytecode_to_string())
            os.replace(temporary, self.path(bucket))
        except OSError:
            if temporary is not None:
                Path(temporary).unlink(missing_ok=True)
