"""What happens when Python exits: runs end and are recorded, outputs go safe, links close.

A script that ends — normally, with an uncaught exception or after Ctrl-C — must not leave a
source on or a run marked ``running``. At interpreter exit labkit, in this order:

1. ends every run still going (its steps are aborted, what it set goes to safe values, its
   final status ``aborted`` is written) — the run layer registers that with :func:`on_exit`;
2. brings every instrument labkit opened to its declared safe values, unless the user opted
   out with :func:`safe_on_exit` (for all instruments, or for some) or ``LABKIT_SAFE_ON_EXIT=0``;
3. closes every instrument.

It runs as a threading exit hook, before Python stops the thread pools the instruments' workers
and the run engine use, so it takes the same code paths as during the session. A process killed
outright (``kill -9``, a power cut) runs nothing: see the storage docs for what survives that.
"""

from __future__ import annotations

import atexit
import concurrent.futures.thread  # noqa: F401  (its exit hook must be registered before ours)
import os
import sys
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from labkit.core._instrument import Instrument

__all__ = ["exiting", "on_exit", "safe_on_exit", "safe_on_exit_enabled"]

_OFF_WORDS = {"0", "false", "no", "off"}

_lock = threading.Lock()
_hooks: list[Callable[[], None]] = []
_enabled: bool | None = None  # None: follow LABKIT_SAFE_ON_EXIT
_left_alone: weakref.WeakSet[Instrument] = weakref.WeakSet()
_done = False
_exiting = False


def safe_on_exit(enabled: bool = True, *instruments: Instrument) -> None:
    """Whether instruments go to their safe values when Python exits (they do by default).

    ``labkit.safe_on_exit(False)`` leaves every instrument as it is at exit (a script that
    configures a temperature controller and leaves it holding); ``labkit.safe_on_exit(False,
    tc)`` only those named; ``safe_on_exit(True, tc)`` undoes that for ``tc``. The environment
    variable ``LABKIT_SAFE_ON_EXIT=0`` is the same as ``safe_on_exit(False)`` for a whole
    session. Runs still going at exit are aborted either way, which makes safe what they set.
    """
    global _enabled
    with _lock:
        if not instruments:
            _enabled = bool(enabled)
            if enabled:
                _left_alone.clear()
            return
        for instrument in instruments:
            if enabled:
                _left_alone.discard(instrument)
            else:
                _left_alone.add(instrument)


def safe_on_exit_enabled(instrument: Instrument | None = None) -> bool:
    """Whether ``instrument`` (or, with none given, instruments in general) is made safe at exit."""
    with _lock:
        enabled = _enabled
        if enabled is None:
            enabled = os.environ.get("LABKIT_SAFE_ON_EXIT", "1").strip().lower() not in _OFF_WORDS
        return enabled and (instrument is None or instrument not in _left_alone)


def on_exit(hook: Callable[[], None]) -> None:
    """Run ``hook`` first at exit (the run layer ends running runs with it)."""
    with _lock:
        if hook not in _hooks:
            _hooks.append(hook)


def exiting() -> bool:
    """True once the exit sequence has begun (new runs are refused then)."""
    return _exiting


def _say(text: str) -> None:
    try:
        print(f"labkit: {text}", file=sys.stderr, flush=True)
    except Exception:  # a closed stderr must not stop the rest
        pass


def run_exit_sequence() -> None:
    """End runs, make instruments safe, close them; once (also callable from tests)."""
    global _done, _exiting
    with _lock:
        if _done:
            return
        _done = _exiting = True
        hooks = list(_hooks)
    from labkit.core._registry import close_all, instruments

    for hook in hooks:
        try:
            hook()
        except BaseException as error:  # Ctrl-C at exit skips a step, never the rest
            _say(f"at exit, {getattr(hook, '__name__', hook)} failed: {error!r}")
    for instrument in reversed(instruments()):
        if not instrument.connected or not safe_on_exit_enabled(instrument):
            continue
        try:
            made = instrument.make_safe()
        except BaseException as error:
            _say(f"could not bring {instrument.name} to its safe values at exit: {error}")
            continue
        if made:
            shown = ", ".join(f"{name}={value!r}" for name, value in made.items())
            _say(f"{instrument.name} made safe at exit ({shown})")
    close_all()


def _register() -> None:
    # Before threads are joined and before concurrent.futures stops its pools (its hook was
    # registered when it was imported above; these hooks run in reverse order), so workers and
    # the run engine's threads still serve the exit sequence. atexit is the fallback (and runs
    # the sequence at most once).
    register = getattr(threading, "_register_atexit", None)
    if register is not None:
        try:
            register(run_exit_sequence)
        except RuntimeError:  # imported during shutdown
            pass
    atexit.register(run_exit_sequence)


_register()
