"""Kernels that fail to start, or whose connection breaks, told as errors a user can act on."""
from __future__ import annotations

from builder.core.patches import forget_failed_kernel
from builder.core.errors import ExecutionError, Location
from builder.core.model import Post


def forget_kernel(client) -> None:
    """Stop a kernel that failed while starting; nbclient would try again at exit, and fail."""
    forget_failed_kernel(client)


def kernel_error(post: Post, kernel: str, error: Exception, started: bool) -> ExecutionError:
    """An ExecutionError for a kernel that would not start, or whose connection failed."""
    from jupyter_client.kernelspec import NoSuchKernel
    where = Location(post.path)
    if isinstance(error, NoSuchKernel):
        return ExecutionError(f"no Jupyter kernel is named `{kernel}` (front matter `kernel:`)", where,
                              f"Installed kernels: {installed_kernels()}. Use one of them, or install "
                              "the kernel; `jupyter kernelspec list` shows them.")
    reason = f"{type(error).__name__}: {error}" if str(error) else type(error).__name__
    if started:
        return ExecutionError(f"the connection to the kernel `{kernel}` failed ({reason})", where,
                              "Rebuild; if it happens again, run the post's code as a script.")
    return ExecutionError(
        f"the kernel `{kernel}` could not start ({reason})", where,
        "Check that the kernel's Python has ipykernel (`python -m pip install ipykernel`) and "
        "that `jupyter kernelspec list` shows the kernel; then rebuild.")


def installed_kernels() -> str:
    """The names of the installed kernels, for a hint."""
    try:
        from jupyter_client.kernelspec import KernelSpecManager
        names = sorted(KernelSpecManager().find_kernel_specs())
    except Exception:  # noqa: BLE001 - only for the hint
        names = []
    return ", ".join(names) or "none"
