"""The bench's trigger cables: instruments' trigger outputs wired to other instruments' inputs.

A real bench routes a BNC cable from the function generator's *Trig Out* to the DMM's rear
*Ext Trig* input; this subsystem does the same for the twins. An output is either periodic
(a generator's burst timer fires every period: the output answers which edges fall in a span
of bench time) or fired once (a ``*TRG``: :meth:`TriggerLines.pulse`). Inputs are callables
that receive the bench time of each edge, in time order.

Edges are delivered whenever the bench is brought up to date (:meth:`Bench.sync`, which every
twin calls before it measures), so an instrument sees every edge up to the moment it is asked
anything, on a running clock or a frozen one moved by :meth:`Bench.advance`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["TriggerLines"]

Edges = Callable[[float, float], Iterable[float]]
Listener = Callable[[float], None]


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
        self.delivered: dict[str, int] = {}  # edges each input received

    # -- wiring ---------------------------------------------------------------------------

    def add_output(self, name: str, edges: Edges | None = None) -> None:
        """A trigger output; ``edges(since, until)`` lists its periodic edges in (since, until]."""
        self._outputs[name] = edges
        self._cables.setdefault(name, set())

    def add_input(self, name: str, listener: Listener) -> None:
        self._inputs[name] = listener
        self.delivered.setdefault(name, 0)

    def connect(self, output: str, input: str) -> None:
        """Run a cable from ``output`` to ``input`` (both must exist)."""
        if output not in self._outputs:
            raise ValueError(f"no trigger output {output!r} (outputs: {sorted(self._outputs)})")
        if input not in self._inputs:
            raise ValueError(f"no trigger input {input!r} (inputs: {sorted(self._inputs)})")
        with self.bench.lock:
            self.advance(self.bench.clock.now())  # edges before the cable existed are gone
            self._cables[output].add(input)

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

    def _deliver(self, edges: list[tuple[float, str]]) -> None:
        self._delivering = True
        try:
            for at, output in edges:
                for input in sorted(self._cables.get(output, ())):
                    self.delivered[input] += 1
                    self._inputs[input](at)
        finally:
            self._delivering = False
