"""`build --shard K/N`: every stale post in exactly one shard, balanced by recorded run time; the
shards write disjoint files and no site, and `build --frozen` on their merged records publishes."""
from __future__ import annotations

import shutil

import pytest
from conftest import tree_bytes, write

from builder.commands.cli import main
from builder.core.errors import ConfigError
from builder.site.schedule import Shard, parse_shard, partition


def test_partition_covers_every_post_once_and_packs_longest_first():
    names = [f"p{i:02}" for i in range(24)]
    seconds = [12.0, 12.0] + [1.0 + (i % 3) for i in range(22)]
    shards = partition(names, seconds, [False] * 24, Shard(1, 3))
    assert sorted(sum(shards, [])) == names
    loads = [sum(seconds[names.index(name)] for name in shard) for shard in shards]
    assert sorted(loads) == [22.0, 22.0, 23.0]                 # total 67: no split does better
    assert shards[0][:1] == ["p00"] and shards[1][:1] == ["p01"]


def test_gpu_posts_go_only_to_the_gpu_shards():
    names, seconds, gpu = ["cpu-a", "cpu-b", "gpu-a", "gpu-b"], [5.0, 5.0, 1.0, 1.0], [False, False, True, True]
    shards = partition(names, seconds, gpu, parse_shard("1/3", "3"))
    assert shards[2] == ["gpu-a", "gpu-b"]
    assert sorted(shards[0] + shards[1]) == ["cpu-a", "cpu-b"]


def test_a_bad_shard_is_a_usage_error():
    with pytest.raises(ConfigError, match=r"--shard '3/2' is not K/N with 1 <= K <= N"):
        parse_shard("3/2")
    with pytest.raises(ConfigError, match=r"--gpu-shards '4' names a shard outside 1..2"):
        parse_shard("1/2", "4")
    assert str(parse_shard(" 2 / 4 ", "1,2")) == "2/4"


def test_shard_with_frozen_exits_2(tmp_path, capsys):
    write(tmp_path / "posts/2024-01-01-a.md", "---\ntitle: a\n---\nText.\n")
    assert main(["build", "--source", str(tmp_path), "--shard", "1/2", "--frozen"]) == 2
    assert "--shard runs posts, so it cannot go with --frozen or --no-execute" in capsys.readouterr().err


@pytest.mark.kernel
def test_two_shards_write_disjoint_records_and_their_merge_builds_frozen(tmp_path):
    site = tmp_path / "site"
    for name in "abc":
        write(site / f"posts/2024-01-0{'abc'.index(name) + 1}-{name}.md",
              f"---\ntitle: {name}\n---\n```python\nprint('{name}' * 2)\n```\n")
    shards = [tmp_path / "shard1", tmp_path / "shard2"]
    written = []
    for index, shard in enumerate(shards, 1):
        shutil.copytree(site, shard)
        assert main(["build", "--source", str(shard), "-j", "1", "--shard", f"{index}/2"]) == 0
        assert not (shard / "_site").exists()
        written.append(set(tree_bytes(shard / "_freeze")))
    assert written[0] and written[1] and not written[0] & written[1]
    assert sorted(written[0] | written[1]) == [f"posts/2024-01-0{i}-{n}.json" for i, n in ((1, "a"), (2, "b"), (3, "c"))]
    for shard in shards:
        shutil.copytree(shard / "_freeze", site / "_freeze", dirs_exist_ok=True)
    assert main(["build", "--source", str(site), "--frozen"]) == 0
    assert "aa" in (site / "_site/2024/01/01/a.html").read_text()
