"""The build, step by step: read, plan, execute and render, listings, assets, commit.

Each step is a function of its own: reading in builder.site.sources, the plan (cached / run /
failed, runs longest first) in builder.site.plan, runs on an execution backend in
builder.site.runs, the render plan and incremental state in builder.site.incremental, the one
writer in builder.site.writer.
"""
from __future__ import annotations

import gc
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from itertools import chain
from pathlib import Path
from typing import Callable, Iterator

import jinja2

from builder.core.config import SiteConfig, is_excluded, load_config
from builder.core.errors import BuildError, in_file_order
from builder.core.interrupts import deferred, site_committed
from builder.core.model import ExecutedPost, Page, Post, Prose
from builder.core.theme import THEME_DIR
from builder.core.urls import output_path
from builder.execute.executor import executed_code
from builder.execute.warm import WarmPool, start_warm_pool
from builder.render.charts import drop_unused_libraries
from builder.render.citations import bibliography_stamp
from builder.render.listings import (neighbours, render_home, render_site_files, render_taxonomy_pages,
                                     sort_posts, summary)
from builder.render.notebook import export_notebook, notebook_path
from builder.render.page import RenderContext, markup, offers_notebook, render_post, shows_site_lists
from builder.render.templates import make_environment
from builder.site.incremental import (IncrementalState, RenderPlan, SourceEntry, build_fingerprint, file_stat,
                                      load_listing, load_state, render_key, render_plan, save_listing, save_state,
                                      state_file)
from builder.site.options import BuildOptions, BuildResult
from builder.site.plan import Plan, PostRun, plan_posts, runs_code
from builder.site.progress import Reporter
from builder.site.render_pool import RenderPool, render_safely
from builder.site.runs import Runs, cluster_address
from builder.site.sources import Sources, read_posts, read_sources
from builder.site.search import indexed, render_search_page
from builder.site.writer import TEMPORARY_SUFFIX, Listing, Writer
from builder.source.links import missing_images

__all__ = ["BuildOptions", "BuildResult", "build_site", "read_posts"]


def build_site(options: BuildOptions, reporter: Reporter | None = None,
               warm: WarmPool | None = None) -> BuildResult:
    """Build the site in `options.source` into `options.output`, redoing only what changed.

    `warm` is a pool of pre-imported kernels the caller started early; otherwise one is started
    once the plan says which posts must run. With `--shard K/N` only that shard's posts run.
    """
    reporter = reporter or Reporter(verbose=options.verbose)
    config = load_config(options.source)
    cache = Cache.open(options)
    sources = read_sources(options, config, cache.previous, cache.state)
    with hidden_from_the_collector():
        plan = plan_posts(sources.posts + sources.pages, config, options)
        build = start_build(options, config, reporter, sources, cache, warm)
        if not follow_plan(build, plan):
            return build.finish()
        with build.plan.writer:                     # what it staged goes unless committed
            with warm_kernels(build, plan.runs):    # kernels warm up while cached pages render
                if options.shard is not None:
                    return run_shard(build, plan)
                execute_and_render(build, plan, sources.pages)
            if build.stopped:
                return build.finish()
            copy_assets(options.source, build.plan, config)   # after the runs: they may have made new figures
            with indexed(build.plan.writer, config, reporter, cache.path.with_suffix(".search")) as start_index:
                cache.commit(build.plan, pages_in_place=start_index)   # Pagefind runs while the state is stored
            cache.save_listing(build.plan.writer)             # as the sweep and the index left the site
        return build.finish()


@contextmanager
def hidden_from_the_collector() -> Iterator[None]:
    """The objects loaded so far (the previous build's state and the sources: tens of thousands,
    all alive until the build ends) out of the garbage collector's sight: each of its full passes
    walked them all again, a fifth of a one-post edit. Forked render workers inherit this.
    Given back at the end, for a process that builds again (serve)."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@dataclass
class Cache:
    """The previous build's state, this build's, and where they are stored."""

    path: Path
    previous: IncrementalState
    state: IncrementalState
    listing: Listing | None           # the output folder as the previous sweep left it

    @classmethod
    def open(cls, options: BuildOptions) -> Cache:
        path = state_file(options.source, options.output)
        previous = load_state(path, build_fingerprint(options.source))
        listing = load_listing(path.with_suffix(".listing"), previous.fingerprint)
        return cls(path, previous, IncrementalState(previous.fingerprint), listing)

    def commit(self, plan: RenderPlan, pages_in_place: Callable[[], None] = lambda: None) -> None:
        """Put the new site in place and store what it was made from, all or nothing;
        `pages_in_place` is called as soon as the new pages are."""
        with deferred():                           # a Ctrl-C now waits: the site is all new or all old
            plan.writer.commit()
            pages_in_place()
            plan.record_outputs()
            save_state(self.path, self.state, self.previous)
            site_committed()

    def save_listing(self, writer: Writer) -> None:
        """The output folder as this build left it, when it changed (a missing or older listing
        only costs the next build a sweep)."""
        if writer.settled is not self.listing:
            save_listing(self.path.with_suffix(".listing"), self.state.fingerprint, writer.settled)


@dataclass
class SiteBuild:
    """What every step of one build shares."""

    options: BuildOptions
    config: SiteConfig
    reporter: Reporter
    context: RenderContext
    plan: RenderPlan
    ordered: list[Post]                 # posts, newest first
    summaries: list[dict]               # what listings show of each of `ordered`
    links: dict[str, dict]              # post path -> previous/next
    result: BuildResult
    warm: WarmPool | None = None

    @property
    def stopped(self) -> bool:
        """Whether a failure ends the build here (without --keep-going)."""
        return bool(self.result.failures) and not self.options.keep_going

    def failed(self, post: Post, error: BuildError) -> None:
        fail_post(post, error, self.result, self.reporter, self.plan.writer)

    def links_of(self, post: Post) -> dict:
        return self.links.get(post.path, {})

    @cached_property
    def names_stamp(self) -> str:
        """Every post's name and URL, for the key of the pages that may link to posts by name."""
        return repr(sorted(self.context.posts_by_name.items()))

    def finish(self) -> BuildResult:
        """Report the outcome; a stopped build wrote nothing."""
        if self.stopped or self.options.shard is not None:
            self.reporter.finish(0)
            return self.result
        self.result.pages = len(self.plan.writer.produced | self.plan.writer.kept)
        self.reporter.finish(self.result.pages, rendered=self.plan.rendered)
        return self.result


def start_build(options: BuildOptions, config: SiteConfig, reporter: Reporter, sources: Sources,
                cache: Cache, warm: WarmPool | None) -> SiteBuild:
    """The shared state of a build; unreadable sources are reported as failures already."""
    ordered = sort_posts(sources.posts)
    context = RenderContext(make_environment(options.source, config, cache.path.parent / "templates"), config,
                            posts_by_name(sources.posts + sources.pages), site_dir=options.source,
                            posts=tuple(ordered))
    plan = render_plan(cache.previous, cache.state, context.env,
                       Writer(options.output, cache.listing,
                              cache.path.with_suffix(TEMPORARY_SUFFIX)))
    summaries = [summary(post) for post in ordered]
    build = SiteBuild(options, config, reporter, context, plan, ordered, summaries, neighbours(ordered, summaries),
                      BuildResult(), warm)
    for error in sources.unreadable:
        build.result.failures.append(error)
        reporter.failed(getattr(error.where, "path", str(error.where)), str(error))
    reporter.total = len(sources.posts) + len(sources.pages)
    return build


def follow_plan(build: SiteBuild, plan: Plan) -> bool:
    """Report the cached posts and the failures; False when a failure stops the build."""
    if build.options.execute:
        for executed in plan.cached:
            if runs_code(executed.post):
                build.reporter.cached(executed.post)
    for failure in plan.failed:
        build.failed(failure.post, failure.error)
    return not (plan.failed and not build.options.keep_going)


@contextmanager
def warm_kernels(build: SiteBuild, runs: tuple[PostRun, ...]) -> Iterator[None]:
    """A pool of kernels with the runs' heavy modules imported (unless the caller started one, or
    the posts run on a cluster, whose workers keep their own)."""
    own_pool = build.warm is None and bool(runs) and not cluster_address(build)
    if own_pool:
        build.warm = start_warm_pool([executed_code(run.post) for run in runs], log=build.reporter.note)
    try:
        yield
    finally:
        if own_pool:
            build.warm.close()


def run_shard(build: SiteBuild, plan: Plan) -> BuildResult:
    """`--shard K/N`: run this shard's posts, writing their records and figures; no site."""
    shard = build.options.shard
    build.reporter.note(f"shard {shard}: {len(plan.runs)} of {len(plan.runs) + len(plan.elsewhere)} "
                        f"stale post(s) run here")
    runs = Runs(build, list(plan.runs))
    try:
        for _ in runs.finished():
            pass
    finally:
        runs.close()
    return build.finish()


def execute_and_render(build: SiteBuild, plan: Plan, pages: list[Post]) -> None:
    """Cached pages on all cores, listings while the kernels run, each run's page as it ends."""
    keys = {executed.post.path: post_page_key(executed, build) for executed in plan.cached}
    pool = RenderPool(lambda executed: render_checked(executed, build), build.options.jobs)
    try:
        # forked before any thread starts (builder.site.forked)
        pool.submit([executed for executed in plan.cached if not page_unchanged(executed, keys, build.plan)])
        build.plan.writer.write_ahead()                     # threads from here on
        runs = Runs(build, list(plan.runs))                 # the posts' kernels start here
        try:
            prepare_rendering(build, [run.post for run in plan.runs])
            write_listings(build, pages)
            write_rendered(build, chain(pool.results(), rendered_runs(pool, runs)), keys)
        finally:
            runs.close()
    finally:
        pool.close()
    if not build.stopped:
        for executed in plan.cached:
            write_notebook(executed, keys[executed.post.path], build)


def rendered_runs(pool: RenderPool, runs: Runs) -> Iterator[tuple[ExecutedPost, Page | BuildError]]:
    return ((executed, render_safely(pool.render, executed)) for executed in runs.finished())


def write_rendered(build: SiteBuild, outcomes: Iterator[tuple[ExecutedPost, Page | BuildError]],
                   keys: dict[str, str]) -> None:
    """Write each page as it is rendered; stop at the first failure unless --keep-going."""
    for executed, outcome in outcomes:
        if isinstance(outcome, BuildError):
            build.failed(executed.post, outcome)
            if build.stopped:
                return
            continue
        key = keys.get(executed.post.path) or post_page_key(executed, build)
        build.plan.write(outcome.path, key, outcome.content)
        if executed.post.path not in keys:
            write_notebook(executed, key, build)


def write_listings(build: SiteBuild, pages: list[Post]) -> None:
    """Home, tag, category and year pages, feed, sitemap: redone only when metadata or templates changed."""
    ordered, context, plan = build.ordered, build.context, build.plan
    layouts = plan.graph.named("layouts/")
    key = render_key(build.summaries, [(p.url, p.get("sitemap")) for p in pages], plan.graph.fingerprint(layouts))
    previous = plan.previous.groups.get("listings", ())
    if previous and all(plan.unchanged(path, key) for path in previous):
        plan.state.groups["listings"] = previous
        return
    made = (render_home(ordered, context) + render_taxonomy_pages(ordered, context)
            + render_site_files(ordered, context, pages=pages) + render_search_page(context))
    for page in made:
        plan.write(page.path, key, page.content)
    plan.state.groups["listings"] = tuple(page.path for page in made)


def page_unchanged(executed: ExecutedPost, keys: dict[str, str], plan: RenderPlan) -> bool:
    post = executed.post
    return plan.unchanged(output_path(post.url, post.path), keys[post.path])


def render_checked(executed: ExecutedPost, build: SiteBuild) -> Page:
    """The post's page, after checking that every image it shows exists; all its problems at once."""
    context = build.context
    problems = missing_images(executed.post, build.options.source, context.config.base, THEME_DIR, context.config)
    try:
        page = render_post(executed, context, build.links_of(executed.post))
    except BuildError as error:
        raise in_file_order(problems + [error]) from None
    if problems:
        raise in_file_order(problems)
    return page


def write_notebook(executed: ExecutedPost, key: str, build: SiteBuild) -> None:
    """The post's notebook download, when it offers one and its inputs changed."""
    if not offers_notebook(executed):
        return
    path, config = notebook_path(executed.post), build.config
    if not build.plan.unchanged(path, key):
        url = config.site_url + config.base + executed.post.url
        build.plan.write(path, key, export_notebook(executed, build.options.source, page_url=url))


def prepare_rendering(build: SiteBuild, posts: list[Post]) -> None:
    """Load the Markdown stage and compile the posts' templates while their kernels run."""
    if not posts:
        return
    markup()
    graph = build.plan.graph
    direct = set().union(*(page_templates(post, build.plan) for post in posts))
    for name in sorted(set().union(*(graph.closure(name) for name in direct)) & graph.names):
        try:
            build.context.env.get_template(name)
        except jinja2.TemplateError:
            pass      # rendering the page reports it, with the post


def page_templates(post: Post, plan: RenderPlan) -> set[str]:
    """The templates a post page renders directly (includes they pull in come by the graph)."""
    return {f"layouts/{post.get('layout') or 'single'}.html", "includes/toc.html"} | plan.graph.named("includes/cell/")


def post_page_key(executed: ExecutedPost, build: SiteBuild) -> str:
    """Everything a post's page depends on: source, outputs, neighbours, templates."""
    post, plan, context, links = executed.post, build.plan, build.context, build.links_of(executed.post)
    source = plan.state.sources[post.path]
    includes, names_posts, shows_lists = prose_facts(source)
    templates = page_templates(post, plan)
    if includes:
        templates |= plan.graph.named("includes/")
    names = build.names_stamp if names_posts else ()
    lists = context.site_lists_stamp if shows_lists else ()
    return render_key(source.sha, executed.results, executed.provenance, links, names, lists,
                      plan.graph.fingerprint(templates), bibliography_stamp(post, context.config, context.site_dir))


def prose_facts(source: SourceEntry) -> tuple[bool, bool, bool]:
    """Whether the post's prose includes templates, may link to posts by name (`post_url`,
    `link`), and shows the site's lists of posts; kept with the source for the next build."""
    if source.prose is None:
        post = source.post
        text = "".join(block.text for block in post.blocks if isinstance(block, Prose))
        source.prose = ("{% include" in text or "{%- include" in text, "post_url" in text or "link" in text,
                        shows_site_lists(post))
    return source.prose


def fail_post(post: Post, error: BuildError, result: BuildResult, reporter: Reporter,
              writer: Writer) -> None:
    """Record a post's failure; its page from the previous build stays in place."""
    result.failures.append(error)
    reporter.failed(post.path, str(error))
    try:
        page = output_path(post.url, post.path)
    except BuildError:
        return              # a URL that cannot be a page has no page to keep
    result.failed_pages.add(page)
    writer.keep(page)


def posts_by_name(posts: list[Post]) -> dict[str, str]:
    return {Path(p.path).stem: p.url for p in posts}


def copy_assets(site_dir: Path, plan: RenderPlan, config: SiteConfig) -> None:
    """The theme's assets (not its images), then the site's own (less `exclude:`), which win."""
    sources = {}
    theme_assets = THEME_DIR / "assets"
    for path in sorted(theme_assets.rglob("*")) if theme_assets.is_dir() else []:
        relative = path.relative_to(THEME_DIR).as_posix()
        if path.is_file() and not relative.startswith("assets/img/"):
            sources[relative] = path
    site_assets = site_dir / "assets"
    for path in sorted(site_assets.rglob("*")) if site_assets.is_dir() else []:
        relative = path.relative_to(site_dir).as_posix()
        if path.is_file() and not path.name.startswith(".") and not is_excluded(relative, config):
            sources[relative] = path
    for relative, path in sorted(drop_unused_libraries(sources).items()):
        key = render_key(str(path), file_stat(path))
        if not plan.unchanged(relative, key):
            plan.write(relative, key, path.read_bytes())
