"""Backpressure for live views: the newest data wins, updates are throttled and acknowledged.

A live view's data changes on acquisition threads (labkit's loop, a camera step's writer, a
camera's own thread) far faster than a browser draws. Nothing those threads do may wait for
the view, so they only *take note* (:meth:`LiveChannel.touch`, microseconds). Rendering —
downsampling an image, building arrays, sending widget messages — happens on one thread of its
own (:class:`Scheduler`, ``labkit-live``), never on an acquisition thread, an instrument worker
or labkit's loop.

Each view has a :class:`LiveChannel` that decides when to render:

- **throttle**: at most ``rate`` renders per second (default :data:`DEFAULT_RATE`); a thousand
  changes between two renders cost one render, of the state as it is then (newest wins);
- **acknowledgement**: the frontend tells the kernel it processed each update, with no custom
  JavaScript: the channel bumps a sequence number on a hidden widget after each update, and a
  ``jslink`` in the page copies it to a second hidden widget, whose change the page sends back
  (ipywidgets' ``Link`` saves its target). At most ``max_in_flight`` updates are unacknowledged;
  when the page does not keep up, renders are skipped, not queued;
- **closed tabs**: with no page listening nothing acknowledges, so after ``max_in_flight``
  updates the channel sends nothing but a tiny ping (a bare sequence number) after ``probe``
  seconds, then at doubling intervals up to a minute — never a backlog for the Jupyter server
  to buffer. A page that opens (or reloads) gets the widgets' current state and recreates the
  link, which acknowledges at once: updates resume with the newest data.

- **a busy kernel**: while a cell runs (``run.wait()``, a long computation), the page's
  acknowledgements wait in the kernel's queue behind it (ipywidgets sends a model's next
  change only once the kernel went idle after its last one, and even with kernel subshells
  the first acknowledgement may have gone to the busy main shell). Renders go out from this
  thread on IOPub regardless, so while a cell runs and acknowledgements stall, the channel
  sends at ``fallback_rate`` (a few updates a second, newest wins) instead of waiting: the
  view keeps up, and shows a run's last point well within a second of its end.
"""

from __future__ import annotations

import collections
import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as widgets

from labkit.ui._sync import guarded, log

__all__ = ["DEFAULT_RATE", "MAX_IN_FLIGHT", "LiveChannel", "Scheduler", "default_scheduler"]

DEFAULT_RATE = 25.0
"""Renders per second a live view sends at most: about what a browser draws smoothly."""

MAX_IN_FLIGHT = 3
"""Updates a view may send ahead of the page's acknowledgements: enough to keep the pipe full
over a round trip of 50-100 ms at 25 updates per second, and a bound on what a page that went
away can cost (a few images)."""

PROBE_INTERVAL = 2.0
"""Seconds without an acknowledgement before the channel assumes nobody is listening."""

MAX_PROBE_INTERVAL = 60.0
"""Pings to a silent page slow down, doubling up to this many seconds apart."""

IDLE_INTERVAL = 0.25
"""Seconds between two polls of a source that had nothing new for a while (a stopped camera)."""

FALLBACK_RATE = 4.0
"""Updates per second a view sends without acknowledgements while a notebook cell runs:
slow enough for a browser to draw any view at, fast enough to show a run's end within 0.3 s."""


class CellWatch:
    """Whether the kernel's main thread is running a notebook cell, from IPython's
    ``pre_run_cell``/``post_run_cell`` events (False outside IPython: scripts, tests)."""

    def __init__(self) -> None:
        self.running = False
        self._shell: Any = None

    def attach(self) -> None:
        """Follow the current IPython shell's cells (once; a no-op outside IPython)."""
        try:
            from IPython import get_ipython
        except ImportError:
            return
        shell = get_ipython()
        if shell is None or shell is self._shell:
            return
        if self._shell is not None:
            self.detach()
        shell.events.register("pre_run_cell", self._started)
        shell.events.register("post_run_cell", self._ended)
        self._shell = shell

    def detach(self) -> None:
        shell, self._shell = self._shell, None
        if shell is not None:
            for event, callback in (
                ("pre_run_cell", self._started),
                ("post_run_cell", self._ended),
            ):
                try:
                    shell.events.unregister(event, callback)
                except ValueError:
                    pass
        self.running = False

    def _started(self, info: Any = None) -> None:
        self.running = True

    def _ended(self, result: Any = None) -> None:
        self.running = False

    def __call__(self) -> bool:
        return self.running


cell_watch = CellWatch()
"""The kernel's cells, watched for every live view (attached when the first view is made)."""


class Scheduler:
    """One thread that runs the live views' renders, each when it is due.

    ``call_at(when, fn)`` is cheap and thread-safe; ``fn`` runs on the scheduler's thread, its
    exceptions logged. Calls due at the same time run in the order they were scheduled.
    """

    def __init__(self, name: str = "labkit-live", clock: Callable[[], float] = time.monotonic):
        self.name = name
        self.clock = clock
        self._heap: list[tuple[float, int, Callable[[], None]]] = []
        self._order = itertools.count()
        self._cond = threading.Condition()
        self._thread: threading.Thread | None = None

    def call_at(self, when: float, function: Callable[[], None]) -> None:
        with self._cond:
            heapq.heappush(self._heap, (when, next(self._order), function))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            self._cond.notify()

    def in_thread(self) -> bool:
        return threading.current_thread() is self._thread

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._heap:
                        delay = self._heap[0][0] - self.clock()
                        if delay <= 0:
                            _, _, function = heapq.heappop(self._heap)
                            break
                        self._cond.wait(delay)
                    else:
                        self._cond.wait()
            guarded(function)()


_default: Scheduler | None = None
_default_lock = threading.Lock()


def default_scheduler() -> Scheduler:
    """The scheduler every live view shares (its thread starts on first use)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Scheduler()
        return _default


class LiveChannel:
    """When a view renders: throttled to ``rate`` per second, bounded by acknowledgements.

    ``render()`` runs on the scheduler's thread and returns True if it sent an update (a
    polling render — a camera view looking for a new frame — may find nothing and return
    False). ``touch()`` says the data changed (any thread). With ``poll`` the channel calls
    ``render`` on its own at the throttle rate (slower when the source is idle), for sources
    that cannot ``touch`` (a camera's frame queue).
    """

    def __init__(
        self,
        render: Callable[[], bool],
        *,
        rate: float = DEFAULT_RATE,
        max_in_flight: int = MAX_IN_FLIGHT,
        probe: float = PROBE_INTERVAL,
        poll: bool = False,
        scheduler: Scheduler | None = None,
        fallback_rate: float = FALLBACK_RATE,
        cell_running: Callable[[], bool] | None = None,
    ) -> None:
        if not rate > 0:
            raise ValueError(f"a live view's rate must be positive, not {rate!r}")
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, not {max_in_flight!r}")
        self.render = render
        self.interval = 1.0 / float(rate)
        self.max_in_flight = int(max_in_flight)
        self.probe = float(probe)
        self.poll = poll
        self.scheduler = scheduler or default_scheduler()
        self.clock = self.scheduler.clock
        self.fallback_interval = 1.0 / float(fallback_rate)
        if cell_running is None:
            cell_watch.attach()
            cell_running = cell_watch
        self.cell_running = cell_running
        # The acknowledgement loop: kernel → seq → (jslink in the page) → ack → kernel.
        self.seq_widget = widgets.IntText(value=0)
        self.ack_widget = widgets.IntText(value=0)
        self.link = widgets.jslink((self.seq_widget, "value"), (self.ack_widget, "value"))
        self.ack_widget.observe(self._on_ack, names="value")
        self._lock = threading.RLock()
        self._seq = 0
        self._acked = 0
        self._dirty = False
        self._due: float | None = None  # when the next flush is scheduled (None: not)
        self._last_send = -1e9
        self._last_ping = -1e9
        self._last_ack = self.clock()
        self._probe_wait = self.probe
        self._idle_since: float | None = None
        self._closed = False
        self._sends: collections.deque[float] = collections.deque(maxlen=64)
        self._sent_at: dict[int, float] = {}
        self._latencies: collections.deque[float] = collections.deque(maxlen=32)
        self.sent = 0
        self.skipped = 0
        self.pings = 0
        self.unacknowledged_sends = 0  # sent on the time-based fallback while a cell ran

    # -- state ------------------------------------------------------------------------------

    @property
    def rate(self) -> float:
        return 1.0 / self.interval

    @rate.setter
    def rate(self, value: float) -> None:
        if not value > 0:
            raise ValueError(f"a live view's rate must be positive, not {value!r}")
        self.interval = 1.0 / float(value)

    @property
    def in_flight(self) -> int:
        """Updates (and pings) sent that the page has not acknowledged yet."""
        with self._lock:
            return self._seq - self._acked

    @property
    def listening(self) -> bool:
        """False once updates went unacknowledged for ``probe`` seconds (no page, or a busy
        kernel): the channel then only pings."""
        with self._lock:
            return self._seq == self._acked or self.clock() - self._last_ack < self.probe

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def latency(self) -> float | None:
        """Median seconds from sending an update to its acknowledgement (recent updates)."""
        with self._lock:
            recent = sorted(self._latencies)
        return recent[len(recent) // 2] if recent else None

    def updates_per_second(self, window: float = 2.0) -> float:
        """Updates sent per second over the last ``window`` seconds."""
        now = self.clock()
        with self._lock:
            recent = [t for t in self._sends if now - t <= window]
        if len(recent) < 2:
            return 0.0
        span = max(now - recent[0], recent[-1] - recent[0])
        return (len(recent) - 1) / span if span > 0 else 0.0

    # -- from any thread ----------------------------------------------------------------------

    def touch(self) -> None:
        """The data changed: render once more when the throttle allows (cheap, never blocks)."""
        with self._lock:
            if self._dirty:
                self.skipped += 1  # coalesced: one render will show both changes
            self._dirty = True
            self._schedule(self._last_send + self.interval)

    def start(self) -> None:
        """Begin polling (for ``poll`` channels) or render the current state once."""
        with self._lock:
            self._dirty = True
            self._schedule(self.clock())

    def close(self) -> None:
        with self._lock:
            self._closed = True
        try:
            self.ack_widget.unobserve(self._on_ack, names="value")
        except ValueError:
            pass
        for widget in (self.link, self.seq_widget, self.ack_widget):
            widget.close()

    def acknowledge(self, seq: int) -> None:
        """The page processed everything up to ``seq`` (what the link's message carries)."""
        with self._lock:
            seq = min(int(seq), self._seq)
            if seq <= self._acked:
                return
            self._acked = seq
            self._last_ack = self.clock()
            self._probe_wait = self.probe
            sent_at = self._sent_at.pop(seq, None)
            if sent_at is not None:
                self._latencies.append(self._last_ack - sent_at)
            for old in [s for s in self._sent_at if s < seq]:
                del self._sent_at[old]
            if self._dirty or self.poll:
                self._schedule(self._last_send + self.interval)

    # -- internals ----------------------------------------------------------------------------

    def _on_ack(self, change: dict[str, Any]) -> None:
        self.acknowledge(change["new"])

    def _schedule(self, when: float) -> None:
        """Make sure a flush runs at ``when`` or earlier (called with the lock held)."""
        if self._closed:
            return
        when = max(when, self.clock())
        if self._due is not None and self._due <= when:
            return
        self._due = when
        self.scheduler.call_at(when, self._flush)

    def _flush(self) -> None:
        now = self.clock()
        with self._lock:
            if self._closed or self._due is None or now < self._due:
                return  # superseded by an earlier or later schedule
            self._due = None
            if not (self._dirty or self.poll):
                return
            fallback = False
            if self._seq - self._acked >= self.max_in_flight:
                if self.cell_running():
                    # A cell runs: acknowledgements wait behind it in the kernel's queue.
                    # Send at the fallback rate rather than freeze until the cell ends.
                    due = self._last_send + self.fallback_interval
                    if now < due:
                        self._schedule(due)
                        return
                    fallback = True
                else:
                    # The page has not caught up: render nothing; the acknowledgement will
                    # schedule the next render. Silent for too long: ping, in case the page
                    # reloaded (a tiny message; nothing piles up while nobody listens).
                    quiet = now - max(self._last_send, self._last_ping, self._last_ack)
                    if quiet >= self._probe_wait:
                        self._ping(now)
                    self._schedule(
                        min(
                            max(self._last_send, self._last_ping) + self._probe_wait,
                            now + self.fallback_interval,  # notice a cell starting
                        )
                    )
                    return
            self._dirty = False
        try:
            sent = bool(self.render())
        except Exception:
            log.exception("labkit live view: rendering failed")
            sent = False
        with self._lock:
            if sent:
                self._seq += 1
                seq = self._seq
                # The cadence counts from the render's start: counted from its end, every
                # cycle lasted 1/rate plus the render, and a 25/s view could not reach 25/s.
                self._last_send = now
                self._sends.append(self._last_send)
                self._sent_at[seq] = self._last_send
                self.sent += 1
                self.unacknowledged_sends += fallback
                self._idle_since = None
            elif self._idle_since is None:
                self._idle_since = now
            if self.poll and not self._closed:
                idle = self._idle_since is not None and now - self._idle_since > 1.0
                if sent:
                    self._schedule(self._last_send + self.interval)
                else:
                    self._schedule(now + (IDLE_INTERVAL if idle else self.interval))
            elif self._dirty:
                self._schedule(self._last_send + self.interval)
        if sent:
            self._send_seq(seq)

    def _ping(self, now: float) -> None:
        self._seq += 1
        self._last_ping = now
        self._probe_wait = min(self._probe_wait * 2, MAX_PROBE_INTERVAL)
        self.pings += 1
        self._send_seq(self._seq)

    def _send_seq(self, seq: int) -> None:
        try:
            self.seq_widget.value = seq
        except Exception:
            log.exception("labkit live view: sending the update number failed")
