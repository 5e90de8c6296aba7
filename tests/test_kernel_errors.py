"""A kernel that cannot start is an error naming the post, with a hint; never a traceback."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, write

pytestmark = pytest.mark.kernel

POST = '''
---
title: "{name}"
kernel: {kernel}
---
Text.

```python
print(1)
```
'''


def test_unknown_and_broken_kernels_are_reported_without_a_traceback(tmp_path: Path):
    site = tmp_path / "site"
    write(site / "posts/2024-01-01-unknown.md", POST.format(name="Unknown", kernel="nosuch"))
    write(site / "posts/2024-01-02-broken.md", POST.format(name="Broken", kernel="broken"))
    # A kernel whose Python lacks ipykernel exits at once, as this one does.
    spec = tmp_path / "jupyter/kernels/broken/kernel.json"
    spec.parent.mkdir(parents=True)
    spec.write_text(json.dumps({"argv": [sys.executable, "-c", "raise SystemExit(3)", "-f",
                                         "{connection_file}"], "display_name": "broken", "language": "python"}))
    env = dict(os.environ, JUPYTER_PATH=str(tmp_path / "jupyter"))
    run = subprocess.run([sys.executable, "-m", "builder", "build", "--source", str(site), "--keep-going"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert "Traceback" not in run.stdout + run.stderr
    output = run.stdout + run.stderr
    assert ("failed: posts/2024-01-01-unknown.md: no Jupyter kernel is named `nosuch` (front matter "
            "`kernel:`)\n  Hint: Installed kernels: broken, python3. Use one of them, or install the "
            "kernel; `jupyter kernelspec list` shows them.") in output
    assert ("failed: posts/2024-01-02-broken.md: the kernel `broken` could not start (RuntimeError: "
            "Kernel died before replying to kernel_info)\n  Hint: Check that the kernel's Python has "
            "ipykernel (`python -m pip install ipykernel`) and that `jupyter kernelspec list` shows "
            "the kernel; then rebuild.") in output


def read(site: Path, name: str, text: str):
    from builder.core.config import validate_config
    from builder.source.reader import read_post
    return read_post(site, write(site / "posts" / name, text), validate_config({}, "_config.yml"))


def our_children() -> set[int]:
    """Processes whose parent is this one (kernels the executor started)."""
    children = set()
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(line.split(":\t", 1) for line in status.read_text().splitlines() if ":\t" in line)
        except OSError:
            continue
        if fields.get("PPid", "").strip() == str(os.getpid()):
            children.add(int(status.parent.name))
    return children


def test_a_zmq_error_while_starting_is_an_execution_error(tmp_path: Path, monkeypatch):
    import pytest
    import zmq
    from jupyter_client.manager import AsyncKernelManager

    from builder.core.errors import ExecutionError
    from builder.execute.executor import ExecutionOptions, execute_post

    async def refuse(self, *args, **kwargs):
        raise zmq.ZMQError(zmq.EADDRINUSE)

    monkeypatch.setattr(AsyncKernelManager, "_async_launch_kernel", refuse)
    post = read(tmp_path, "2024-01-01-z.md", "---\ntitle: Z\n---\n```python\nprint(1)\n```\n")
    with pytest.raises(ExecutionError) as raised:
        execute_post(post, tmp_path, ExecutionOptions(), warm=None)
    assert str(raised.value).startswith(
        "posts/2024-01-01-z.md: the kernel `python3` could not start (ZMQError: Address already in use)\n"
        "  Hint: Check that the kernel's Python has ipykernel")


def test_a_cold_kernel_names_cells_too_and_a_failed_start_leaves_no_kernel(tmp_path: Path, monkeypatch):
    import pytest

    from builder.core import patches
    from builder.execute import executor
    from builder.core.errors import ExecutionError

    post = read(tmp_path, "2024-01-01-w.md",
                "---\ntitle: W\n---\nText.\n\n```python\nimport warnings\nwarnings.warn('careful')\n```\n")
    run = executor.execute_post(post, tmp_path, executor.ExecutionOptions(), warm=None)
    assert run.results[1].outputs[0].text == ("posts/2024-01-01-w.md:8: UserWarning: careful\n"
                                              "  warnings.warn('careful')\n")

    async def no_reply(kc, timeout):
        raise RuntimeError("Kernel didn't respond in 120 seconds")

    before = our_children()
    monkeypatch.setattr(patches, "wait_for_ready", no_reply)
    with pytest.raises(ExecutionError) as raised:
        executor.execute_post(post, tmp_path, executor.ExecutionOptions(), warm=None)
    assert str(raised.value).startswith("posts/2024-01-01-w.md: the kernel `python3` could not start "
                                        "(RuntimeError: Kernel didn't respond in 120 seconds)")
    assert our_children() <= before
