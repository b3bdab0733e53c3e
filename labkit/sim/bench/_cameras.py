"""The simulated PVCAM cameras' trigger inputs on the bench's trigger cables.

A Kinetix or Prime BSI takes an external trigger on its I/O connector; in an external trigger
exposure mode (``EXT_TRIG_EDGE_RISING``: each rising edge starts one exposure;
``EXT_TRIG_TRIG_FIRST``: the first edge starts the whole sequence) the camera exposes at the
edge. On the bench each simulated camera has an input ``<camera>.trigger_in`` (for example
``pvsim-kinetix.trigger_in``, cabled to the generator's Trig Out on the standard bench); it
hands each edge to the simulated libpvcam with the edge's time on the camera's clock
(``CLOCK_MONOTONIC``, as the library's), so each frame starts at its edge. An edge reaching
a camera that is closed, not acquiring or not in an external trigger mode goes nowhere, as on
a real bench.
"""

from __future__ import annotations

from typing import Any

from labkit.core import InstrumentError, MissingVendorLibrary

__all__ = ["PvcamTriggerInput", "attach_cameras"]


class PvcamTriggerInput:
    """The external trigger input of the simulated camera ``camera`` (a bench input)."""

    def __init__(self, bench: Any, camera: str) -> None:
        self.bench = bench
        self.camera = camera
        self.missed = 0  # edges that went nowhere (camera closed or not waiting for edges)

    def __call__(self, at: float) -> None:
        from labkit.sim.pvcam import controls

        sim = controls()
        handle = sim.handle_of(self.camera)
        at_ns = round(self.bench.clock.monotonic(at) * 1e9)
        try:
            if handle is None or not sim.hardware_trigger_at(handle, at_ns):
                self.missed += 1
        except InstrumentError:  # closed, not acquiring, or in an internal trigger mode
            self.missed += 1


def attach_cameras(bench: Any) -> list[str]:
    """Add the simulated cameras' trigger inputs to ``bench`` (none if the simulated libpvcam
    was not built); returns their names."""
    from labkit.sim.pvcam import KINETIX, PRIME_BSI, library_path

    try:
        library_path()
    except MissingVendorLibrary:
        return []
    names = []
    for camera in (KINETIX, PRIME_BSI):
        name = f"{camera}.trigger_in"
        bench.triggers.add_input(name, PvcamTriggerInput(bench, camera), prompt=True)
        names.append(name)
    return names
