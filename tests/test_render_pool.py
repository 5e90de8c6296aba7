"""The render pool's pipes: a worker sends a whole chunk of pages without waiting for the parent."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from builder.site import render_pool

PIPE_MAX = Path("/proc/sys/fs/pipe-max-size")


@pytest.mark.skipif(not sys.platform.startswith("linux") or not PIPE_MAX.is_file()
                    or int(PIPE_MAX.read_text()) < render_pool.PIPE_BYTES, reason="Linux pipe sizes")
def test_a_worker_can_send_a_whole_chunk_while_the_parent_reads_nothing():
    read_fd, write_fd = os.pipe()
    with os.fdopen(read_fd, "rb") as reader, os.fdopen(write_fd, "wb", buffering=0) as writer:
        render_pool.widen_pipes([reader])
        os.set_blocking(write_fd, False)            # a full pipe makes the write return short
        chunk = b"<p>page</p>" * (render_pool.CHUNK * 30_000 // 11)    # 25 pages of 30 KB
        assert writer.write(chunk) == len(chunk)
