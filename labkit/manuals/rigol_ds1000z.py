"""Rigol DS1000Z oscilloscopes: tables from the MSO1000Z/DS1000Z Programming Guide."""

from __future__ import annotations

__all__ = ["PROBE_RATIOS"]

PROBE_RATIOS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)
"""``:CHANnel<n>:PROBe``: the attenuation ratios the scope takes (others are refused, -222)."""
