"""For interrupt tests: say when a process's main thread is blocked in ``run.wait()``.

A test that interrupts a wait must interrupt *the wait*, not the line before it, whatever the
machine's load: a watcher on the run looks at the main thread's stack after each point and
announces (on stdout, or by creating a file) once the run has points and the main thread is
inside :meth:`labkit.runs.Run.wait`.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

from labkit.runs import Run


def main_thread_waits() -> bool:
    """True while the main thread is inside ``Run.wait``."""
    frame = sys._current_frames().get(threading.main_thread().ident or -1)
    while frame is not None:
        if frame.f_code is Run.wait.__code__:
            return True
        frame = frame.f_back
    return False


def announce_when_waiting(run: Run, *, points: int = 10, marker: str | None = None) -> None:
    """Print ``waiting`` (or create ``marker``) once ``run`` has ``points`` points and the main
    thread is in ``run.wait()``."""
    said = threading.Event()

    def watcher(index: Any, values: Any) -> None:
        if said.is_set() or index[0] + 1 < points or not main_thread_waits():
            return
        said.set()
        if marker is None:
            print("waiting", flush=True)
        else:
            Path(marker).write_text("waiting")

    run.watch(watcher)
