"""The virtual bench: one shared, seeded physical scenario that virtual instruments act on.

``bench = Bench(seed=0)`` builds the physics (an electrical circuit with a device under test,
a thermal stage, a signal chain, a lamp and a spectrometer, and the trigger cables: the
generator's Trig Out goes to the DMM's Ext Trig input and to the simulated Kinetix camera's
trigger input), and serves the standard virtual
instruments under the real I/O libraries, so that ``Keithley2450(bench.address("smu"))`` is
the lab's own driver code talking through pyvisa. Instruments affect each other through the
physics: the SMU's current lights the LED the spectrometer sees; the heater warms the sample
and so the diode the SMU measures; the generator feeds the lock-in.

Time: the physics runs on :attr:`Bench.clock` (real time × ``time_scale``; tests freeze it and
:meth:`Bench.advance` it). Randomness: every noise source draws from its own stream seeded
from ``seed`` and the stream's name, so results do not depend on the order in which
instruments are read. With a frozen clock, a bench is exactly reproducible.

Extending: :meth:`Bench.add_subsystem` adds physics (a camera scene, a magnet), which gets
``advance(now)`` calls like the built-in ones; :meth:`Bench.add_instrument` serves another
virtual instrument wired to it.
"""

from __future__ import annotations

import contextlib
import importlib
import threading
import warnings
import weakref
import zlib
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from labkit.sim._served import serve, unserve
from labkit.sim.bench._cameras import attach_cameras
from labkit.sim.bench._circuit import Circuit
from labkit.sim.bench._clock import Clock
from labkit.sim.bench._optics import Optics
from labkit.sim.bench._signal import SignalChain
from labkit.sim.bench._thermal import ThermalStage
from labkit.sim.bench._triggers import TriggerLines

__all__ = ["INTERFACES", "Bench"]

INTERFACES = ("visa", "serial", "usb")
_TRIGGER_CABLES = (
    ("fg.trigger_out", "dmm.ext_trigger"),
    ("fg.trigger_out", "pvsim-kinetix.trigger_in"),  # the camera's I/O connector
)
_live: dict[str, weakref.ref[Bench]] = {}  # prefix -> the bench serving under it
_live_lock = threading.Lock()


class Bench:
    """A seeded virtual lab bench serving its instruments.

    ``dut`` picks the device under test (``"resistor"``, ``"diode"``, ``"led"``);
    ``time_scale`` is simulated seconds per real second (0 freezes the clock);
    ``instruments`` limits which standard instruments are served (default: all);
    ``prefix`` is put before every served name, so that several benches can coexist.
    """

    def __init__(
        self,
        seed: int = 0,
        *,
        dut: Any = "diode",
        time_scale: float = 1.0,
        instruments: Iterable[str] | None = None,
        prefix: str = "",
        ambient: float = 295.15,
    ) -> None:
        self.seed = int(seed)
        self.prefix = prefix
        self.clock = Clock(time_scale)
        self.lock = threading.RLock()
        self.triggers = TriggerLines(self)  # made first: close() stops its thread
        self._streams: dict[str, np.random.Generator] = {}
        self._subsystems: dict[str, Any] = {}
        self._instruments: dict[str, Any] = {}
        self._addresses: dict[str, dict[str, str]] = {}
        self._closed = False
        with _live_lock:
            previous = _live.get(prefix)
            _live[prefix] = weakref.ref(self)
        replaced = previous() if previous is not None else None
        self._replaced = replaced is not None
        if replaced is not None:
            replaced.close()  # a notebook cell run again: the new bench takes over
        self.thermal = self.add_subsystem(ThermalStage(self, ambient=ambient))
        self.circuit = self.add_subsystem(Circuit(self, dut))
        self.signal = self.add_subsystem(SignalChain(self))
        self.optics = self.add_subsystem(Optics(self))
        self.add_subsystem(self.triggers)  # edges after the physics they follow
        attach_cameras(self)
        from labkit.sim.twins import STANDARD_TWINS

        wanted = None if instruments is None else set(instruments)
        unknown = (wanted or set()) - {spec.name for spec in STANDARD_TWINS}
        if unknown:
            known = ", ".join(spec.name for spec in STANDARD_TWINS)
            raise ValueError(f"the bench has no instrument {sorted(unknown)} (it has {known})")
        for spec in STANDARD_TWINS:
            if wanted is None or spec.name in wanted:
                module_name, _, attribute = spec.factory.partition(":")
                factory = getattr(importlib.import_module(module_name), attribute)
                self.add_instrument(
                    spec.name, factory(self), interfaces=spec.interfaces, visa=spec.visa
                )
        for output, input in _TRIGGER_CABLES:  # the BNC cables of the standard bench
            with contextlib.suppress(ValueError):  # an instrument left out of this bench
                self.triggers.connect(output, input)

    # -- time and randomness --------------------------------------------------------------

    def now(self) -> float:
        """Simulated seconds since the bench started."""
        return self.clock.now()

    def sync(self) -> float:
        """Bring every subsystem up to now; returns the time."""
        with self.lock:
            now = self.clock.now()
            for subsystem in self._subsystems.values():
                subsystem.advance(now)
            return now

    def advance(self, seconds: float) -> float:
        """Let ``seconds`` of simulated time pass at once (the physics follows)."""
        with self.lock:
            self.sync()
            self.clock.advance(seconds)
            return self.sync()

    @contextlib.contextmanager
    def changing(self) -> Iterator[Bench]:
        """Change inputs atomically: ``with bench.changing(): ...`` syncs first, holds the lock."""
        with self.lock:
            self.sync()
            yield self

    def rng(self, stream: str) -> np.random.Generator:
        """The random stream ``stream`` (one per noise source), seeded from ``seed``."""
        with self.lock:
            generator = self._streams.get(stream)
            if generator is None:
                sequence = np.random.SeedSequence([self.seed, zlib.crc32(stream.encode())])
                generator = self._streams[stream] = np.random.default_rng(sequence)
            return generator

    # -- physics --------------------------------------------------------------------------

    def add_subsystem(self, subsystem: Any, name: str | None = None) -> Any:
        """Add physics: an object with ``advance(now)`` (and usually a ``name``)."""
        if not callable(getattr(subsystem, "advance", None)):
            raise TypeError(f"{subsystem!r} needs an advance(now) method to be a subsystem")
        key = name or getattr(subsystem, "name", None) or type(subsystem).__name__.lower()
        if key in self._subsystems:
            raise ValueError(f"the bench already has a subsystem {key!r}")
        self._subsystems[key] = subsystem
        return subsystem

    @property
    def subsystems(self) -> dict[str, Any]:
        return dict(self._subsystems)

    @property
    def dut(self) -> Any:
        """The device under test (its model, with its parameters)."""
        return self.circuit.dut

    @dut.setter
    def dut(self, device: Any) -> None:
        with self.lock:
            self.circuit.select(device)

    # -- instruments ----------------------------------------------------------------------

    def add_instrument(
        self,
        name: str,
        twin: Any,
        *,
        interfaces: Iterable[str] = ("serial",),
        visa: Iterable[str] = (),
    ) -> Any:
        """Serve ``twin`` as ``name`` through ``interfaces`` (``visa``, ``serial``, ``usb``).

        ``visa`` lists extra VISA resource names it answers (a GPIB address).
        """
        kinds = tuple(interfaces)
        bad = [k for k in kinds if k not in INTERFACES]
        if bad:
            raise ValueError(f"unknown interfaces {bad}; use {', '.join(INTERFACES)}")
        served_name = self.prefix + name
        aliases = list(visa) if not self.prefix else []
        serve(served_name, twin, visa=aliases)
        self._instruments[name] = twin
        addresses: dict[str, str] = {}
        for kind in kinds:
            if kind == "visa":
                addresses["visa"] = f"TCPIP0::{served_name}::INSTR@labkit"
                for alias in aliases:
                    key = alias.split("::")[0].rstrip("0123456789").casefold()
                    while key in addresses:
                        key += "+"
                    addresses[key] = f"{alias}@labkit"
            elif kind == "serial":
                addresses["serial"] = f"labsim://{served_name}"
            elif kind == "usb":
                addresses["usb"] = (
                    f"usb:{twin.vendor_id:#06x}:{twin.product_id:#06x}:{twin.serial_number}@labkit"
                )
        self._addresses[name] = addresses
        if self._replaced:
            self._reattach(name, addresses)
        return twin

    def _reattach(self, name: str, addresses: dict[str, str]) -> None:
        """Reconnect the instruments a notebook opened on the bench this one replaced (its
        cell was run again) to the new twin at the same address: the cells after it, and the
        instrument cells run again (which return the same instruments), keep working."""
        from labkit.core import instruments

        wanted = set(addresses.values())
        for instrument in instruments():
            if instrument.resource not in wanted or instrument.closed:
                continue
            try:
                instrument.reconnect()
            except Exception as error:  # the others still deserve their twin
                warnings.warn(
                    f"the bench's {name} is served again, but {instrument.name} could not "
                    f"reconnect to it: {error}",
                    stacklevel=3,
                )

    def instrument(self, name: str) -> Any:
        """The virtual instrument (twin) called ``name``: to inspect it or inject faults."""
        try:
            return self._instruments[name]
        except KeyError:
            raise KeyError(
                f"the bench has no instrument {name!r}; it has {', '.join(self._instruments)}"
            ) from None

    __getitem__ = instrument

    def names(self) -> list[str]:
        return list(self._instruments)

    def address(self, name: str, kind: str | None = None) -> str:
        """The address to connect a driver to: ``Keithley2450(bench.address("smu"))``.

        ``kind`` picks an interface (``"visa"``, ``"serial"``, ``"usb"``, or the interface of a
        VISA alias such as ``"gpib"``) when an instrument has several; the default is the
        first.
        """
        self.instrument(name)
        addresses = self._addresses[name]
        if kind is None:
            return next(iter(addresses.values()))
        try:
            return addresses[kind]
        except KeyError:
            raise KeyError(
                f"{name} is not served over {kind}; it is over {', '.join(addresses)}"
            ) from None

    def addresses(self) -> dict[str, dict[str, str]]:
        """Every instrument's addresses by interface."""
        return {name: dict(found) for name, found in self._addresses.items()}

    def inject(self, name: str, fault: str, **options: Any) -> None:
        """Inject a fault into one instrument: ``bench.inject("smu", "timeout")``."""
        self.instrument(name).faults.inject(fault, **options)

    def clear_faults(self, name: str | None = None) -> None:
        """Clear the faults of one instrument, or of all."""
        for key, twin in self._instruments.items():
            if name is None or key == name:
                twin.faults.clear()

    def close(self) -> None:
        """Stop serving this bench's instruments and pull their cables.

        Drivers still connected to them get ``ConnectionLost``; their ``reconnect()`` reaches
        whatever is served at the same address then (a new bench, after a cell is run again).
        """
        if self._closed:
            return
        self._closed = True
        self.triggers.close()
        with _live_lock:
            if _live.get(self.prefix) is not None and _live[self.prefix]() is self:
                del _live[self.prefix]
        for name, twin in self._instruments.items():
            twin.faults.inject("disconnect")
            unserve(self.prefix + name)

    def __enter__(self) -> Bench:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"<Bench seed={self.seed} t={self.now():.2f} s dut={self.dut.name} "
            f"instruments={', '.join(self._instruments)}>"
        )

    def _repr_pretty_(self, printer: Any, cycle: bool) -> None:
        printer.text(self.describe())

    def describe(self) -> str:
        """The instruments and their addresses, as a table for a notebook."""
        lines = [repr(self)]
        for name, addresses in self._addresses.items():
            lines.append(f"  {name:<14} " + "  ".join(addresses.values()))
        return "\n".join(lines)
