"""labkit's notebook widgets: instrument panels, run widgets and live views.

This is the only package that imports ipywidgets and bqplot; the rest of labkit works headless.
``inst.panel()`` calls :func:`instrument_panel`, and a ``Run`` shown in a notebook calls
:class:`RunWidget` (run controls over the run's live views, :func:`live_view`), through the
display hooks ``labkit`` registers. :func:`camera_view` shows any camera live, with or without
a run. How live views keep up without slowing anything: :mod:`labkit.ui._live`.
"""

from labkit.ui._camera_view import CONTRAST_MODES, CameraView, camera_view
from labkit.ui._image import COLORMAPS
from labkit.ui._live import DEFAULT_RATE, LiveChannel, Scheduler
from labkit.ui._panel import InstrumentPanel, Section, instrument_panel
from labkit.ui._plots import HeatMapPlot, LinePlot
from labkit.ui._roi import CameraRoi, RoiControl, register_roi_adapter, roi_control
from labkit.ui._rows import ReadingRow, SettingRow
from labkit.ui._run_live import RunLive, live_view
from labkit.ui.run_widget import RunWidget

__all__ = [
    "COLORMAPS",
    "CONTRAST_MODES",
    "DEFAULT_RATE",
    "CameraRoi",
    "CameraView",
    "HeatMapPlot",
    "InstrumentPanel",
    "LinePlot",
    "LiveChannel",
    "ReadingRow",
    "RoiControl",
    "RunLive",
    "RunWidget",
    "Scheduler",
    "Section",
    "SettingRow",
    "camera_view",
    "instrument_panel",
    "live_view",
    "register_roi_adapter",
    "roi_control",
]


def __getattr__(name: str) -> object:
    from labkit.ui import _roi

    return getattr(_roi, name)  # GenICamRoi, RegionsRoi: moved, with a DeprecationWarning
