"""The wheel, installed into a fresh virtual environment, builds a site anywhere with its own theme."""
from __future__ import annotations

import subprocess
import sys
import sysconfig
import tempfile
from pathlib import Path

import pytest

from conftest import REPO, write

pytestmark = pytest.mark.slow


def run(*command: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess:
    done = subprocess.run([str(part) for part in command], cwd=cwd, capture_output=True, text=True,
                          timeout=300, env={"PATH": "/usr/bin:/bin", "HOME": tempfile.gettempdir(),
                                                  "PIP_NO_CACHE_DIR": "1"})
    assert done.returncode == 0, done.stdout + done.stderr
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """A fresh venv with the wheel installed; its dependencies come from the test environment."""
    root = tmp_path_factory.mktemp("packaging")
    run(sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
        "-w", root / "dist", REPO)
    wheel = next((root / "dist").glob("builder-*.whl"))
    run(sys.executable, "-m", "venv", "--without-pip", root / "venv")
    fresh = root / "venv" / "bin" / "python"
    purelib = run(fresh, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])").stdout.strip()
    # Only the dependencies' folder, not the checkout: a .pth line adds a folder, never its own .pth files.
    (Path(purelib) / "dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    run(sys.executable, "-m", "pip", "--python", fresh, "install", "--quiet", "--no-deps", wheel)
    return root / "venv" / "bin"


def test_the_wheel_ships_the_theme_and_a_command(installed):
    where = run(installed / "python", "-c", "import builder; print(builder.__file__)", cwd=installed).stdout
    assert where.startswith(str(installed.parent)), where
    theme = run(installed / "python", "-c", "from builder.core.theme import THEME_DIR; print(THEME_DIR)",
                cwd=installed).stdout
    assert Path(theme.strip()) == Path(where).parent / "theme"
    assert (Path(theme.strip()) / "templates" / "layouts" / "single.html").is_file()


def test_an_installed_builder_builds_a_site_in_any_folder(installed, tmp_path):
    site = tmp_path / "blog"
    write(site / "posts" / "2024-01-02-hello.md", """
        ---
        title: Hello
        ---

        Some *prose*.

        ```python
        print(1 + 1)
        ```
        """)
    run(installed / "builder", "build", "--no-execute", cwd=site)
    page = (site / "_site" / "2024" / "01" / "02" / "hello.html").read_text()
    assert "<em>prose</em>" in page and "print" in page
    assert (site / "_site" / "assets" / "css" / "main.css").is_file()
    run(installed / "python", "-m", "builder", "check", cwd=site)
