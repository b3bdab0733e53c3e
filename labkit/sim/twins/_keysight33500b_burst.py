"""The 33500B's burst mode, trigger system and Trig Out connector, for its twin.

From the 33500 Series User's Guide (SCPI reference, BURSt, TRIGger and OUTPut:TRIGger):

- ``[SOURce#]:BURSt:STATe ON`` makes each trigger output ``BURSt:NCYCles`` cycles (1 to
  100,000,000) in ``BURSt:MODE TRIGgered``; ``GATed`` follows the rear input instead.
  ``BURSt:INTernal:PERiod`` (1 µs to 8000 s) is the burst period with the immediate trigger.
- ``TRIGger#:SOURce IMMediate|EXTernal|TIMer|BUS``; ``TRIGger#:TIMer`` (1 µs to 8000 s) is the
  period of the timer trigger; ``*TRG`` or ``TRIGger#`` triggers with the bus source. A
  trigger that arrives while a burst is still being output is ignored.
- ``OUTPut:TRIGger ON`` puts a pulse on the rear Trig Out connector at the start of every
  burst of the channel ``OUTPut:TRIGger:SOURce`` names (CH1 at power-on), rising or falling
  (``OUTPut:TRIGger:SLOPe``).

On the bench, Trig Out is the trigger output ``<name>.trigger_out`` (cabled to the DMM's Ext
Trig input): timer and immediate bursts give periodic edges, the first one period after the burst
was armed; bus triggers give one edge each.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from labkit.sim._scpi import ScpiError
from labkit.sim._scpi_twin import boolean, mnemonic, number, scpi

if TYPE_CHECKING:
    from labkit.sim.bench import Bench

__all__ = ["BurstTrigger"]

_MODES = {"TRIGgered": "TRIG", "GATed": "GAT"}
_SOURCES = {"IMMediate": "IMM", "EXTernal": "EXT", "TIMer": "TIM", "BUS": "BUS"}
_SLOPES = {"POSitive": "POS", "NEGative": "NEG"}
_CHANNELS = {"CH1": 1, "CH2": 2}
PERIOD_MIN, PERIOD_MAX = 1e-6, 8000.0
CYCLES_MAX = 100_000_000


def _nr3(value: float) -> str:
    return f"{value:+.15E}"


@dataclasses.dataclass
class _Burst:
    """One channel's burst and trigger settings, and when its periodic triggers began."""

    state: bool = False
    mode: str = "TRIG"
    cycles: int = 1
    period: float = 10e-3  # BURSt:INTernal:PERiod
    source: str = "IMM"
    timer: float = 1e-3
    origin: float = 0.0  # bench time of the first periodic trigger
    busy_until: float = -math.inf  # the end of the burst being output


class BurstTrigger:
    """Burst and trigger handlers; the twin provides ``bench``, ``outputs``, ``_out()``."""

    bench: Bench
    name: str
    outputs: list[Any]

    if TYPE_CHECKING:

        def suffix(self, index: int = 0) -> int: ...

    def reset_bursts(self) -> None:
        now = self.bench.now()
        self.bursts = [_Burst(origin=now) for _ in range(len(self.outputs))]
        self.trigger_out = False
        self.trigger_out_slope = "POS"
        self.trigger_out_channel = 1
        self.bursts_started = 0
        self._counted_until = float("-inf")

    def attach_trigger_out(self) -> None:
        self.bench.triggers.add_output(f"{self.name}.trigger_out", self._periodic_edges)

    def _burst(self, index: int = 0) -> _Burst:
        number_ = self.suffix(index)
        if not 1 <= number_ <= len(self.bursts):
            raise ScpiError(-113, "Undefined header")
        return self.bursts[number_ - 1]

    def _rearm(self, burst: _Burst) -> None:
        """A change of the burst or trigger: periodic triggers start again from now."""
        with self.bench.lock:
            self.bench.sync()  # edges due under the old settings go out first
            burst.origin = self.bench.now()

    def _change_burst(self, field: str, value: Callable[[], Any]) -> None:
        """Set ``field`` of the addressed channel's burst to ``value()`` and re-arm it: the
        header's channel is checked before the value is read, as the generator parses them."""
        burst = self._burst()
        setattr(burst, field, value())
        self._rearm(burst)

    def _burst_seconds(self, index: int) -> float:
        burst = self.bursts[index]
        frequency = self.outputs[index].frequency
        return burst.cycles / frequency if frequency > 0 else 0.0

    def _trigger_period(self, burst: _Burst) -> float | None:
        if not burst.state or burst.mode != "TRIG":
            return None
        if burst.source == "TIM":
            return burst.timer
        if burst.source == "IMM":
            return burst.period
        return None

    def _periodic_edges(self, since: float, until: float) -> Iterator[float]:
        """Trig Out's edges in (since, until]: one per burst of the channel it follows."""
        if not self.trigger_out:
            return
        index = self.trigger_out_channel - 1
        burst = self.bursts[index]
        period = self._trigger_period(burst)
        if period is None:
            return
        period = max(period, self._burst_seconds(index))  # a burst must end before the next
        # The first periodic trigger comes one period after the burst was armed.
        k = max(1, math.floor((since - burst.origin) / period) + 1)
        while (at := burst.origin + k * period) <= until:
            if at > since:
                if at > self._counted_until:  # the trigger lines may look ahead: count once
                    self._counted_until = at
                    self.bursts_started += 1
                yield at
            k += 1

    def trigger(self) -> None:
        """``*TRG``: a bus trigger for every channel whose trigger source is BUS."""
        now = self.bench.now()
        for index, burst in enumerate(self.bursts):
            if burst.source == "BUS" and burst.state and burst.mode == "TRIG":
                self._bus_burst(index, now)

    def _bus_burst(self, index: int, now: float) -> None:
        burst = self.bursts[index]
        if now < burst.busy_until:
            return  # still outputting the last burst: the trigger is ignored
        burst.busy_until = now + self._burst_seconds(index)
        self.bursts_started += 1
        if self.trigger_out and self.trigger_out_channel == index + 1:
            self.bench.triggers.pulse(f"{self.name}.trigger_out", now)

    @scpi("[:SOURce#]:BURSt:STATe")
    def _set_burst_state(self, value: str | None = None) -> None:
        self._change_burst("state", lambda: boolean(value))

    @scpi("[:SOURce#]:BURSt:STATe?")
    def _get_burst_state(self) -> str:
        return "1" if self._burst().state else "0"

    @scpi("[:SOURce#]:BURSt:MODE")
    def _set_burst_mode(self, value: str | None = None) -> None:
        self._change_burst("mode", lambda: mnemonic(value, _MODES))

    @scpi("[:SOURce#]:BURSt:MODE?")
    def _get_burst_mode(self) -> str:
        return self._burst().mode

    @scpi("[:SOURce#]:BURSt:NCYCles")
    def _set_cycles(self, value: str | None = None) -> None:
        self._change_burst(
            "cycles", lambda: int(number(value, low=1, high=CYCLES_MAX, default=1, integer=True))
        )

    @scpi("[:SOURce#]:BURSt:NCYCles?")
    def _get_cycles(self) -> str:
        return _nr3(self._burst().cycles)

    @scpi("[:SOURce#]:BURSt:INTernal:PERiod")
    def _set_burst_period(self, value: str | None = None) -> None:
        self._change_burst(
            "period", lambda: number(value, low=PERIOD_MIN, high=PERIOD_MAX, default=10e-3)
        )

    @scpi("[:SOURce#]:BURSt:INTernal:PERiod?")
    def _get_burst_period(self) -> str:
        return _nr3(self._burst().period)

    @scpi(":TRIGger#:SOURce")
    def _set_trigger_source(self, value: str | None = None) -> None:
        self._change_burst("source", lambda: mnemonic(value, _SOURCES))

    @scpi(":TRIGger#:SOURce?")
    def _get_trigger_source(self) -> str:
        return self._burst().source

    @scpi(":TRIGger#:TIMer")
    def _set_trigger_timer(self, value: str | None = None) -> None:
        self._change_burst(
            "timer", lambda: number(value, low=PERIOD_MIN, high=PERIOD_MAX, default=1e-3)
        )

    @scpi(":TRIGger#:TIMer?")
    def _get_trigger_timer(self) -> str:
        return _nr3(self._burst().timer)

    @scpi(":TRIGger#[:IMMediate]")
    def _trigger_now(self) -> None:
        burst = self._burst()
        if burst.source != "BUS":
            raise ScpiError(-211, "Trigger ignored")
        if burst.state and burst.mode == "TRIG":
            self._bus_burst(self.suffix() - 1, self.bench.now())

    @scpi(":OUTPut:TRIGger[:STATe]")
    def _set_trigger_out(self, value: str | None = None) -> None:
        with self.bench.lock:
            self.bench.sync()
            self.trigger_out = boolean(value)

    @scpi(":OUTPut:TRIGger[:STATe]?")
    def _get_trigger_out(self) -> str:
        return "1" if self.trigger_out else "0"

    @scpi(":OUTPut:TRIGger:SLOPe")
    def _set_trigger_slope(self, value: str | None = None) -> None:
        self.trigger_out_slope = mnemonic(value, _SLOPES)

    @scpi(":OUTPut:TRIGger:SLOPe?")
    def _get_trigger_slope(self) -> str:
        return self.trigger_out_slope

    @scpi(":OUTPut:TRIGger:SOURce")
    def _set_trigger_channel(self, value: str | None = None) -> None:
        channel = mnemonic(value, _CHANNELS)
        if channel > len(self.bursts):
            raise ScpiError(-221, "Settings conflict;no such channel")
        self.trigger_out_channel = channel

    @scpi(":OUTPut:TRIGger:SOURce?")
    def _get_trigger_channel(self) -> str:
        return f"CH{self.trigger_out_channel}"
