"""Where the default theme (templates/ and assets/) lives, and the template folders of a site."""
from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1]
# An installed wheel carries the theme as builder/theme/; a checkout keeps it at the top level.
THEME_DIR = PACKAGE / "theme" if (PACKAGE / "theme" / "templates").is_dir() else PACKAGE.parent


def template_dirs(site_dir: Path) -> list[Path]:
    """Where templates are looked up, the site's own folder first."""
    dirs = [site_dir / "templates", THEME_DIR / "templates"]
    return [d for i, d in enumerate(dirs) if d.is_dir() and d.resolve() not in
            [e.resolve() for e in dirs[:i]]]
