"""Command line: `python -m builder build|check|new|import|serve|publish|clean`."""
from __future__ import annotations

import argparse
import io
import os
import re
import shutil
import sys
import tempfile
import warnings
from datetime import date
from pathlib import Path

from builder.core import interrupts
from builder.core.children import kill_descendants
from builder.core.errors import BuildError, ConfigError
from builder.core.interrupts import Interrupted
from builder.core.patches import run_exit_handlers
from builder.site.lock import build_lock


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m builder",
                                   description="Build executed static sites from Markdown posts with Python code.")
    commands = main.add_subparsers(dest="command", required=True)
    add_build_arguments(commands.add_parser("build", help="execute what changed and write the site"))
    add_other_commands(commands)
    return main


def add_build_arguments(build: argparse.ArgumentParser) -> None:
    add_site_arguments(build)
    build.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1,
                       help="posts executed at once (default: number of cores)")
    build.add_argument("--frozen", action="store_true",
                       help="render only from the committed freeze records; start no kernel")
    build.add_argument("--force", nargs="?", const=True, action="append", metavar="POST",
                       help="re-run every post, or POST (file name, stem or path); repeatable")
    build.add_argument("--keep-going", action="store_true",
                       help="build every post that can be built, then report all failures")
    build.add_argument("--drafts", action="store_true", help="include posts with `published: false`")
    build.add_argument("--future", action="store_true", help="include posts dated in the future")
    build.add_argument("--no-execute", action="store_true", help="render code without running it")
    build.add_argument("-v", "--verbose", action="store_true", help="stream each post's output live")
    build.add_argument("--cluster", metavar="ADDRESS", default=None,
                       help="run the posts that must run on a Ray cluster: ray://HOST:PORT or auto "
                            "(default: `cluster:` in _config.yml; needs `pip install .[cluster]`)")
    build.add_argument("--shard", metavar="K/N", default=None,
                       help="CI shard K of N: run only this shard's stale posts (packed by recorded "
                            "run time) and write their freeze records and figures, not the site")
    build.add_argument("--gpu-shards", metavar="LIST", default=os.environ.get("BUILDER_GPU_SHARDS", ""),
                       help="with --shard: the shards that have a GPU, e.g. 1,2 (default: "
                            "$BUILDER_GPU_SHARDS); `device: cuda` posts go only to them")


def add_other_commands(commands) -> None:
    clean = commands.add_parser("clean", help="delete the output folder")
    add_site_arguments(clean)
    check = commands.add_parser("check", help="validate posts, templates and links without executing")
    add_site_arguments(check)
    new = commands.add_parser("new", help="create posts/<today>-<slug>.md with a starter cell")
    new.add_argument("title", help="the post's title")
    new.add_argument("--source", type=Path, default=Path("."), help="the site folder (default: .)")
    imported = commands.add_parser("import", help="make a post from a notebook or a legacy Jekyll post")
    imported.add_argument("file", type=Path, help="an .ipynb notebook, a sphinx-gallery or percent "
                                                    ".py script, or a Jekyll .md post")
    imported.add_argument("--date", type=date.fromisoformat, default=None,
                          help="the post's date, YYYY-MM-DD (default: the notebook's metadata, else today)")
    imported.add_argument("--source", type=Path, default=Path("."), help="the site folder (default: .)")
    serve = commands.add_parser("serve", help="build, serve on 127.0.0.1 and rebuild on changes")
    add_site_arguments(serve)
    serve.add_argument("--port", type=int, default=4000, help="port to serve on (default: 4000)")
    serve.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, help="posts executed at once")
    publish_ = commands.add_parser("publish", help="push the built site to a gh-pages branch")
    add_site_arguments(publish_)
    publish_.add_argument("--remote", default="origin", help="git remote or URL (default: origin)")
    publish_.add_argument("--branch", default="gh-pages", help="branch to push (default: gh-pages)")


def add_site_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--source", type=Path, default=Path("."), help="the site folder (default: .)")
    command.add_argument("--dest", type=Path, default=None, help="output folder (default: SOURCE/_site)")


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
    except SystemExit as exit_:
        return 2 if exit_.code else 0
    warnings.formatwarning = lambda message, *_: f"warning: {message}\n"
    try:
        return COMMANDS[args.command](args)
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return error.exit_code
    except Interrupted as stop:
        print(stop, file=sys.stderr)
        return stop.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


def build_command(args: argparse.Namespace) -> int:
    check_source(args.source)
    interrupts.install()
    with build_lock(args.source):
        return locked_build(args)


def locked_build(args: argparse.Namespace) -> int:
    """The build itself, once this process holds the site folder's lock."""
    force, shard = force_option(args.force), shard_option(args)
    # a shard's posts are known only once planned: its kernels warm up then; a cluster's
    # workers keep their own
    runs_here = not (args.frozen or args.no_execute or shard or args.cluster or configured_cluster(args.source))
    warm = early_warm_pool(args.source, force) if runs_here else None
    from builder.site.build import BuildOptions, build_site     # imported while the kernels warm up
    options = BuildOptions(source=args.source, dest=args.dest, jobs=args.jobs, frozen=args.frozen,
                           force=force, keep_going=args.keep_going, drafts=args.drafts,
                           future=args.future, execute=not args.no_execute, verbose=args.verbose,
                           cluster=args.cluster, shard=shard)
    try:
        return build_site(options, warm=warm).exit_code
    finally:
        if warm is not None:
            warm.close()


def configured_cluster(source: Path) -> bool:
    """Whether `_config.yml` names a cluster for the posts, read roughly (as early_warm_pool reads
    the posts, before the configuration is checked): a wrong answer costs only time."""
    try:
        text = (source / "_config.yml").read_text(encoding="utf-8")
    except (OSError, UnicodeError):
        return False
    return re.search(r"^cluster:[ \t]*[^\s#]", text, re.MULTILINE) is not None


def early_warm_pool(source: Path, force: bool | tuple[str, ...]):
    """Start importing the heavy modules of posts that will probably run, before anything else.

    A post will probably run when it is forced or newer than its freeze record; a wrong guess
    costs only the warm-up, since the build checks exactly what must run.
    """
    from builder.execute.warm import guess_codes, start_warm_pool

    def likely(path: Path) -> bool:
        record = source / "_freeze" / "posts" / (path.stem + ".json")
        return bool(force) or not record.is_file() or record.stat().st_mtime_ns < path.stat().st_mtime_ns

    codes = guess_codes(source, likely)
    return start_warm_pool(codes) if codes else None


def shard_option(args: argparse.Namespace):
    """`--shard K/N` (with `--gpu-shards`) as a Shard, None without it; a usage error if misused."""
    if args.shard is None:
        return None
    if args.frozen or args.no_execute:
        raise ConfigError("--shard runs posts, so it cannot go with --frozen or --no-execute", "--shard",
                          "Run the shards with `build --shard K/N`, then merge with `build --frozen`.")
    from builder.site.schedule import parse_shard
    return parse_shard(args.shard, args.gpu_shards)


def force_option(values: list | None) -> bool | tuple[str, ...]:
    if not values:
        return False
    if True in values:
        return True
    return tuple(values)


def run_clean(args: argparse.Namespace) -> int:
    check_source(args.source)
    shutil.rmtree(args.dest or args.source / "_site", ignore_errors=True)
    return 0


def check_source(source: Path) -> None:
    if not (source / "posts").is_dir():
        raise ConfigError(f"{source} has no posts/ folder", str(source),
                          "Pass --source pointing at a site folder that contains posts/.")


COMMANDS = {"build": build_command, "clean": run_clean}


def run_check(args: argparse.Namespace) -> int:
    """Read and render everything without executing; list every problem."""
    from builder.site.build import BuildOptions, build_site
    from builder.core.config import load_config
    from builder.source.links import broken_links
    from builder.site.incremental import forget_state
    from builder.site.progress import Reporter
    check_source(args.source)
    with tempfile.TemporaryDirectory(prefix="builder-check-") as scratch:
        options = BuildOptions(source=args.source, dest=Path(scratch) / "site", execute=False,
                               keep_going=True, drafts=True, future=True)
        try:
            result = build_site(options, Reporter(io.StringIO()))
        except BuildError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        finally:
            forget_state(args.source, options.dest)     # its site goes too: keep no cache for it
        links = broken_links(Path(scratch) / "site", load_config(args.source).base, result.failed_pages)
        problems = result.failures + links
    for problem in problems:
        print(f"error: {problem}\n", file=sys.stderr)
    print(f"check: {len(problems)} problem(s)", file=sys.stderr)
    return 1 if problems else 0


def run_new(args: argparse.Namespace) -> int:
    from builder.source.scaffold import new_post
    path = new_post(args.source, args.title, date.today())
    print(path.relative_to(args.source).as_posix())
    return 0


def run_import(args: argparse.Namespace) -> int:
    from builder.source.scaffold import import_jekyll_post, import_notebook
    if args.file.suffix == ".ipynb":
        path, changes = import_notebook(args.file, args.source, date.today(), args.date)
    elif args.file.suffix == ".py":
        from builder.source.gallery import import_script
        path, changes = import_script(args.file, args.source, args.date or date.today())
    else:
        path, changes = import_jekyll_post(args.file, args.source)
    print(f"created {path.relative_to(args.source).as_posix()}")
    for change in changes:
        print(f"  - {change}")
    return 0


def run_serve(args: argparse.Namespace) -> int:
    from builder.site.build import BuildOptions
    from builder.commands.serve import serve
    check_source(args.source)
    options = BuildOptions(source=args.source, dest=args.dest, jobs=args.jobs)
    return serve(options, port=args.port)


COMMANDS.update(check=run_check, new=run_new, serve=run_serve)
COMMANDS["import"] = run_import


def run_publish(args: argparse.Namespace) -> int:
    from builder.core.config import load_config
    from builder.commands.publish import publish
    site = args.dest or args.source / "_site"
    commit = publish(site, args.remote, args.branch, str(load_config(args.source).values.get("cname") or ""))
    print(f"published {site} to {args.remote} {args.branch} at {commit[:12]}")
    return 0


COMMANDS["publish"] = run_publish


def console_main() -> None:
    """Run the command line and leave at once: no process of ours outlives it, no slow teardown."""
    code = main()
    # Whatever the build ended with, no process of ours outlives it (normally there is none left).
    kill_descendants()
    # Everything is written and every process and file closed by now. Tearing down the modules a
    # build loads (jupyter_client, zmq, tornado, ...) would add some 70 ms to every run; the exit
    # handlers run with a bound, since one waiting on a killed kernel must not hold the exit.
    if not run_exit_handlers(bound=2.0):
        sys.exit(code)      # the patch is off: the interpreter's usual (slower) exit
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
