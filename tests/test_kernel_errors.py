"""A kernel that cannot start is an error naming the post, with a hint; never a traceback."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import REPO, write

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
