"""Which post gets which output file: a URL that could escape the site, or one that two sources
claim, is a problem of that post alone, found before anything runs."""
from __future__ import annotations

from builder.core.errors import BuildError, SourceError
from builder.core.model import Post
from builder.core.urls import output_path

DUPLICATE_HINT = "Give one of the two posts a different `permalink:` or file name."


def claim_outputs(posts: list[Post], keep_going: bool) -> tuple[list[Post], list[BuildError]]:
    """The posts (in the given order) whose page lands in the site and is theirs alone, and the
    problems of the others: the first file to claim a page keeps it, later ones are skipped."""
    owners: dict[str, Post] = {}
    kept, problems = [], []
    for post in posts:
        try:
            page = output_path(post.url, post.path)
        except BuildError as error:
            problems.append(error)
            continue
        first = owners.setdefault(page, post)
        if first is post:
            kept.append(post)
            continue
        outcome = f"; {first.path} is built and this file is skipped" if keep_going else ""
        problems.append(SourceError(f"the URL {post.url} is also claimed by {first.path}{outcome}",
                                    post.path, DUPLICATE_HINT))
    return kept, problems
