"""Rigol DS1000Z oscilloscopes: tables from the MSO1000Z/DS1000Z Programming Guide."""

from __future__ import annotations

__all__ = [
    "OFFSET_NARROW",
    "OFFSET_WIDE",
    "OFFSET_WIDE_FROM",
    "PROBE_RATIOS",
    "TRIGGER_DIVISIONS",
    "VOLTS_PER_DIVISION",
]

PROBE_RATIOS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
"""``:CHANnel<n>:PROBe``: the attenuation ratios the scope takes (others are refused, -222)."""

VOLTS_PER_DIVISION = (1e-3, 10.0)
"""``:CHANnel<n>:SCALe``: 1 mV/div … 10 V/div at a 1× probe; both ends scale with the probe
ratio."""

OFFSET_WIDE_FROM = 0.5
"""``:CHANnel<n>:OFFSet``: from this scale (V/div at a 1× probe) up, the offset reaches
:data:`OFFSET_WIDE`; below it, :data:`OFFSET_NARROW`."""

OFFSET_WIDE = 100.0
"""Volts of offset either way (at a 1× probe, times the ratio) from 500 mV/div up."""

OFFSET_NARROW = 2.0
"""Volts of offset either way (at a 1× probe, times the ratio) below 500 mV/div."""

TRIGGER_DIVISIONS = 5
"""``:TRIGger:EDGe:LEVel``: within this many divisions of the source channel's screen centre
(-5 × scale - offset … 5 × scale - offset)."""
