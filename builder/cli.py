"""Command line: `python -m builder build|check|clean`."""
from __future__ import annotations

import argparse
import os
import shutil
import sys
import warnings
from pathlib import Path

from builder.build import BuildOptions, build_site
from builder.errors import BuildError, ConfigError


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m builder",
                                   description="Build executed static sites from Markdown posts with Python code.")
    commands = main.add_subparsers(dest="command", required=True)
    build = commands.add_parser("build", help="execute what changed and write the site")
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
    clean = commands.add_parser("clean", help="delete the output folder")
    add_site_arguments(clean)
    return main


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


def run_build(args: argparse.Namespace) -> int:
    check_source(args.source)
    force = force_option(args.force)
    options = BuildOptions(source=args.source, dest=args.dest, jobs=args.jobs, frozen=args.frozen,
                           force=force, keep_going=args.keep_going, drafts=args.drafts,
                           future=args.future, execute=not args.no_execute, verbose=args.verbose)
    return build_site(options).exit_code


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


COMMANDS = {"build": run_build, "clean": run_clean}
