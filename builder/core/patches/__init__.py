"""Every place where the builder reaches into another library's private parts, in one package.

Each patch is written against the exact versions named in PATCHES. On any other version it is
off: one line on stderr says so (once per process), and the builder takes the library's own,
slower, path, which gives the same result. The stage that needs a patch calls its function here
(Python-Markdown's are in `markdown.py` beside this file, re-exported here); the patched libraries
are imported only inside those functions, so importing this costs nothing.
"""
from __future__ import annotations

import sys
import threading
import time
from typing import Callable

# Patch name -> (the distribution it reaches into, the versions it was written and tested for).
PATCHES: dict[str, tuple[str, tuple[str, ...]]] = {
    # Python-Markdown: skip inline patterns and block processors that cannot apply.
    "markdown-inline-triggers": ("Markdown", ("3.11.3",)),
    "markdown-block-triggers": ("Markdown", ("3.11.3",)),
    "markdown-run-triggers": ("Markdown", ("3.11.3",)),
    # Python-Markdown: an inline pattern's regular expression is only searched with finditer(text, start).
    "markdown-pattern-search": ("Markdown", ("3.11.3",)),
    # Python-Markdown: its whitespace normalizing, with the blank-line rule searched from each newline.
    "markdown-normalize-whitespace": ("Markdown", ("3.11.3",)),
    # Python-Markdown: Markdown.is_block_level looks its tag up in a list; the list answers from a set.
    "markdown-block-level-set": ("Markdown", ("3.11.3",)),
    # jupyter_client: a kernel is ready without a fixed 0.2 s drain; its death is polled every 5 ms.
    "jupyter-ready": ("jupyter_client", ("8.10.0",)),
    "jupyter-reap-poll": ("jupyter_client", ("8.10.0",)),
    # nbclient: a kernel that failed to start is stopped now, not retried (and failing) at exit.
    "nbclient-forget-kernel": ("nbclient", ("0.11.0",)),
    # Pygments: a RegexLexer's processed rules, read to ask only those that can match (render/python_lexer.py).
    "pygments-lexer-rules": ("Pygments", ("2.21.0",)),
    # CPython's regular-expression parser and compiler: the characters a match can start with.
    "python-sre": ("python", ("3.11",)),
    # CPython's atexit: run the exit handlers, then leave without tearing the modules down.
    "atexit-run-handlers": ("python", ("3.11",)),
}

_decided: dict[str, bool] = {}     # patch name -> on; looking a version up takes a millisecond
_lock = threading.Lock()


def library_version(distribution: str) -> str | None:
    """The installed version of `distribution` ("python": the interpreter's major.minor)."""
    if distribution == "python":
        return f"{sys.version_info.major}.{sys.version_info.minor}"
    from importlib import metadata      # here: importing it costs a no-op build 3% of its time
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return None


def enabled(name: str) -> bool:
    """Whether patch `name` applies to the installed library; says once on stderr when it does not."""
    with _lock:
        if name in _decided:
            return _decided[name]
        distribution, versions = PATCHES[name]
        found = library_version(distribution)
        _decided[name] = found in versions
    if found not in versions:
        print(f"notice: patch {name} is off: it was written for {distribution} {' or '.join(versions)}, "
              f"not {found}; results are the same, only slower", file=sys.stderr)
    return found in versions


# --------------------------------------------------------------------------- Pygments

def regex_lexer_rules(lexer) -> dict | None:
    """A RegexLexer's processed rules (state -> [(compiled match, action, new state)]), or None when off."""
    return lexer._tokens if enabled("pygments-lexer-rules") else None


def sre_modules():
    """CPython's regular-expression parser, compiler and opcodes (re._parser, re._compiler,
    re._constants), or None when off."""
    if not enabled("python-sre"):
        return None
    from re import _compiler, _constants, _parser
    return _parser, _compiler, _constants


# --------------------------------------------------------------------------- jupyter_client

# nbclient connects the client's sockets as soon as the kernel process starts, before the kernel
# has bound its ports; ZMQ tries a refused connection again only after RECONNECT_IVL, 100 ms by
# default, which every post then waited. Retry sooner, backing off to the default.
RECONNECT_MS, RECONNECT_MAX_MS = 5, 100


def quicken_kernel_manager(km) -> None:
    """Make `km`'s clients ready sooner and its killed kernel reaped sooner, where the patches apply."""
    make_client, ready_patch = km.client, enabled("jupyter-ready")

    def client(**kwargs):
        import zmq
        kc = make_client(**kwargs)
        kc.context.setsockopt(zmq.RECONNECT_IVL, RECONNECT_MS)      # defaults for its sockets
        kc.context.setsockopt(zmq.RECONNECT_IVL_MAX, RECONNECT_MAX_MS)
        if ready_patch:
            kc.wait_for_ready = lambda timeout=None: wait_for_ready(kc, timeout)
        return kc

    km.client = client
    if enabled("jupyter-reap-poll"):
        poll_until_dead = km._async_wait
        # After its SIGKILL, jupyter_client checks every 0.1 s whether the kernel is gone; it is
        # gone within a millisecond, so check every 5 ms (0.1 s saved per post).
        km._async_wait = lambda pollinterval=0.1: poll_until_dead(pollinterval=0.005)


async def wait_for_ready(kc, timeout: float | None) -> None:
    """jupyter_client's wait_for_ready without its fixed 0.2 s IOPub drain: ready once a
    kernel_info request has its reply and IOPub has delivered a message (so it is subscribed
    and no output can be lost). nbclient skips the other requests' replies and IOPub messages."""
    deadline = time.monotonic() + (timeout or float("inf"))
    sent = {kc.kernel_info()}
    reply = None
    while True:
        if reply is None:
            reply = await next_message(kc.shell_channel, 1.0, lambda msg: msg["parent_header"].get(
                "msg_id") in sent and msg["msg_type"] == "kernel_info_reply")
        if reply is not None and await next_message(kc.iopub_channel, 0.2, lambda msg: True):
            kc._handle_kernel_info_reply(reply)
            return
        if not await kc.is_alive():
            raise RuntimeError("Kernel died before replying to kernel_info")
        if time.monotonic() > deadline:
            raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")
        sent.add(kc.kernel_info())     # no reply yet, or IOPub not subscribed yet: its status
                                       # messages for this request will show when it is


async def next_message(channel, wait: float, wanted: Callable[[dict], bool]) -> dict | None:
    """The next message on `channel` that is `wanted`, or None after `wait` seconds."""
    from queue import Empty
    deadline = time.monotonic() + wait
    while (left := deadline - time.monotonic()) > 0:
        try:
            msg = await channel.get_msg(timeout=left)
        except Empty:
            return None
        if wanted(msg):
            return msg
    return None


# --------------------------------------------------------------------------- nbclient

def forget_failed_kernel(client) -> None:
    """Stop the kernel of an nbclient `client` that failed while starting, and drop nbclient's
    exit handler that would try again (and fail); when off, nbclient does it at exit."""
    if not enabled("nbclient-forget-kernel"):
        return
    import atexit
    atexit.unregister(client._cleanup_kernel)
    try:
        if client.km is not None and client.km.has_kernel:
            client._cleanup_kernel()
    except Exception:  # noqa: BLE001 - the start failure is what gets reported
        pass


# --------------------------------------------------------------------------- atexit

def run_exit_handlers(bound: float | None = None) -> bool:
    """Run the registered exit handlers now (for at most `bound` seconds, in a thread, when
    given), so the process may leave with os._exit; False, running nothing, when off."""
    if not enabled("atexit-run-handlers"):
        return False
    import atexit
    if bound is None:
        atexit._run_exitfuncs()
        return True
    handlers = threading.Thread(target=atexit._run_exitfuncs, daemon=True)
    handlers.start()
    handlers.join(bound)
    return True


# Python-Markdown's patches live in their own module (they are most of the lines); named here too.
from builder.core.patches.markdown import (  # noqa: E402  (needs `enabled` above)
    normalized_lines, quicker_whitespace_normalizing, replace_pattern_regex, set_backed_block_level_names,
    skip_run_unless_triggered, triggered_block_parser, triggered_inline_class, triggered_inline_processor)
