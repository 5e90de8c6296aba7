"""The repository's own site: the PyTorch tutorial executed for real, and published frozen."""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, SEED_POST, run_build

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

TUTORIAL = "posts/2017-08-11-pytorch-linear-regression.md"
PAGE = "tutorial/2017/08/11/pytorch-linear-regression.html"
FIGURES = ("training-data.png", "fitted-line.png")


@pytest.fixture(scope="module")
def executed_tutorial(tmp_path_factory) -> Path:
    """A copy of the site without its freeze records, so the tutorial really runs."""
    site = tmp_path_factory.mktemp("tutorial") / "site"
    site.mkdir()
    shutil.copytree(REPO / "posts", site / "posts")
    shutil.copy(REPO / "_config.yml", site / "_config.yml")
    built = run_build(site)
    assert built.result.exit_code == 0, built.log
    assert built.executed == [TUTORIAL]
    return site


def test_tutorial_page_has_fifty_epochs_with_decreasing_loss(executed_tutorial):
    html = (executed_tutorial / "_site" / PAGE).read_text(encoding="utf-8")
    losses = [float(v) for v in re.findall(r"Epoch\[\d+/1000\], loss: ([0-9.]+)", html)]
    assert len(losses) == 50
    assert all(later < earlier for earlier, later in zip(losses, losses[1:]))
    assert re.findall(r'<img src="(/assets/img/pytorch-linear-regression/[\w-]+\.png)"', html) == [
        f"/assets/img/pytorch-linear-regression/{name}" for name in FIGURES]


def test_tutorial_figures_are_valid_pngs_identical_to_the_committed_ones(executed_tutorial):
    for name in FIGURES:
        data = (executed_tutorial / "assets/img/pytorch-linear-regression" / name).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and data.endswith(b"IEND\xaeB`\x82")
        assert (executed_tutorial / "_site/assets/img/pytorch-linear-regression" / name).read_bytes() == data
        assert (REPO / "assets/img/pytorch-linear-regression" / name).read_bytes() == data


def test_tutorial_model_file_stays_out_of_the_site(executed_tutorial):
    assert not list(executed_tutorial.rglob("linear.pth"))
    assert not list(REPO.glob("linear.pth")) and not list((REPO / "posts").glob("linear.pth"))


def test_home_page_lists_the_tutorial_with_excerpt(executed_tutorial):
    home = (executed_tutorial / "_site/index.html").read_text(encoding="utf-8")
    assert f'<a href="/{PAGE}" rel="permalink">用 PyTorch 做线性回归</a>' in home
    assert "用十几行 PyTorch 代码，从零训练一个一元线性回归模型。" in home


def test_frozen_build_needs_no_torch_and_matches_the_normal_build(tmp_path):
    blocker = tmp_path / "blocker"
    (blocker / "torch").mkdir(parents=True)
    (blocker / "torch/__init__.py").write_text("raise ImportError('torch is blocked in this test')\n")
    (blocker / "nbclient").mkdir()
    (blocker / "nbclient/__init__.py").write_text("raise ImportError('nbclient is blocked in this test')\n")
    frozen = subprocess.run(
        [sys.executable, "-m", "builder", "build", "--frozen", "--dest", str(tmp_path / "frozen")],
        cwd=REPO, capture_output=True, text=True, env={"PYTHONPATH": f"{blocker}:{REPO}", "PATH": "/usr/bin:/bin"})
    assert frozen.returncode == 0, frozen.stderr
    normal = run_build(REPO, dest=tmp_path / "normal")
    assert normal.executed == []
    for name in (PAGE, "index.html", *(f"assets/img/pytorch-linear-regression/{f}" for f in FIGURES)):
        assert (tmp_path / "frozen" / name).read_bytes() == (tmp_path / "normal" / name).read_bytes()


def test_seed_post_as_written_fails_at_its_markdown_line(tmp_path):
    site = tmp_path / "site"
    (site / "posts").mkdir(parents=True)
    shutil.copy(SEED_POST, site / "posts/2017-08-11-seed.md")
    built = run_build(site)
    assert built.result.exit_code == 1 and not (site / "_site").exists()
    message = str(built.result.failures[0])
    assert message.startswith("posts/2017-08-11-seed.md:94 (cell 5): IndexError: invalid index of a 0-dim tensor. "
                              "Use `tensor.item()` in Python")
    assert ">    94 |               .format(epoch+1, num_epochs, loss.data[0]))" in message
    assert "\x1b[" not in message
    assert "Hint: Fix the code at the line above" in message
