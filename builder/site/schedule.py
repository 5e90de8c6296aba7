"""Which posts start first, and which CI shard runs which: both by the run times in freeze records.

Posts start longest-first, so that the makespan approaches max(longest post, total / workers)
instead of leaving one long post to start last. `--shard K/N` packs the posts greedily, longest
first into the least-loaded shard; `device: cuda` posts go only to the shards that have a GPU.
"""
from __future__ import annotations

import re
import statistics
from dataclasses import dataclass
from typing import Sequence, TypeVar

from builder.core.errors import ConfigError

DEFAULT_SECONDS = 30.0     # a post never run before, on a site with no recorded run times

Job = TypeVar("Job")


def recorded_seconds(record: object) -> float | None:
    """The run time a freeze record holds, if any."""
    provenance = record.get("provenance") if isinstance(record, dict) else getattr(record, "provenance", None)
    seconds = (provenance.get("run_seconds") if isinstance(provenance, dict)
               else getattr(provenance, "run_seconds", None))
    return float(seconds) if isinstance(seconds, (int, float)) and seconds >= 0 else None


def fill_unknown(known: Sequence[float | None]) -> list[float]:
    """Each duration, an unknown one replaced by the median of the known ones (or a default)."""
    measured = [seconds for seconds in known if seconds is not None]
    default = statistics.median(measured) if measured else DEFAULT_SECONDS
    return [default if seconds is None else seconds for seconds in known]


def longest_first(jobs: Sequence[Job], seconds: Sequence[float], names: Sequence[str]) -> list[Job]:
    """The jobs, longest expected first; ties in name order so that the order is stable."""
    order = sorted(range(len(jobs)), key=lambda i: (-seconds[i], names[i]))
    return [jobs[i] for i in order]


@dataclass(frozen=True)
class Shard:
    """`--shard K/N`: this is shard `index` (1-based) of `count`; `gpu` lists the shards with a GPU."""

    index: int
    count: int
    gpu: frozenset[int] = frozenset()

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str, gpu_shards: str = "") -> Shard:
    """`K/N` (and `--gpu-shards 1,3`) as a Shard, or a usage error saying what is expected."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise ConfigError(f"--shard {text!r} is not K/N with 1 <= K <= N", "--shard",
                          "Pass e.g. `--shard 2/4` for the second of four shards.")
    count = int(match[2])
    gpu = {int(part) for part in gpu_shards.replace(" ", "").split(",") if part}
    if any(not 1 <= index <= count for index in gpu):
        raise ConfigError(f"--gpu-shards {gpu_shards!r} names a shard outside 1..{count}", "--gpu-shards",
                          "List shard numbers between 1 and N, separated by commas.")
    return Shard(int(match[1]), count, frozenset(gpu))


def partition(names: Sequence[str], seconds: Sequence[float], gpu: Sequence[bool],
              shard: Shard) -> list[list[str]]:
    """Every name in exactly one shard's list: longest first into the least-loaded allowed shard.

    A GPU post goes to the least-loaded GPU shard; when no shard has a GPU it goes to the
    least-loaded shard (which shows its frozen outputs or fails, as a local build would).
    """
    shards: list[list[str]] = [[] for _ in range(shard.count)]
    loads = [0.0] * shard.count
    gpu_shards = sorted(index - 1 for index in shard.gpu)
    for i in sorted(range(len(names)), key=lambda i: (-seconds[i], names[i])):
        allowed = gpu_shards if gpu[i] and gpu_shards else range(shard.count)
        target = min(allowed, key=lambda s: (loads[s], s))
        shards[target].append(names[i])
        loads[target] += seconds[i]
    return shards
