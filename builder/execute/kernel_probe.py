"""Code run inside each post's kernel, before and after the post's own cells.

It seeds the random generators, forbids changes to the site folder (writes, deletes, renames),
and records which site files the post read and which packages it imported: the inputs of the
cache key.
"""
from __future__ import annotations

import os
import re

KERNEL_BACKEND = "module://matplotlib_inline.backend_inline"

SETUP = r'''
def _builder_setup(seed, site_root, seed_numpy, seed_torch):
    import os, sys, types, random
    probe = types.ModuleType("_builder_probe")
    probe.reads = set()
    # A warm kernel's zygote imported some modules before the post started; they count as
    # the post's own imports, as they would in a kernel started cold.
    warm = sys.modules.pop("_builder_warm", None)
    probe.modules_before = set(sys.modules) - set(getattr(warm, "imported", ()))
    root = os.path.realpath(site_root) + os.sep
    skipped = tuple(p + os.sep for p in {sys.prefix, sys.base_prefix, sys.exec_prefix})
    write_flags = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

    # Events that change the file system, and which arguments name what they change.
    changes = {"os.remove": (0,), "os.rmdir": (0,), "os.mkdir": (0,), "os.rename": (0, 1),
               "os.link": (1,), "os.symlink": (1,), "os.truncate": (0,), "os.chmod": (0,),
               "os.chown": (0,), "os.utime": (0,), "shutil.rmtree": (0,),
               "shutil.copyfile": (1,), "shutil.copytree": (1,), "shutil.move": (0, 1)}

    def inside(path):
        """The real path of `path` relative to the site, or None when it is elsewhere."""
        if not isinstance(path, (str, bytes, os.PathLike)):
            return None
        path = os.path.abspath(os.fsdecode(path))
        # the entry itself, not what a symlink points to: removing a link changes only the link
        real = os.path.join(os.path.realpath(os.path.dirname(path)), os.path.basename(path))
        for candidate in {real, os.path.realpath(path)}:
            if (candidate + os.sep).startswith(root):
                return candidate
        return None

    def refuse(real):
        raise PermissionError(f"a post may not write into the site folder ({real}); "
                              "write to the current directory, which is a scratch folder")

    def audit(event, args):
        if event in changes:
            for index in changes[event]:
                real = inside(args[index]) if index < len(args) else None
                if real is not None:
                    refuse(real)
            return
        if event != "open" or not isinstance(args[0], (str, bytes, os.PathLike)):
            return
        real = os.path.realpath(os.fsdecode(args[0]))
        if not real.startswith(root):
            return
        mode, flags = args[1], args[2] or 0
        if (isinstance(mode, str) and set(mode) & set("wax+")) or flags & write_flags:
            refuse(real)
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
    import json, sys
    probe = sys.modules["_builder_probe"]
    # Only names: the builder maps them to distributions and versions while the kernel runs.
    modules = sorted({name.split(".")[0] for name in set(sys.modules) - probe.modules_before})
    device = "cpu"
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        device = "cuda: " + torch.cuda.get_device_name(0)
    report = {"reads": sorted(probe.reads), "modules": modules, "device": device,
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


def kernel_env() -> dict[str, str]:
    """The environment of every kernel (and of the warm zygotes that fork kernels)."""
    return dict(os.environ, PYTHONHASHSEED="0", MPLBACKEND=KERNEL_BACKEND)


def imports_module(code: str, module: str) -> bool:
    return re.search(rf"^\s*(?:import|from)\s+{module}\b", code, re.MULTILINE) is not None
