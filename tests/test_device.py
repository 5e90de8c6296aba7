"""Posts marked `device: cuda`: run where a GPU is, shown from their frozen record where none is."""
from __future__ import annotations

import shutil

import pytest

from conftest import REPO, run_build, write

POST = "posts/2021-01-01-gpu.md"
PAGE = "_site/2021/01/01/gpu.html"


def gpu_post(site, message: str) -> None:
    write(site / POST, f"---\ntitle: GPU\ndevice: cuda\n---\n```python\nprint({message!r})\n```\n")


@pytest.mark.kernel
def test_gpu_post_without_gpu_shows_its_frozen_outputs_with_a_warning(tmp_path, monkeypatch):
    site = tmp_path / "site"
    gpu_post(site, "trained on the GPU")
    monkeypatch.setenv("BUILDER_GPU", "1")          # pretend: the record is made where a GPU is
    assert run_build(site).executed == [POST]
    gpu_post(site, "changed since")
    monkeypatch.setenv("BUILDER_GPU", "0")
    with pytest.warns(UserWarning, match=r"posts/2021-01-01-gpu.md: needs a GPU \(`device: cuda`\) and none "
                                         r"is here; showing its frozen outputs \(stale: cell 1 changed\)"):
        built = run_build(site)
    assert built.result.exit_code == 0 and built.executed == []
    assert "trained on the GPU" in (site / PAGE).read_text(encoding="utf-8")


def test_gpu_post_without_gpu_or_record_is_a_clear_error(tmp_path, monkeypatch):
    site = tmp_path / "site"
    gpu_post(site, "never run")
    monkeypatch.setenv("BUILDER_GPU", "0")
    built = run_build(site)
    assert built.result.exit_code == 1 and built.executed == []
    assert str(built.result.failures[0]) == (
        f"{POST}: the post needs a GPU (`device: cuda`), there is none here, and it has no frozen result "
        "to show instead\n  Hint: Build it once on a machine with a GPU and commit _freeze/ and assets/img/.")


def test_example_trained_on_an_h200_is_published_from_its_record_on_a_cpu(tmp_path, monkeypatch):
    """examples/gpu-site was executed on an NVIDIA H200; here it renders without a GPU or a kernel."""
    site = tmp_path / "gpu-site"
    shutil.copytree(REPO / "examples/gpu-site", site)
    monkeypatch.setenv("BUILDER_GPU", "0")
    with pytest.warns(UserWarning, match=r"needs a GPU .* showing its frozen outputs$"):
        built = run_build(site)
    assert built.result.exit_code == 0 and built.executed == []
    html = (site / "_site/2026/11/27/mlp-on-the-gpu.html").read_text(encoding="utf-8")
    assert "device: NVIDIA H200" in html and "epoch 300 loss=0.00146" in html
    assert "PyTorch 2.11.0, on cuda: NVIDIA H200, seed 0" in html
    figure = "assets/img/mlp-on-the-gpu/loss-curve.png"
    assert (site / "_site" / figure).read_bytes() == (REPO / "examples/gpu-site" / figure).read_bytes()
