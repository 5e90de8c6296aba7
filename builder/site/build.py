"""The build, step by step: read everything, execute (or load frozen results), render, write."""
from __future__ import annotations

import os
import shutil
import warnings
from itertools import chain
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import jinja2

from builder.core.config import SiteConfig, is_excluded, load_config
from builder.core.errors import BuildError, ExecutionError, FreezeError, SourceErrors, in_file_order
from builder.source.claims import claim_outputs
from builder.execute.executor import ExecutionOptions, executed_code
from builder.core.interrupts import deferred
from builder.freeze.records import UnreadableRecord, executed_from_record, load_record, record_path, stale_reasons
from builder.site.incremental import (BuildState, SourceEntry, TemplateGraph, build_fingerprint, file_stat,
                                 load_state, render_key, save_state, sha256, state_file)
from builder.source.links import missing_images
from builder.render.charts import drop_unused_libraries
from builder.render.listings import (neighbours, render_home, render_site_files, render_taxonomy_pages,
                              sort_posts, summary)
from builder.core.model import ExecutedPost, Page, Post, Prose
from builder.site.progress import Reporter
from builder.source.reader import read_drafts, read_pages, read_post, source_files
from builder.render.notebook import export_notebook, notebook_path
from builder.render.page import RenderContext, markup, offers_notebook, render_post
from builder.site.forked import map_with_helper
from builder.site.render_pool import RenderPool, render_safely
from builder.site.runs import Runs
from builder.core.theme import THEME_DIR
from builder.render.templates import make_environment
from builder.core.urls import output_path
from builder.execute.warm import WarmPool, start_warm_pool
from builder.site.search import indexed, render_search_page
from builder.site.writer import Writer


PARALLEL_READ_MIN = 200        # changed sources below which a helper process costs more than it saves


@dataclass(frozen=True)
class BuildOptions:
    source: Path = Path(".")
    dest: Path | None = None
    jobs: int = os.cpu_count() or 1
    frozen: bool = False
    force: tuple[str, ...] | bool = False       # True: every post; a tuple: these posts
    keep_going: bool = False
    drafts: bool = False
    future: bool = False
    execute: bool = True
    verbose: bool = False

    @property
    def output(self) -> Path:
        return self.dest or self.source / "_site"


@dataclass
class BuildResult:
    pages: int = 0
    failures: list[BuildError] = field(default_factory=list)
    failed_pages: set[str] = field(default_factory=set)    # output paths of posts that failed

    @property
    def exit_code(self) -> int:
        return 1 if self.failures else 0


def build_site(options: BuildOptions, reporter: Reporter | None = None,
               warm: WarmPool | None = None) -> BuildResult:
    """Build the site in `options.source` into `options.output`, redoing only what changed.

    `warm` is a pool of pre-imported kernels the caller started early; otherwise one is started
    once the build knows which posts must run.
    """
    reporter = reporter or Reporter(verbose=options.verbose)
    config = load_config(options.source)
    state_path = state_file(options.source, options.output)
    previous = load_state(state_path, build_fingerprint(options.source))
    state = BuildState(previous.fingerprint)
    sources = read_sources(options, config, previous, state)
    build = start_build(options, config, reporter, sources, RenderPlan(previous, state), warm)
    write_post_pages(build, sources.posts + sources.pages,
                     meanwhile=lambda: write_listings(build.ordered, sources.pages, build.context, build.plan))
    if build.result.failures and not options.keep_going:
        reporter.finish(0)
        return build.result
    copy_assets(options.source, build.plan, config)       # after the runs: they may have made new figures
    with indexed(build.plan.writer, config, reporter, state_path.with_suffix(".search")), deferred():
        build.plan.writer.commit()
        build.plan.record_outputs()
        save_state(state_path, state, previous)
    build.result.pages = len(build.plan.writer.produced | build.plan.writer.kept)
    reporter.finish(build.result.pages, rendered=build.plan.rendered)
    return build.result


@dataclass
class Sources:
    """What the build read: posts, standalone pages, and the files it could not read."""

    posts: list[Post]
    pages: list[Post]
    unreadable: list[BuildError]


def read_sources(options: BuildOptions, config: SiteConfig, previous: BuildState, state: BuildState) -> Sources:
    """Every post, page and (with --drafts) draft, validated, filtered and checked for clashes."""
    posts, unreadable = read_posts(options.source, config, previous, state, options.jobs)
    pages = read_extra(lambda: read_pages(options.source, config), unreadable)
    if options.drafts:
        posts += read_extra(lambda: read_drafts(options.source, config, build_time()), unreadable)
    if unreadable and not options.keep_going:
        raise SourceErrors(unreadable)
    remember_sources(options.source, pages + posts, state)
    posts, pages = select_posts(posts, options), select_posts(pages, options)
    claimed, clashes = claim_outputs(posts + pages, options.keep_going)
    if clashes and not options.keep_going:
        raise clashes[0] if len(clashes) == 1 else SourceErrors(clashes)
    kept = {post.path for post in claimed}
    return Sources([p for p in posts if p.path in kept], [p for p in pages if p.path in kept],
                   unreadable + clashes)


@dataclass
class SiteBuild:
    """What every step of one build shares."""

    options: BuildOptions
    config: SiteConfig
    reporter: Reporter
    context: RenderContext
    plan: RenderPlan
    ordered: list[Post]                 # posts, newest first
    links: dict[str, dict]              # post path -> previous/next
    result: BuildResult
    warm: WarmPool | None = None

    def failed(self, post: Post, error: BuildError) -> None:
        fail_post(post, error, self.result, self.reporter, self.plan.writer)

    def links_of(self, post: Post) -> dict:
        return self.links.get(post.path, {})


def start_build(options: BuildOptions, config: SiteConfig, reporter: Reporter, sources: Sources,
                plan: RenderPlan, warm: WarmPool | None) -> SiteBuild:
    """The shared state of a build; unreadable sources are reported as failures already."""
    context = RenderContext(make_environment(options.source, config), config,
                            posts_by_name(sources.posts + sources.pages))
    plan.start(TemplateGraph(context.env, plan.carried_template_references()), Writer(options.output), options.source)
    ordered = sort_posts(sources.posts)
    build = SiteBuild(options, config, reporter, context, plan, ordered, neighbours(ordered), BuildResult(), warm)
    for error in sources.unreadable:
        build.result.failures.append(error)
        reporter.failed(getattr(error.where, "path", str(error.where)), str(error))
    return build


def write_post_pages(build: SiteBuild, posts: list[Post], meanwhile: Callable[[], None]) -> None:
    """Render every post page that changed: cached posts on all cores, executed ones as they finish."""
    ready, to_run = plan_posts(build, posts)
    if ready is None:
        return
    own_pool = build.warm is None and bool(to_run)
    if own_pool:
        build.warm = start_warm_pool([executed_code(post) for post, _ in to_run], log=build.reporter.note)
    try:
        render_and_run(build, ready, to_run, meanwhile)
    finally:
        if own_pool:
            build.warm.close()


def render_and_run(build: SiteBuild, ready: list[ExecutedPost], to_run: list,
                   meanwhile: Callable[[], None]) -> None:
    """Fork the renderers, start the kernels, then render and write while they run."""
    plan, context = build.plan, build.context
    pool = RenderPool(lambda executed: render_checked(executed, context, build.links_of(executed.post),
                                                      plan.site_dir), build.options.jobs)
    keys = {executed.post.path: post_page_key(executed, context, build.links_of(executed.post), plan)
            for executed in ready}
    pool.submit([executed for executed in ready if not page_unchanged(executed, keys, plan)])
    try:
        runs = Runs(build, to_run)
        try:
            render_outcomes(build, pool, runs, keys, [post for post, _ in to_run], meanwhile)
        finally:
            runs.close()
    finally:
        pool.close()
    if build.result.failures and not build.options.keep_going:
        return                                      # stopped: nothing more will be committed
    for executed in ready:
        write_notebook(executed, keys[executed.post.path], context, plan)


def render_outcomes(build: SiteBuild, pool: RenderPool, runs: Runs, keys: dict[str, str],
                    running: list[Post], meanwhile: Callable[[], None]) -> None:
    """Write each page as it is rendered; stop at the first failure unless --keep-going."""
    plan, context = build.plan, build.context
    if running:
        prepare_rendering(build, running)
    meanwhile()
    finished = ((executed, render_safely(pool.render, executed)) for executed in runs.finished())
    for executed, outcome in chain(pool.results(), finished):
        post = executed.post
        if isinstance(outcome, BuildError):
            build.failed(post, outcome)
            if not build.options.keep_going:
                return
            continue
        if post.path in keys:
            plan.write(outcome.path, keys[post.path], outcome.content)
            continue
        key = post_page_key(executed, context, build.links_of(post), plan)
        plan.write(outcome.path, key, outcome.content)
        write_notebook(executed, key, context, plan)


def page_unchanged(executed: ExecutedPost, keys: dict[str, str], plan: RenderPlan) -> bool:
    post = executed.post
    return plan.unchanged(output_path(post.url, post.path), keys[post.path])


def render_checked(executed: ExecutedPost, context: RenderContext, links: dict, site_dir: Path) -> Page:
    """The post's page, after checking that every image it shows exists; all its problems at once."""
    problems = missing_images(executed.post, site_dir, context.config.base, THEME_DIR, context.config)
    try:
        page = render_post(executed, context, links)
    except BuildError as error:
        raise in_file_order(problems + [error]) from None
    if problems:
        raise in_file_order(problems)
    return page


def write_notebook(executed: ExecutedPost, key: str, context: RenderContext, plan: RenderPlan) -> None:
    if not offers_notebook(executed):
        return
    path = notebook_path(executed.post)
    if not plan.unchanged(path, key):
        url = context.config.site_url + context.config.base + executed.post.url
        plan.write(path, key, export_notebook(executed, plan.site_dir, page_url=url))


class RenderPlan:
    """Decides, output by output, whether the previous build's file can stay as it is."""

    def __init__(self, previous: BuildState, state: BuildState):
        self.previous, self.state = previous, state
        self.rendered = 0

    def carried_template_references(self) -> dict:
        """The previous build's template references, carried into this build's state."""
        self.state.template_references = dict(self.previous.template_references)
        return self.state.template_references

    def start(self, graph: TemplateGraph, writer: Writer, site_dir: Path) -> None:
        self.graph, self.writer, self.site_dir = graph, writer, site_dir

    def unchanged(self, path: str, key: str) -> bool:
        """True (and the old file kept) when `path` was made from the same inputs and is intact."""
        if self.previous.keys.get(path) != key:
            return False
        stat = self.previous.outputs.get(path)
        if stat is None or stat != file_stat(self.writer.root / path):
            return False
        self.writer.keep(path)
        self.state.keys[path] = key
        self.state.outputs[path] = stat   # untouched by this build: no need to stat it again
        return True

    def write(self, path: str, key: str, content: bytes) -> None:
        self.writer.write(path, content)
        self.state.keys[path] = key
        self.rendered += 1

    def record_outputs(self) -> None:
        for path in list(self.state.keys):
            if path in self.state.outputs:
                continue
            stat = file_stat(self.writer.root / path)
            if stat is None:
                del self.state.keys[path]
            else:
                self.state.outputs[path] = stat


def prepare_rendering(build: SiteBuild, posts: list[Post]) -> None:
    """Load the Markdown stage and compile the posts' templates while their kernels run."""
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
    templates = {f"layouts/{post.get('layout') or 'single'}.html", "includes/toc.html"}
    return templates | {name for name in plan.graph.names if name.startswith("includes/cell/")}


def post_page_key(executed: ExecutedPost, context: RenderContext, links: dict, plan: RenderPlan) -> str:
    """Everything a post's page depends on: source, outputs, neighbours, templates."""
    post = executed.post
    source = plan.state.sources[post.path].sha
    templates = page_templates(post, plan)
    text = "".join(block.text for block in post.blocks if isinstance(block, Prose))
    if "{% include" in text or "{%- include" in text:
        templates |= {name for name in plan.graph.names if name.startswith("includes/")}
    names = sorted(context.posts_by_name.items()) if "post_url" in text or "link" in text else ()
    return render_key(source, executed.results, executed.provenance, links, names,
                      plan.graph.fingerprint(templates))


def write_listings(ordered: list[Post], pages: list[Post], context: RenderContext, plan: RenderPlan) -> None:
    """Home, tag, category and year pages, feed, sitemap: redone only when metadata or templates changed."""
    layouts = {name for name in plan.graph.names if name.startswith("layouts/")}
    key = render_key([summary(post) for post in ordered], [(p.url, p.get("sitemap")) for p in pages],
                     plan.graph.fingerprint(layouts))
    previous = plan.previous.groups.get("listings", ())
    if previous and all(plan.unchanged(path, key) for path in previous):
        plan.state.groups["listings"] = previous
        return
    made = (render_home(ordered, context) + render_taxonomy_pages(ordered, context)
            + render_site_files(ordered, context, pages=pages) + render_search_page(context))
    for page in made:
        plan.write(page.path, key, page.content)
    plan.state.groups["listings"] = tuple(page.path for page in made)


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


def read_posts(site_dir: Path, config: SiteConfig, previous: BuildState, state: BuildState,
               jobs: int = 1) -> tuple[list[Post], list[BuildError]]:
    """Every readable post under posts/, and the problems of the others.

    A file whose stat (or, failing that, whose hash) is as in the previous build is not parsed
    again; with `jobs` > 1, a forked helper parses half of many changed files.
    """
    paths = source_files(site_dir, "posts", config)
    sources = [(path.relative_to(site_dir).as_posix(), path, file_stat(path)) for path in paths]
    entries: dict[str, SourceEntry | BuildError] = {}
    changed = []
    for relative, path, stat in sources:
        known = previous.sources.get(relative)
        if known is not None and known.stat == stat:
            entries[relative] = known
        else:
            changed.append((relative, path, stat))
    def read(source: tuple) -> SourceEntry | BuildError:
        return read_outcome(site_dir, *source, config, previous)

    outcomes = map_with_helper(read, changed, PARALLEL_READ_MIN) if jobs > 1 else [read(job) for job in changed]
    entries.update(zip((relative for relative, _, _ in changed), outcomes))
    posts, problems = [], []
    for relative, _, _ in sources:
        entry = entries[relative]
        if isinstance(entry, BuildError):
            problems.append(entry)
        else:
            state.sources[relative] = entry
            posts.append(entry.post)
    return posts, problems


def read_extra(read: Callable[[], list[Post]], problems: list[BuildError]) -> list[Post]:
    """Standalone pages or drafts; their problems join the posts' problems."""
    try:
        return read()
    except SourceErrors as errors:
        problems.extend(errors.problems)
    except BuildError as error:
        problems.append(error)
    return []


def remember_sources(site_dir: Path, posts: list[Post], state: BuildState) -> None:
    """Record the stat and hash of sources read outside the post cache (pages, drafts)."""
    for post in posts:
        if post.path not in state.sources:
            path = site_dir / post.path
            state.sources[post.path] = SourceEntry(file_stat(path), sha256(path.read_bytes()), post)


def read_outcome(site_dir: Path, relative: str, path: Path, stat: tuple[int, int] | None, config: SiteConfig,
                 previous: BuildState) -> SourceEntry | BuildError:
    """The source's new entry (parsed again unless only its stat changed), or why it cannot be read."""
    known = previous.sources.get(relative)
    try:
        digest = sha256(path.read_bytes())
        post = known.post if known is not None and known.sha == digest else read_post(site_dir, path, config)
    except BuildError as error:
        return error
    return SourceEntry(stat, digest, post)


def select_posts(posts: list[Post], options: BuildOptions) -> list[Post]:
    """Drop unpublished posts and posts dated in the future unless asked for."""
    now = build_time()
    return [p for p in posts if (options.drafts or p.get("published", True) is not False)
            and (options.future or p.date <= now)]


def build_time() -> datetime:
    """Now, or SOURCE_DATE_EPOCH for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    return datetime.fromtimestamp(int(epoch), timezone.utc) if epoch else datetime.now(timezone.utc)


def posts_by_name(posts: list[Post]) -> dict[str, str]:
    return {Path(p.path).stem: p.url for p in posts}


def execution_options(post: Post, config: SiteConfig) -> ExecutionOptions:
    seed = post.get("seed", 0)
    return ExecutionOptions(seed=None if seed is False else int(seed),
                            timeout=int(post.get("timeout") or config.timeout),
                            post_timeout=int(config.post_timeout),
                            kernel=str(post.get("kernel") or "python3"))


def plan_posts(build: SiteBuild, posts: list[Post]):
    """Split posts into those whose outputs are at hand and those that must run.

    Returns (None, []) when a post cannot be planned and the build must stop.
    """
    options, reporter = build.options, build.reporter
    reporter.total = len(posts)
    ready, to_run = [], []
    for post in posts:
        plan = plan_post(post, build.config, options)
        if isinstance(plan, ExecutedPost):
            if runs_code(post) and options.execute:
                reporter.cached(post)
            ready.append(plan)
        elif isinstance(plan, BuildError):
            build.failed(post, plan)
            if not options.keep_going:
                return None, []
        else:
            to_run.append((post, plan))
    return ready, to_run


def plan_post(post: Post, config: SiteConfig, options: BuildOptions):
    """An ExecutedPost when nothing must run, a list of reasons to run, or a BuildError."""
    if not runs_code(post):
        return ExecutedPost(post, {}, {}, from_cache=True)
    try:
        record = load_record(options.source, post)
    except UnreadableRecord as unreadable:   # run the post again where it can run
        can_run = options.execute and not options.frozen and not needs_missing_gpu(post)
        return [f"record unreadable: {unreadable.reason}"] if can_run else unreadable
    if not options.execute:
        return executed_from_record(post, record) if record else ExecutedPost(post, {}, {}, from_cache=True)
    exec_options = execution_options(post, config)
    if options.frozen:
        reasons = stale_reasons(record, post, exec_options, options.source, check_packages=False)
        if reasons:
            return FreezeError(f"the frozen result is stale: {'; '.join(reasons)}",
                               f"{post.path} ({record_path(post)})",
                               "Run `make site` (or `python -m builder build`) with PyTorch installed, "
                               "then commit the _freeze/ and assets/img/ changes.")
        return executed_from_record(post, record)
    if needs_missing_gpu(post):
        return frozen_without_gpu(post, record, exec_options, options)
    if forced(post, options):
        return ["forced"]
    reasons = stale_reasons(record, post, exec_options, options.source)
    return reasons or executed_from_record(post, record)


def runs_code(post: Post) -> bool:
    """Whether the post has code to run (front matter `execute: false` shows it without running)."""
    return post.executes and post.get("execute", True) is not False


def needs_missing_gpu(post: Post) -> bool:
    return str(post.get("device") or "cpu").startswith("cuda") and not gpu_available()


def gpu_available() -> bool:
    """Whether an NVIDIA GPU is here, without importing torch (BUILDER_GPU=0/1 overrides)."""
    override = os.environ.get("BUILDER_GPU")
    if override in ("0", "1"):
        return override == "1"
    return Path("/dev/nvidiactl").exists() or shutil.which("nvidia-smi") is not None


def frozen_without_gpu(post: Post, record: dict | None, exec_options: ExecutionOptions,
                       options: BuildOptions) -> ExecutedPost | BuildError:
    """A GPU post on a machine without one: its frozen outputs, with a warning, or an error."""
    if record is None:
        return ExecutionError("the post needs a GPU (`device: cuda`), there is none here, and it has no "
                              "frozen result to show instead", f"{post.path}",
                              "Build it once on a machine with a GPU and commit _freeze/ and assets/img/.")
    reasons = stale_reasons(record, post, exec_options, options.source, check_packages=False)
    stale = f" (stale: {'; '.join(reasons)})" if reasons else ""
    warnings.warn(f"{post.path}: needs a GPU (`device: cuda`) and none is here; "
                  f"showing its frozen outputs{stale}")
    return executed_from_record(post, record)


def forced(post: Post, options: BuildOptions) -> bool:
    if options.force is True:
        return True
    return bool(options.force) and any(name in (post.path, Path(post.path).name, Path(post.path).stem)
                                       for name in options.force)


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
