"""labkit's own asyncio event loop, running in a background thread.

Runs are tasks on this loop, so they keep going whatever the notebook's kernel is doing (as
zarr-python's sync layer and Bluesky's RunEngine do). Synchronous callers submit coroutines and
wait with a timeout; calling the blocking face from the loop's own thread would deadlock, so
that is refused with an explanation.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

__all__ = ["get_loop", "in_loop_thread", "run_sync", "submit"]

T = TypeVar("T")

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None
_thread: threading.Thread | None = None


def get_loop() -> asyncio.AbstractEventLoop:
    """The background loop, started on first use."""
    global _loop, _thread
    with _lock:
        if _loop is None or _loop.is_closed() or _thread is None or not _thread.is_alive():
            loop = asyncio.new_event_loop()
            ready = threading.Event()

            def run() -> None:
                asyncio.set_event_loop(loop)
                loop.call_soon(ready.set)
                loop.run_forever()

            thread = threading.Thread(target=run, name="labkit-loop", daemon=True)
            thread.start()
            ready.wait()
            _loop, _thread = loop, thread
        return _loop


def in_loop_thread() -> bool:
    return _thread is not None and threading.current_thread() is _thread


def submit(coroutine: Coroutine[Any, Any, T]) -> Future[T]:
    """Schedule ``coroutine`` on the background loop; returns a thread-safe future."""
    return asyncio.run_coroutine_threadsafe(coroutine, get_loop())


def run_sync(coroutine: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
    """Run ``coroutine`` on the background loop and wait for its result."""
    if in_loop_thread():
        coroutine.close()
        raise RuntimeError(
            "labkit's blocking API was called from labkit's own event loop, which would deadlock; "
            "use the async form (await ...) inside coroutines"
        )
    return submit(coroutine).result(timeout)
