"""Where a test kernel's threads are, asked from outside: a test that waited in vain on a cell
can then say whether the kernel was stuck (and on what) or had finished without its client
being told.

Kernels started with :func:`kernel_environment` run an IPython startup file (their own
``IPYTHONDIR``) that uses :mod:`faulthandler`, which works while the main thread is blocked:

- SIGUSR1 writes every thread's stack to ``kernel-<pid>.txt`` in the stacks folder
  (:func:`dump_threads` sends it: the browser harness, when a page waited in vain);
- with ``dump_after`` seconds, a cell still running that long writes them there by itself
  (nbclient, as the docs build and the tutorial tests use, has killed the kernel by the time
  its timeout reaches the test, so the kernel writes them before that).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import time
from pathlib import Path

__all__ = [
    "dump_threads",
    "install_stack_dumps",
    "kernel_environment",
    "kernel_pid",
    "stacks_folder",
    "stacks_of",
]

_STARTUP = """\\
import faulthandler as _faulthandler, os as _os, signal as _signal
_stacks = open(_os.path.join(_os.environ["LABKIT_TEST_KERNEL_STACKS"],
                             f"kernel-{_os.getpid()}.txt"), "w")
_faulthandler.register(_signal.SIGUSR1, file=_stacks, all_threads=True)
_after = float(_os.environ.get("LABKIT_TEST_CELL_DUMP_AFTER") or 0)
if _after > 0:
    def _arm(*_args):
        _faulthandler.dump_traceback_later(_after, file=_stacks)

    def _disarm(*_args):
        _faulthandler.cancel_dump_traceback_later()

    get_ipython().events.register("pre_run_cell", _arm)
    get_ipython().events.register("post_run_cell", _disarm)
"""


def install_stack_dumps(ipython_dir: Path) -> None:
    """Make every kernel started with ``IPYTHONDIR=ipython_dir`` dump its stacks on SIGUSR1
    (into the folder named by ``LABKIT_TEST_KERNEL_STACKS``)."""
    startup = ipython_dir / "profile_default" / "startup" / "00-thread-stacks.py"
    startup.parent.mkdir(parents=True, exist_ok=True)
    startup.write_text(_STARTUP)


def stacks_folder(home: Path) -> Path:
    """Where kernels started with ``kernel_environment(home)`` write their stacks."""
    return home / "stacks"


def kernel_environment(home: Path, dump_after: float = 0.0) -> dict[str, str]:
    """The variables that make a kernel started with them dump its stacks into
    ``home/stacks`` (on SIGUSR1; and by itself for a cell running ``dump_after`` seconds)."""
    install_stack_dumps(home / "ipython")
    stacks_folder(home).mkdir(parents=True, exist_ok=True)
    return {
        "IPYTHONDIR": str(home / "ipython"),
        "LABKIT_TEST_KERNEL_STACKS": str(stacks_folder(home)),
        "LABKIT_TEST_CELL_DUMP_AFTER": str(dump_after),
    }


def stacks_of(home: Path, lines: int = 60) -> str:
    """The stacks the kernels started with :func:`kernel_environment` wrote (their tails)."""
    written = []
    for path in sorted(stacks_folder(home).glob("kernel-*.txt")):
        text = path.read_text(errors="replace").strip()
        if text:
            written.append(f"{path.name}:\n" + "\n".join(text.splitlines()[-lines:]))
    return "\n".join(written) or "(no kernel wrote its stacks)"


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
