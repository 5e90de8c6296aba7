"""Push the built site to a `gh-pages` branch, keeping that branch's history."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from builder.core.errors import BuildError

AUTHOR = ["-c", "user.name=builder", "-c", "user.email=builder@localhost"]


def publish(site: Path, remote: str, branch: str = "gh-pages", cname: str = "") -> str:
    """Commit the contents of `site` on top of `remote`'s `branch` and push; return the commit."""
    if not (site / "index.html").is_file():
        raise BuildError(f"{site} holds no built site", str(site), "Run `make site` (or build --frozen) first.")
    with tempfile.TemporaryDirectory(prefix="builder-publish-") as scratch:
        work = Path(scratch)
        git(work, "init", "-q")
        has_branch = git(work, "fetch", "-q", remote, branch, check=False).returncode == 0
        git(work, "checkout", "-q", *(["-B", branch, "FETCH_HEAD"] if has_branch else ["--orphan", branch]))
        replace_contents(work, site, cname)
        git(work, "add", "-A")
        if git(work, "diff", "--cached", "--quiet", check=False).returncode != 0 or not has_branch:
            git(work, *AUTHOR, "commit", "-q", "-m", f"Publish site built from {site.name}/")
        git(work, "push", "-q", remote, f"HEAD:refs/heads/{branch}")
        return git(work, "rev-parse", "HEAD").stdout.strip()


def replace_contents(work: Path, site: Path, cname: str) -> None:
    for entry in work.iterdir():
        if entry.name != ".git":
            shutil.rmtree(entry) if entry.is_dir() else entry.unlink()
    shutil.copytree(site, work, dirs_exist_ok=True)
    if cname:
        (work / "CNAME").write_text(cname + "\n", encoding="utf-8")


def git(work: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(["git", *args], cwd=work, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise BuildError(f"git {' '.join(args)} failed: {result.stderr.strip()}", str(work),
                         "Check that the remote exists and that you may push to it.")
    return result
