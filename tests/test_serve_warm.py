"""`serve` keeps its warm kernel pool between rebuilds, and takes it down when it stops."""
from __future__ import annotations

import io
import json
import os
import re
import urllib.request
from pathlib import Path

import pytest

from builder.commands.serve import Server
from builder.core.children import descendants
from builder.site.build import BuildOptions
from tests.conftest import write

pytestmark = pytest.mark.kernel

POST = "posts/2024-01-02-parent.md"
PAGE = "_site/2024/01/02/parent.html"
WAIT = 20            # seconds: one rebuild that runs a kernel, on a busy machine
# The kernel prints its parent: a warm kernel is forked by the zygote, so that is the zygote's pid.
CODE = "import numpy as np\nimport os\nprint('parent', os.getppid(), 'run', {run})\n"


def write_post(site: Path, run: int) -> None:
    write(site / POST, f"---\ntitle: Parent\n---\n\n```python\n{CODE.format(run=run)}```\n")


def printed_parent(site: Path, run: int) -> int:
    page = (site / PAGE).read_text(encoding="utf-8")
    return int(re.search(rf"parent (\d+) run {run}", page)[1])


def generation_after(server: Server, since: int) -> int:
    url = f"http://127.0.0.1:{server.port}/__reload?since={since}&timeout={WAIT}"
    with urllib.request.urlopen(url, timeout=WAIT + 5) as response:
        return json.load(response)["generation"]


def test_code_edits_fork_from_the_same_zygote_and_stop_leaves_no_process(tmp_path):
    site = tmp_path / "site"
    write_post(site, 1)
    before = set(descendants())
    server = Server(BuildOptions(source=site, jobs=1), port=0, stream=io.StringIO()).start()
    try:
        zygotes = server.warm.zygote_pids()
        assert len(zygotes) == 1 and server.state.error is None
        assert printed_parent(site, 1) == zygotes[0]
        for run in (2, 3):                          # two code edits, two rebuilds
            generation = server.state.generation
            write_post(site, run)
            assert generation_after(server, generation) == generation + 1
            assert server.state.error is None
            assert printed_parent(site, run) == zygotes[0]
        assert server.warm.zygote_pids() == zygotes
    finally:
        server.stop()
    # Nothing the server started is left. (A process of the test run's shared Chromium may
    # have ended meanwhile: only new ones count.)
    assert set(descendants()) - before == set()
    assert not os.path.exists(f"/proc/{zygotes[0]}")


def test_a_pool_that_lost_its_zygote_is_replaced_before_the_next_rebuild(tmp_path):
    site = tmp_path / "site"
    write_post(site, 1)
    server = Server(BuildOptions(source=site, jobs=1), port=0, stream=io.StringIO()).start()
    try:
        [old] = server.warm.zygote_pids()
        os.kill(old, 9)
        generation = server.state.generation
        write_post(site, 2)
        assert generation_after(server, generation) == generation + 1
        [new] = server.warm.zygote_pids()
        assert new != old and printed_parent(site, 2) == new
    finally:
        server.stop()
