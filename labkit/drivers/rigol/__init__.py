"""Rigol instruments."""

from labkit.drivers.rigol._ds1000z import RigolDS1000Z, ScopeChannel
from labkit.drivers.rigol._waveform import Preamble, Waveform

__all__ = ["Preamble", "RigolDS1000Z", "ScopeChannel", "Waveform"]
