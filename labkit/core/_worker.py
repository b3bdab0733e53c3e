"""One worker thread per instrument.

All I/O with an instrument is serialised by its worker: two cells, a panel and a run never
interleave half-commands, and blocking reads stay off the notebook's thread and off labkit's
event loop. Calls made from the worker itself (a driver method calling another) run directly,
so nothing deadlocks.

Handing an operation to a thread and back costs tens of microseconds — more than the whole
operation when the instrument answers in-process (a simulator, a memory-mapped device). So an
instrument that has proven instant runs its next *quick* operation (one query, one set without
a ramp) on the caller's thread instead, under the same lock the worker thread holds: access is
still serialised, order is kept (never while anything is queued for the thread). Proven instant
means that of its last ``INSTANT_WINDOW`` quick operations at most ``INSTANT_SLOW_ALLOWED``
took longer than ``INSTANT_SECONDS`` (an operation that merely lost its core to another process
does not make an instrument slow) and none failed: a failure sends it back to the thread until
it proves itself again. Real instruments, with millisecond replies, always use the thread.
"""

from __future__ import annotations

import asyncio
import collections
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import TimeoutError as WaitTimeout
from typing import Any, TypeVar

__all__ = [
    "INSTANT_SECONDS",
    "INSTANT_SLOW_ALLOWED",
    "INSTANT_WINDOW",
    "NOT_RUN",
    "Worker",
    "wait_for",
]

T = TypeVar("T")

INSTANT_SECONDS = 100e-6
INSTANT_WINDOW = 8
INSTANT_SLOW_ALLOWED = 2

NOT_RUN: Any = object()
"""What :meth:`Worker.try_inline` returns when the operation must go to the thread instead."""


class Worker:
    """A single thread that runs one instrument's I/O, in order."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._ident: int | None = None
        self._executor = ThreadPoolExecutor(
            max_workers=1, thread_name_prefix=f"labkit-{name}", initializer=self._remember_thread
        )
        self._closed = False
        self._lock = threading.Lock()  # held while any operation of this instrument runs
        self._owner: int | None = None  # the thread running an operation (holding the lock)
        self._queued = 0  # operations handed to the thread and not finished yet
        self._queued_lock = threading.Lock()
        self._recent: collections.deque[bool] = collections.deque(maxlen=INSTANT_WINDOW)
        self._slow = 0  # how many of the recent quick operations were slow
        self._proven = False  # the window is full and few enough were slow

    def _remember_thread(self) -> None:
        self._ident = threading.get_ident()

    def on_worker(self) -> bool:
        """True when called from inside one of this worker's operations (on its thread, or
        on the thread running one inline: the one holding the instrument's lock)."""
        ident = threading.get_ident()
        return ident == self._ident or ident == self._owner

    @property
    def instant(self) -> bool:
        """The instrument has proven instant: quick operations run on the caller's thread."""
        return self._proven and not self._queued

    def _note(self, seconds: float) -> None:
        """Remember how long a quick operation took (it succeeded)."""
        recent = self._recent
        if len(recent) == INSTANT_WINDOW and recent[0]:
            self._slow -= 1
        slow = seconds >= INSTANT_SECONDS
        recent.append(slow)
        self._slow += slow
        self._proven = len(recent) == INSTANT_WINDOW and self._slow <= INSTANT_SLOW_ALLOWED

    def _forget(self) -> None:
        """A quick operation failed: prove instant again before running inline."""
        self._recent.clear()
        self._slow = 0
        self._proven = False

    # -- running one operation ----------------------------------------------------------------

    def _run(self, function: Callable[..., T], args: tuple[Any, ...], quick: bool) -> T:
        """Run with the instrument's lock held (on whichever thread), timing quick operations."""
        with self._lock:
            self._owner = threading.get_ident()
            start = time.perf_counter()
            try:
                result = function(*args)
            except BaseException:
                if quick:
                    self._forget()
                raise
            finally:
                self._owner = None
            if quick:
                self._note(time.perf_counter() - start)
            return result

    def _on_thread(self, function: Callable[..., T], args: tuple[Any, ...], quick: bool) -> T:
        try:
            return self._run(function, args, quick)
        finally:
            with self._queued_lock:
                self._queued -= 1

    def _enqueue(self, function: Callable[..., T], args: tuple[Any, ...], quick: bool) -> Future[T]:
        with self._queued_lock:
            self._queued += 1
        try:
            return self._executor.submit(self._on_thread, function, args, quick)
        except RuntimeError:
            with self._queued_lock:
                self._queued -= 1
            if self._closed:
                raise
            # The interpreter is exiting: Python already stopped executor threads before
            # atexit handlers run, so closing instruments happens on this thread instead.
            return _run_inline(self._run, (function, args, quick))

    def try_inline(self, function: Callable[..., T], *args: Any) -> T:
        """Run a quick operation here if the instrument is instant and idle; else return
        :data:`NOT_RUN` (then hand it to the thread: :meth:`call`, :meth:`call_async`).

        The async faces of instruments call this first: an instant instrument's set or
        read then awaits nothing (no coroutine of the worker's, no thread hop).
        """
        if not self._proven or self._queued or not self._lock.acquire(False):
            return NOT_RUN  # the sentinel (typed Any), never a T
        try:
            if self._queued:  # something was queued meanwhile: keep the order
                return NOT_RUN
            self._owner = threading.get_ident()
            start = time.perf_counter()
            try:
                result = function(*args)
            except BaseException:
                self._forget()
                raise
            finally:
                self._owner = None
            elapsed = time.perf_counter() - start
            if elapsed < INSTANT_SECONDS and not self._recent[0]:
                self._recent.append(False)  # fast again, a fast one leaves: nothing changes
            else:
                self._note(elapsed)
            return result
        finally:
            self._lock.release()

    # -- the three faces ----------------------------------------------------------------------

    def submit(self, function: Callable[..., T], *args: Any) -> Future[T]:
        """Queue ``function(*args)`` on the thread; from inside an operation it runs at once."""
        if self.on_worker():
            return _run_inline(function, args)
        return self._enqueue(function, args, False)

    def call(self, function: Callable[..., T], *args: Any, quick: bool = False) -> T:
        """Run ``function(*args)`` serialised with the instrument's other I/O; wait for it.

        ``quick`` says the operation is a single exchange (no ramp, no settling wait): if the
        instrument has proven instant it runs right here.
        """
        if self.on_worker():
            return function(*args)
        if quick:
            result = self.try_inline(function, *args)
            if result is not NOT_RUN:
                return result
        return self._enqueue(function, args, quick).result()

    async def call_async(self, function: Callable[..., T], *args: Any, quick: bool = False) -> T:
        """Await ``function(*args)`` without blocking the event loop (unless it is instant)."""
        if self.on_worker():
            return function(*args)
        if quick:
            result = self.try_inline(function, *args)
            if result is not NOT_RUN:
                return result
        return await asyncio.wrap_future(self._enqueue(function, args, quick))

    def shutdown(self) -> None:
        """Finish the operation in progress, drop queued ones, and end the thread."""
        if self._closed:
            return
        self._closed = True
        self._executor.shutdown(wait=not self.on_worker(), cancel_futures=True)


def _run_inline(function: Callable[..., T], args: tuple[Any, ...]) -> Future[T]:
    future: Future[T] = Future()
    try:
        future.set_result(function(*args))
    except BaseException as error:
        future.set_exception(error)
    return future


def wait_for(future: Future[Any]) -> Any:
    """A future's result, waited for in short slices: Ctrl-C (the notebook's interrupt
    button) stays responsive while a ramp runs on the worker."""
    while True:
        try:
            return future.result(timeout=0.1)
        except WaitTimeout:
            if future.done():
                raise  # the write itself timed out (InstrumentTimeout is a TimeoutError too)
            continue
