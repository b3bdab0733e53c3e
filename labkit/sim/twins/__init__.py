"""Virtual twins of real instruments, wired to the bench's physics.

Each twin speaks its instrument's documented protocol (written from the manual, never from
the driver: ``sim`` does not import drivers) and answers readings from the bench. A
:class:`labkit.sim.Bench` serves every twin listed in :data:`STANDARD_TWINS`.

Adding a twin (see also the recipe in ``labkit.sim``'s docs):

1. write ``_<model>.py`` here with a class taking the bench (``ScpiTwin`` for SCPI
   instruments, ``VirtualInstrument`` for other text protocols, ``VirtualUsbDevice`` for USB);
2. append a :class:`TwinSpec` to :data:`STANDARD_TWINS`: its bench name, the class as
   ``"module:Class"`` (imported when a bench is built), the interfaces the real instrument
   has, and any VISA aliases (its usual GPIB address).
"""

from __future__ import annotations

import dataclasses

__all__ = ["STANDARD_TWINS", "TwinSpec"]


@dataclasses.dataclass(frozen=True)
class TwinSpec:
    """A bench instrument: ``name`` on the bench, ``factory`` ``"module:Class"`` called with
    the bench, ``interfaces`` from ``visa``/``serial``/``usb`` (the first is the default
    address), ``visa`` extra VISA resource names."""

    name: str
    factory: str
    interfaces: tuple[str, ...]
    visa: tuple[str, ...] = ()
    doc: str = ""


STANDARD_TWINS: list[TwinSpec] = [
    TwinSpec(
        "smu",
        "labkit.sim.twins._keithley2450:Keithley2450Twin",
        ("visa",),
        ("GPIB0::18::INSTR",),
        "Keithley 2450 source-measure unit driving the device under test",
    ),
    TwinSpec(
        "dmm",
        "labkit.sim.twins._keysight34465a:Keysight34465ATwin",
        ("visa",),
        ("GPIB0::22::INSTR",),
        "Keysight 34465A DMM across the device under test",
    ),
    TwinSpec(
        "psu",
        "labkit.sim.twins._e3631a:E3631ATwin",
        ("visa", "serial"),
        ("GPIB0::5::INSTR",),
        "Agilent E3631A supply: its +6 V output heats the stage, its +25 V output lights the lamp",
    ),
    TwinSpec(
        "tc",
        "labkit.sim.twins._tc200:TC200Twin",
        ("serial",),
        (),
        "Thorlabs TC200 heater controller closing the loop on the stage's heater",
    ),
    TwinSpec(
        "spectrometer",
        "labkit.sim.twins._oceanoptics:USB2000PlusTwin",
        ("usb",),
        (),
        "Ocean Optics USB2000+ spectrometer on the fibre that sees the lamp and the LED",
    ),
    TwinSpec(
        "usb4000",
        "labkit.sim.twins._oceanoptics:USB4000Twin",
        ("usb",),
        (),
        "Ocean Optics USB4000 spectrometer on the same fibre",
    ),
    TwinSpec(
        "fg",
        "labkit.sim.twins._keysight33500b:Keysight33500BTwin",
        ("visa",),
        ("GPIB0::10::INSTR",),
        "Keysight 33522B function generator; output 1 feeds the signal path",
    ),
    TwinSpec(
        "lockin",
        "labkit.sim.twins._sr830:SR830Twin",
        ("visa", "serial"),
        ("GPIB0::8::INSTR",),
        "SRS SR830 lock-in at the end of the signal path (GPIB and RS-232)",
    ),
    TwinSpec(
        "scope",
        "labkit.sim.twins._rigol_ds1000z:RigolDS1000ZTwin",
        ("visa",),
        ("USB0::0x1AB1::0x04CE::DS1ZA000000001::INSTR",),
        "Rigol DS1054Z oscilloscope: CH1 on the generator, CH2 on the lock-in input",
    ),
]
