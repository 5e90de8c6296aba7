"""Code run inside each post's kernel, before and after the post's own cells.

It seeds the random generators, forbids writes into the site folder, and records which
site files the post read and which packages it imported: the inputs of the cache key.
"""
from __future__ import annotations

import re

SETUP = r'''
def _builder_setup(seed, site_root, seed_numpy, seed_torch):
    import os, sys, types, random
    probe = types.ModuleType("_builder_probe")
    probe.reads = set()
    probe.modules_before = set(sys.modules)
    root = os.path.realpath(site_root) + os.sep
    skipped = tuple(p + os.sep for p in {sys.prefix, sys.base_prefix, sys.exec_prefix})
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

    def audit(event, args):
        if event != "open" or not isinstance(args[0], (str, bytes, os.PathLike)):
            return
        real = os.path.realpath(os.fsdecode(args[0]))
        if not real.startswith(root):
            return
        mode, flags = args[1], args[2] or 0
        if (isinstance(mode, str) and set(mode) & set("wax+")) or flags & write_flags:
            raise PermissionError(f"a post may not write into the site folder ({real}); "
                                  "write to the current directory, which is a scratch folder")
        if not real.startswith(skipped) and "/." not in real[len(root) - 1:] \
                and "__pycache__" not in real:
            probe.reads.add(real[len(root):])

    sys.addaudithook(audit)
    sys.modules["_builder_probe"] = probe
    if seed is not None:
        random.seed(seed)
        if seed_numpy:
            import numpy
            numpy.random.seed(seed)
        if seed_torch:
            import torch
            torch.manual_seed(seed)

'''

REPORT = r'''
def _builder_report():
    import json, sys, importlib.metadata as metadata
    probe = sys.modules["_builder_probe"]
    names = {name.split(".")[0] for name in set(sys.modules) - probe.modules_before}
    owners = metadata.packages_distributions()
    packages = {}
    for name in names:
        for dist in owners.get(name, ()):
            try:
                packages[dist.lower()] = metadata.version(dist)
            except metadata.PackageNotFoundError:
                pass
    device = "cpu"
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        device = "cuda: " + torch.cuda.get_device_name(0)
    report = {"reads": sorted(probe.reads), "packages": packages, "device": device,
              "python": sys.version.split()[0]}
    print(json.dumps(report, sort_keys=True))

_builder_report()
del _builder_report
'''


def setup_code(seed: int | None, site_root: str, code: str) -> str:
    """The hidden first cell of a post's notebook."""
    call = (f"_builder_setup({seed!r}, {site_root!r}, {imports_module(code, 'numpy')!r}, "
            f"{imports_module(code, 'torch')!r})\ndel _builder_setup\n")
    return SETUP + call


def imports_module(code: str, module: str) -> bool:
    return re.search(rf"^\s*(?:import|from)\s+{module}\b", code, re.MULTILINE) is not None
