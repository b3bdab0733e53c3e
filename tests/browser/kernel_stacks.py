"""Where a test kernel's threads are, asked from outside: a page that waited in vain can then
say whether the kernel was stuck (and on what) or had finished without the page being told.

Every kernel the test server starts runs an IPython startup file (the server's own
``IPYTHONDIR``) that registers :mod:`faulthandler` on SIGUSR1: the signal writes every
thread's stack to ``kernel-<pid>.txt`` in the server's stacks folder, from a signal handler,
so it works while the kernel's main thread is blocked.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from pathlib import Path

__all__ = ["dump_threads", "install_stack_dumps", "kernel_pid"]

_STARTUP = """\
import faulthandler as _faulthandler, os as _os, signal as _signal
_stacks = open(_os.path.join(_os.environ["LABKIT_TEST_KERNEL_STACKS"],
                             f"kernel-{_os.getpid()}.txt"), "w")
_faulthandler.register(_signal.SIGUSR1, file=_stacks, all_threads=True)
"""


def install_stack_dumps(ipython_dir: Path) -> None:
    """Make every kernel started with ``IPYTHONDIR=ipython_dir`` dump its stacks on SIGUSR1
    (into the folder named by ``LABKIT_TEST_KERNEL_STACKS``)."""
    startup = ipython_dir / "profile_default" / "startup" / "00-thread-stacks.py"
    startup.parent.mkdir(parents=True, exist_ok=True)
    startup.write_text(_STARTUP)


def kernel_pid(kernel_id: str) -> int | None:
    """The process of the kernel started with ``kernel-<id>.json`` (None: gone)."""
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                if f"kernel-{kernel_id}.json".encode() in (entry / "cmdline").read_bytes():
                    return int(entry.name)
    return None


def dump_threads(pid: int, stacks: Path, into: Path, timeout: float = 5.0) -> None:
    """Signal kernel ``pid`` and copy the stacks it writes (in ``stacks``) to ``into``."""
    written = stacks / f"kernel-{pid}.txt"
    os.kill(pid, signal.SIGUSR1)
    deadline = time.monotonic() + timeout
    while not (written.exists() and written.stat().st_size > 0):
        if time.monotonic() > deadline:
            raise TimeoutError(f"kernel {pid} wrote no stacks in {timeout} s")
        time.sleep(0.05)
    into.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(written, into)
