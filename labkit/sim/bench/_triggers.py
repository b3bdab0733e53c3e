"""The bench's trigger cables: instruments' trigger outputs wired to other instruments' inputs.

A real bench routes a BNC cable from the function generator's *Trig Out* to the DMM's rear
*Ext Trig* input; this subsystem does the same for the twins. An output is either periodic
(a generator's burst timer fires every period: the output answers which edges fall in a span
of bench time) or fired once (a ``*TRG``: :meth:`TriggerLines.pulse`). Inputs are callables
that receive the bench time of each edge, in time order.

Edges are delivered whenever the bench is brought up to date (:meth:`Bench.sync`, which every
twin calls before it measures), so an instrument sees every edge up to the moment it is asked
anything, on a running clock or a frozen one moved by :meth:`Bench.advance`. An input that acts
by itself on each edge (a camera starts an exposure: nobody asks it anything) is *prompt*: while
one is cabled and the clock runs, the bench's own thread wakes at each edge and delivers it
then. Every edge carries its bench time, so an instrument that hears of it a little late (the
thread was not scheduled at once, or a frozen clock jumped past several) still acts at its time.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["TriggerLines"]

Edges = Callable[[float, float], Iterable[float]]
Listener = Callable[[float], None]
_IDLE = 0.05  # real seconds the delivery thread sleeps when no edge is near


class TriggerLines:
    """Named trigger outputs and inputs, and the cables between them."""

    name = "triggers"

    def __init__(self, bench: Any) -> None:
        self.bench = bench
        self._outputs: dict[str, Edges | None] = {}
        self._inputs: dict[str, Listener] = {}
        self._cables: dict[str, set[str]] = {}
        self._last = bench.clock.now()
        self._delivering = False
        self._prompt: set[str] = set()
        self._pump: threading.Thread | None = None
        self._closed = threading.Event()
        self.delivered: dict[str, int] = {}  # edges each input received

    # -- wiring ---------------------------------------------------------------------------

    def add_output(self, name: str, edges: Edges | None = None) -> None:
        """A trigger output; ``edges(since, until)`` lists its periodic edges in (since, until]."""
        self._outputs[name] = edges
        self._cables.setdefault(name, set())

    def add_input(self, name: str, listener: Listener, *, prompt: bool = False) -> None:
        """An input; ``prompt`` if it acts on each edge by itself (see the module doc)."""
        self._inputs[name] = listener
        self.delivered.setdefault(name, 0)
        if prompt:
            self._prompt.add(name)

    def connect(self, output: str, input: str) -> None:
        """Run a cable from ``output`` to ``input`` (both must exist)."""
        if output not in self._outputs:
            raise ValueError(f"no trigger output {output!r} (outputs: {sorted(self._outputs)})")
        if input not in self._inputs:
            raise ValueError(f"no trigger input {input!r} (inputs: {sorted(self._inputs)})")
        with self.bench.lock:
            self.advance(self.bench.clock.now())  # edges before the cable existed are gone
            self._cables[output].add(input)
        if input in self._prompt:
            self._start_pump()

    def disconnect(self, output: str, input: str) -> None:
        with self.bench.lock:
            self.advance(self.bench.clock.now())
            self._cables.get(output, set()).discard(input)

    @property
    def cables(self) -> dict[str, list[str]]:
        return {output: sorted(inputs) for output, inputs in self._cables.items() if inputs}

    # -- edges ----------------------------------------------------------------------------

    def pulse(self, output: str, at: float) -> None:
        """A single edge on ``output`` at bench time ``at`` (now or just past)."""
        with self.bench.lock:
            self.advance(at)  # periodic edges before this one go first
            self._deliver([(at, output)])

    def advance(self, now: float) -> None:
        """Deliver every periodic edge in (last, now], in time order (the bench calls this)."""
        if self._delivering or now <= self._last:
            return
        since, self._last = self._last, now
        edges: list[tuple[float, str]] = []
        for output, source in self._outputs.items():
            if source is not None and self._cables.get(output):
                edges.extend((at, output) for at in source(since, now))
        edges.sort()
        self._deliver(edges)

    def next_prompt_edge(self, until: float) -> float | None:
        """The time of the first edge due to a prompt input in (last delivery, until]."""
        upcoming = [
            at
            for output, source in self._outputs.items()
            if source is not None and self._cables.get(output, set()) & self._prompt
            for at in source(self._last, until)
        ]
        return min(upcoming, default=None)

    def close(self) -> None:
        """Stop the delivery thread (the bench is closed)."""
        self._closed.set()

    def _start_pump(self) -> None:
        if self._pump is not None and self._pump.is_alive():
            return
        self._pump = threading.Thread(
            target=_pump, args=(weakref.ref(self), self._closed), name="bench-triggers", daemon=True
        )
        self._pump.start()

    def _deliver(self, edges: list[tuple[float, str]]) -> None:
        self._delivering = True
        try:
            for at, output in edges:
                for input in sorted(self._cables.get(output, ())):
                    self.delivered[input] += 1
                    self._inputs[input](at)
        finally:
            self._delivering = False


def _pump(ref: weakref.ref[TriggerLines], closed: threading.Event) -> None:
    """Deliver the edges of prompt inputs when they happen, while the bench lives."""
    while not closed.is_set():
        lines = ref()
        if lines is None:
            return
        wait = _IDLE
        clock = lines.bench.clock
        if clock.scale > 0:
            with lines.bench.lock:
                now = clock.now()
                due = lines.next_prompt_edge(now + _IDLE * clock.scale)
                if due is not None and due <= now:
                    lines.bench.sync()  # physics first, then the edges, in time order
                    due = lines.next_prompt_edge(now + _IDLE * clock.scale)
            if due is not None:
                wait = min(_IDLE, clock.real_seconds(max(0.0, due - now)))
        del lines
        closed.wait(wait)
