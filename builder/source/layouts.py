"""Jekyll's own layout names, which most Jekyll blogs' posts name, mapped onto ours."""
from __future__ import annotations

from typing import Callable, Iterable

# A site's own templates/layouts/post.html (or page, default, home) wins over the alias.
JEKYLL_LAYOUTS = {"post": "single", "page": "single", "default": "default", "home": "home"}


def with_jekyll_aliases(names: Iterable[str]) -> list[str]:
    """The layout names a post may use: the site's and theme's, plus Jekyll's names for them."""
    found = set(names)
    return sorted(found | {alias for alias, ours in JEKYLL_LAYOUTS.items() if ours in found})


def layout_file(name: str, exists: Callable[[str], bool]) -> str:
    """The template for layout `name`: its own file, else the one its Jekyll name stands for."""
    own = f"layouts/{name}.html"
    if name in JEKYLL_LAYOUTS and not exists(own):
        return f"layouts/{JEKYLL_LAYOUTS[name]}.html"
    return own
