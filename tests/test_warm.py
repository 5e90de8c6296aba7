"""Warm kernels: forked from a zygote that imported the heavy modules, yet each post starts fresh."""
from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest

from builder.core.config import load_config
from builder.core.errors import ExecutionError
from builder.execute.executor import ExecutionOptions, Progress, execute_post
from builder.execute.kernel_probe import kernel_env
from builder.source.reader import read_post
from builder.execute import warm
from builder.execute.warm import WarmPool, guess_codes, start_warm_pool, warm_modules
from conftest import gone, write

pytestmark = pytest.mark.kernel

SEEDED_NUMPY_RAND = "0.5488135039273248"   # np.random.seed(0); np.random.rand()
IN_ZYGOTE = 'print("zygote:", "zygote" in open(f"/proc/{os.getppid()}/cmdline").read())'

POSTS = {
    "2020-01-01-a.md": """
        ```python
        import os
        import numpy as np
        import matplotlib
        import matplotlib.pyplot as plt
        secret = 42
        matplotlib.rcParams["lines.linewidth"] = 9.0
        np.random.rand(3)
        np.my_leak = 1
        print("a done")
        ```
        """,
    "2020-01-02-b.md": """
        ```python
        import os
        import numpy as np
        import matplotlib
        import matplotlib.pyplot as plt
        print("leaks:", hasattr(np, "my_leak"), "secret" in globals(),
              matplotlib.rcParams["lines.linewidth"])
        print("random:", np.random.rand())
        {in_zygote}
        ```

        ```python
        print(open("data/points.csv").read().strip())
        ```

        ```python
        import sys
        print(__name__, sys.argv[0].rsplit("/", 1)[-1], sys.path, sys.modules["__main__"].__name__)
        ```
        """,
    "2020-01-03-timeout.md": """
        ---
        timeout: 2
        ---
        ```python
        import os, subprocess, time
        import numpy as np
        child = subprocess.Popen(["sleep", "60"])
        open(r"{pids}/timeout-kernel", "w").write(str(os.getpid()))
        open(r"{pids}/timeout-child", "w").write(str(child.pid))
        time.sleep(30)
        ```
        """,
    "2020-01-04-died.md": """
        ```python
        import os
        import numpy as np
        open(r"{pids}/died-kernel", "w").write(str(os.getpid()))
        ```

        ```python
        os._exit(1)
        ```
        """,
}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    base = tmp_path_factory.mktemp("warm")
    site, pids = base / "site", base / "pids"
    pids.mkdir()
    write(site / "_config.yml", "title: warm\n")
    write(site / "data" / "points.csv", "x,y\n1,2\n")
    for name, text in POSTS.items():
        write(site / "posts" / name, text.replace("{pids}", str(pids)).replace("{in_zygote}", IN_ZYGOTE))
    return site


def post(site: Path, name: str):
    return read_post(site, site / "posts" / name, load_config(site))


def code(site: Path, name: str) -> str:
    return "\n".join(cell.code for cell in post(site, name).cells if cell.evaluated)


def stream(run, number: int) -> str:
    return "".join(o.text for o in run.results[number].outputs if o.kind == "stream")


@pytest.fixture(scope="module")
def warm_runs(site):
    """Posts a then b, each in a kernel forked from one zygote; b's output streamed live."""
    notes, live = [], []
    progress = Progress(on_output=lambda p, text: live.append((p.path, time.monotonic(), text)))
    with start_warm_pool([code(site, n) for n in POSTS], log=notes.append) as pool:
        a = execute_post(post(site, "2020-01-01-a.md"), site, ExecutionOptions(), warm=pool)
        b = execute_post(post(site, "2020-01-02-b.md"), site, ExecutionOptions(), progress, warm=pool)
        finished = time.monotonic()
    return a, b, notes, live, finished


def test_warm_modules_are_the_heavy_imports_of_the_code():
    assert warm_modules("import numpy as np\nfrom torch import nn, optim\n"
                        "from matplotlib import pyplot as plt\nimport os, json\n") == \
        ["matplotlib", "matplotlib.pyplot", "numpy", "torch"]
    assert warm_modules("import matplotlib.pyplot as plt  # plots\n    import pandas") == \
        ["matplotlib", "matplotlib.pyplot", "pandas"]
    assert warm_modules("%matplotlib inline\nimport numpyish\nprint('import torch')") == []


def test_code_that_makes_an_optimizer_gets_the_modules_torch_imports_for_it():
    assert warm_modules("import torch\nopt = torch.optim.SGD(model.parameters(), lr=0.1)") == \
        ["torch", "torch._dynamo"]
    assert warm_modules("import torch.optim as optim\noptimizer = optim.Adam(params)") == \
        ["torch", "torch._dynamo"]
    assert warm_modules("import torch\nfrom torch.optim import SGD\n") == ["torch", "torch._dynamo"]
    assert warm_modules("import torch\nprint(torch.ones(2))  # no optim.SGD( here\n") == \
        ["torch", "torch._dynamo"]          # a guess: a wrong one costs only time
    assert warm_modules("import torch\nx = torch.ones(2)\n") == ["torch"]
    assert warm_modules("import numpy\nopt = optim.SGD(params)\n") == ["numpy"]


def test_a_module_that_sets_an_environment_variable_on_import_is_still_served_warm(tmp_path, monkeypatch):
    """torch._dynamo sets TORCHINDUCTOR_CACHE_DIR when imported: the zygote refused every kernel
    after it, since their environment no longer matched its own."""
    write(tmp_path / "lib" / "setsenv.py", 'import os\nos.environ.setdefault("TORCH_SET_BY_IMPORT", "yes")\n')
    monkeypatch.setenv("PYTHONPATH", str(tmp_path / "lib"))
    monkeypatch.setattr(warm, "WARMABLE", (*warm.WARMABLE, "setsenv"))
    site = tmp_path / "site"
    write(site / "_config.yml", "title: env\n")
    write(site / "posts/2020-01-01-env.md", f"""
        ```python
        import os
        import setsenv
        print(os.environ.get("TORCH_SET_BY_IMPORT"))
        {IN_ZYGOTE}
        ```
        """)
    with start_warm_pool([code(site, "2020-01-01-env.md")]) as pool:
        run = execute_post(post(site, "2020-01-01-env.md"), site, ExecutionOptions(), warm=pool)
    assert stream(run, 1) == "yes\nzygote: True\n"


def test_guessed_codes_give_the_same_modules_as_the_posts(site, tmp_path):
    guessed = [warm_modules(code) for code in guess_codes(site)]
    assert guessed == [warm_modules(code(site, name)) for name in sorted(POSTS)]
    write(tmp_path / "posts" / "2020-01-01-n.ipynb",
          '{"cells": [{"cell_type": "code", "source": ["import torch\\n"]}]}')
    write(tmp_path / "posts" / "2020-01-02-prose.md", "No code, only `import torch` in prose.\n")
    assert guess_codes(tmp_path) == ["import torch\n"]


def test_a_post_sees_nothing_of_the_post_before_it(warm_runs):
    a, b, notes, _, _ = warm_runs
    assert stream(a, 1) == "a done\n"
    assert stream(b, 1) == f"leaks: False False 1.5\nrandom: {SEEDED_NUMPY_RAND}\nzygote: True\n"
    assert notes == []


def test_the_audit_hook_records_reads_and_pre_imported_packages(warm_runs):
    _, b, _, _, _ = warm_runs
    assert stream(b, 2) == "x,y\n1,2\n"
    assert b.reads == ("data/points.csv",)
    assert {"numpy", "matplotlib", "pyparsing"} <= set(b.packages)


def test_stream_output_is_passed_on_as_it_arrives(warm_runs):
    _, _, _, live, finished = warm_runs
    texts = "".join(text for _, _, text in live)
    assert texts.startswith(f"leaks: False False 1.5\nrandom: {SEEDED_NUMPY_RAND}\nzygote: True\n"
                            "x,y\n1,2\n__main__ ipykernel_launcher.py")
    assert {path for path, _, _ in live} == {"posts/2020-01-02-b.md"}
    assert all(at < finished for _, at, _ in live)


def test_a_refusing_zygote_falls_back_to_a_cold_kernel_with_the_same_results(site, warm_runs):
    _, warm_b, _, _, _ = warm_runs
    env = dict(kernel_env(), PYTHONHASHSEED="1")      # differs from the kernels': refused
    with WarmPool(env) as pool:
        cold_b = execute_post(post(site, "2020-01-02-b.md"), site, ExecutionOptions(), warm=pool)
    assert stream(cold_b, 1) == stream(warm_b, 1).replace("zygote: True", "zygote: False")
    assert (cold_b.reads, cold_b.packages) == (warm_b.reads, warm_b.packages)
    assert stream(cold_b, 3) == stream(warm_b, 3)         # the same interpreter set-up
    assert stream(warm_b, 3).startswith("__main__ ipykernel_launcher.py [")


def test_a_dead_zygote_means_cold_kernels_said_once(site):
    notes = []
    pool = start_warm_pool(["import numpy"], log=notes.append)
    try:
        (_, zygote), = pool.zygotes.values()
        zygote.kill()
        zygote.wait()
        assert pool.kernel_manager("import numpy", "python3", None) is None
        assert pool.kernel_manager("import numpy", "python3", None) is None
        assert pool.kernel_manager("import os", "python3", None) is None
    finally:
        pool.close()
    assert notes == [f"warm kernels off (a zygote exited with status {-signal.SIGKILL}); "
                     "starting each kernel the usual way"]


def test_timeout_and_death_stop_the_forked_kernel_and_its_children(site):
    pids = site.parent / "pids"
    with start_warm_pool([code(site, "2020-01-03-timeout.md")]) as pool:
        started = time.monotonic()
        with pytest.raises(ExecutionError) as timeout:
            execute_post(post(site, "2020-01-03-timeout.md"), site, ExecutionOptions(timeout=2),
                         warm=pool)
        with pytest.raises(ExecutionError) as died:
            execute_post(post(site, "2020-01-04-died.md"), site, ExecutionOptions(), warm=pool)
        assert time.monotonic() - started < 20
        for name in ("timeout-kernel", "timeout-child", "died-kernel"):
            assert gone(int((pids / name).read_text())), name
    assert str(timeout.value) == ("posts/2020-01-03-timeout.md:4 (cell 1): the cell ran longer than "
                                  "its time limit (timeout: 2 s) and was stopped\n"
                                  "  Hint: Make the cell faster, or raise `timeout:` in the post's "
                                  "front matter.")
    assert str(died.value).startswith("posts/2020-01-04-died.md:7 (cell 2): the kernel died while "
                                      "running this cell")


def test_closing_the_pool_stops_its_zygotes():
    pool = start_warm_pool(["import os"])
    (_, zygote), = pool.zygotes.values()
    pool.close()
    assert zygote.poll() is not None and not pool.folder.exists()
    assert pool.kernel_manager("import os", "python3", None) is None


@pytest.mark.slow
def test_an_optimizer_post_reports_the_same_packages_warm_and_cold(tmp_path):
    """The zygote imports torch._dynamo for it; a cold kernel imports it at the first optimizer."""
    site = tmp_path / "site"
    write(site / "_config.yml", "title: optimizer\n")
    write(site / "posts/2020-01-01-sgd.md", f"""
        ```python
        import os
        import torch
        model = torch.nn.Linear(2, 1)
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        print("torch._dynamo" in __import__("sys").modules)
        {IN_ZYGOTE}
        ```
        """)
    sgd = post(site, "2020-01-01-sgd.md")
    with start_warm_pool([code(site, "2020-01-01-sgd.md")]) as pool:
        warm_run = execute_post(sgd, site, ExecutionOptions(), warm=pool)
    with WarmPool(dict(kernel_env(), PYTHONHASHSEED="1")) as refusing:
        cold_run = execute_post(sgd, site, ExecutionOptions(), warm=refusing)
    assert stream(warm_run, 1) == "True\nzygote: True\n"
    assert stream(cold_run, 1) == "True\nzygote: False\n"
    assert {"torch", "sympy"} <= set(warm_run.packages)
    assert (warm_run.packages, warm_run.reads) == (cold_run.packages, cold_run.reads)


def test_zygotes_for_sets_that_extend_others_are_forks_of_theirs():
    # smallest first, as the pool gives them; numpy and torch extends torch, the longer import
    assert warm.trees([("numpy",), ("torch",), ("numpy", "torch"), ("torch", "torch._dynamo")]) == [
        [(-1, ("numpy",))], [(-1, ("torch",)), (0, ("numpy", "torch")), (0, ("torch", "torch._dynamo"))]]
    assert warm.trees([(), ("numpy",), ("numpy", "pandas"), ("numpy", "scipy")]) == [
        [(-1, ()), (0, ("numpy",)), (1, ("numpy", "pandas")), (1, ("numpy", "scipy"))]]


def test_a_forked_zygote_serves_its_kernels_and_stops_with_the_pool(tmp_path):
    site = tmp_path / "site"
    write(site / "_config.yml", "title: nested\n")
    shown = 'print("zygote:", os.getppid(), "zygote" in open(f"/proc/{os.getppid()}/cmdline").read())'
    write(site / "posts/2020-01-01-numpy.md", f"```python\nimport os\nimport numpy\n{shown}\n```\n")
    write(site / "posts/2020-01-02-both.md", f"```python\nimport os\nimport numpy\nimport matplotlib\n{shown}\n```\n")
    names = ["2020-01-01-numpy.md", "2020-01-02-both.md"]
    with start_warm_pool([code(site, name) for name in names]) as pool:
        [root] = pool.zygote_pids()                    # one process started for both sets
        runs = [execute_post(post(site, name), site, ExecutionOptions(), warm=pool) for name in names]
    parents = []
    for run in runs:
        _, parent, forked = stream(run, 1).split()
        assert forked == "True"
        parents.append(int(parent))
    assert parents[0] == root and parents[1] != root
    assert gone(root) and gone(parents[1])
    assert "matplotlib" in runs[1].packages and "matplotlib" not in runs[0].packages
