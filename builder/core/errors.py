"""The small vocabulary of errors the builder reports to authors."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Location:
    """Where a problem is: a file, optionally a line and a code cell."""

    path: str
    line: int | None = None
    cell: int | None = None

    def __str__(self) -> str:
        text = self.path if self.line is None else f"{self.path}:{self.line}"
        return text if self.cell is None else f"{text} (cell {self.cell})"


class BuildError(Exception):
    """A problem the author can fix: what is wrong, where, and what to do."""

    exit_code = 1

    def __init__(self, message: str, where: Location | str | None = None, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def __reduce__(self):
        # Rendered in worker processes, errors travel back pickled with all their parts.
        return self.__class__, (self.message, self.where, self.hint)

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}" if self.where else self.message
        return f"{text}\n  Hint: {self.hint}" if self.hint else text


class SourceError(BuildError):
    """A post, page or data file that cannot be read as written."""


class TemplateError(BuildError):
    """A layout or include that is missing or broken."""


class ExecutionError(BuildError):
    """A post's code failed, hung or crashed its kernel."""


class FreezeError(BuildError):
    """A frozen result that is missing or no longer matches its post."""


class ContainmentError(BuildError):
    """A path that would write outside the output folder."""


class ConfigError(BuildError):
    """Bad `_config.yml` or bad command-line usage."""

    exit_code = 2


class SourceErrors(SourceError):
    """Several source problems, reported in one go."""

    def __init__(self, problems: list[BuildError]):
        super().__init__("\n\n".join(text_without_repeated_hint(problems, i) for i in range(len(problems))))
        self.problems = problems

    def __str__(self) -> str:
        return self.message

    def __reduce__(self):
        return self.__class__, (self.problems,)


def text_without_repeated_hint(problems: list[BuildError], index: int) -> str:
    """The problem's text; its hint only when the problem before it had a different one."""
    problem = problems[index]
    if index and problem.hint and problems[index - 1].hint == problem.hint:
        return str(BuildError(problem.message, problem.where))
    return str(problem)


def problems_of(error: BuildError) -> list[BuildError]:
    """The single problems an error stands for: several for SourceErrors, else the error itself."""
    return list(error.problems) if isinstance(error, SourceErrors) else [error]


def in_file_order(problems: list[BuildError]) -> BuildError:
    """One error for one or more problems, listed file by file, by line (a problem without a line first)."""
    flat = [single for problem in problems for single in problems_of(problem)]
    files: dict[str, int] = {}
    for problem in flat:
        files.setdefault(file_of(problem), len(files))
    ordered = sorted(flat, key=lambda problem: (files[file_of(problem)], line_of(problem)))
    return ordered[0] if len(ordered) == 1 else SourceErrors(ordered)


def file_of(problem: BuildError) -> str:
    where = problem.where
    return where.path if isinstance(where, Location) else str(where or "")


def line_of(problem: BuildError) -> int:
    where = problem.where
    return (where.line or 0) if isinstance(where, Location) else 0
