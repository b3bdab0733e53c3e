"""The link to one PVCAM camera: the loaded library, the camera handle and every call on it.

A PVCAM camera is not message-based: the camera instrument holds this link where a message
instrument holds its transport. The instrument opens and closes it (``pl_pvcam_init`` and
``pl_cam_open``, reference-counted through :class:`~._api.PvcamLibrary`), reconnects through it and
does its parameter I/O through it on its worker thread; the acquisition thread only takes frames.
Parameter writes are called ``write_param`` so that ``labkit.testing.record`` logs them.

Once PVCAM reports the camera removed (the CAM_REMOVED callback, or a call refused with
``PL_ERR_DEVICE_REMOVED``), every failing call raises :class:`~._errors.CameraRemoved`, a
``ConnectionLost``: the instrument then knows to ask for ``reconnect()``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from labkit.core import NotConnectedError
from labkit.drivers.cameras.pvcam._api import BufferFrame, ContStatus, PvcamLibrary
from labkit.drivers.cameras.pvcam._errors import (
    CameraRemoved,
    ErrorCode,
    PvcamError,
    ReadoutFailed,
)
from labkit.drivers.cameras.pvcam._library import find_library
from labkit.drivers.cameras.pvcam._params import (
    Attr,
    CallbackEvent,
    CircMode,
    ImageStatus,
    SwTriggerStatus,
)
from labkit.drivers.cameras.pvcam._types import FrameInfo, Rgn
from labkit.drivers.cameras.pvcam._values import EnumItem

__all__ = ["PvcamLink", "configured_library"]

log = logging.getLogger(__name__)

_CALLBACKS = (CallbackEvent.EOF, CallbackEvent.CAM_REMOVED, CallbackEvent.CAM_RESUMED)


def configured_library() -> str | None:
    """``[pvcam] library`` from labkit's configuration file, if set."""
    from labkit.config import setting

    value = setting("pvcam", "library")
    return str(value) if value else None


def _is_removal(error: PvcamError) -> bool:
    return error.has_code(ErrorCode.DEVICE_REMOVED)


class PvcamLink:
    """One camera opened through one libpvcam.

    ``resource`` and ``timeout`` are what labkit instruments expect of a link; ``camera`` is the
    name asked for ("" for the first camera), ``name`` the one actually opened, ``hcam`` PVCAM's
    handle while open and ``library`` the :class:`PvcamLibrary`.
    """

    def __init__(
        self,
        resource: str,
        camera: str = "",
        *,
        library: str | os.PathLike[str] | None = None,
        timeout: float = 5.0,
    ) -> None:
        self.resource = resource
        self.timeout = timeout
        self.camera = camera
        self.name = camera
        self.library_path = library
        self.library: PvcamLibrary | None = None
        self.hcam: int | None = None
        self.removed = threading.Event()
        self._handlers: dict[int, Callable[[FrameInfo], None]] = {}

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self.hcam is not None

    def find(self) -> Path:
        """The library this link loads (raises ``MissingVendorLibrary`` when there is none)."""
        return find_library(self.library_path, configured=configured_library())

    def open(self) -> None:
        """Initialise PVCAM and open the camera exclusively."""
        if self.hcam is not None:
            return
        library = PvcamLibrary.load(self.find())
        library.init()
        try:
            names = library.camera_names()
            name = self.camera or (names[0] if names else "")
            if name not in names:
                raise PvcamError(
                    f"PVCAM sees no camera named {name!r}"
                    + (f" (it sees: {', '.join(map(repr, names))})" if names else " (none at all)"),
                    function="pl_cam_get_name",
                    resource=self.resource,
                    hint="Check the camera's cable and power, or use an address from "
                    "labkit.drivers.cameras.pvcam.list_cameras()",
                )
            self.hcam = library.open_camera(name)
        except BaseException:
            library.uninit()
            raise
        self.library, self.name = library, name
        self.removed.clear()

    def close(self) -> None:
        """Forget callbacks, close the camera (ending any acquisition) and release PVCAM."""
        library, hcam = self.library, self.hcam
        if library is None or hcam is None:
            return
        self.hcam = None
        try:
            for event in list(self._handlers):
                try:
                    library.deregister_callback(hcam, event)
                except PvcamError:
                    pass  # an unplugged camera may refuse; closing it still releases it
            self._handlers.clear()
            try:
                library.close_camera(hcam)
            except PvcamError as error:
                log.warning("closing PVCAM camera %s failed: %s", self.name, error)
        finally:
            library.uninit()

    # -- calls ------------------------------------------------------------------------------

    def _open(self) -> tuple[PvcamLibrary, int]:
        if self.library is None or self.hcam is None:
            raise NotConnectedError(
                f"the PVCAM camera {self.name or self.camera!r} is not open",
                hint="Call reconnect()",
            )
        return self.library, self.hcam

    def _translate(self, error: PvcamError) -> PvcamError:
        if not (self.removed.is_set() or _is_removal(error)):
            return error
        self.removed.set()
        return CameraRemoved(
            f"{self.name} was disconnected ({error.message})",
            function=error.function,
            pvcam_message=error.pvcam_message,
            code=error.code,
            command=error.command,
            resource=self.resource,
            hint="Check the camera's cable and power, then call reconnect()",
        )

    @contextlib.contextmanager
    def _calling(self) -> Iterator[tuple[PvcamLibrary, int]]:
        """The open library and camera handle, for one typed call on them; a failure that
        says the camera was removed is raised as :class:`~._errors.CameraRemoved`."""
        library, hcam = self._open()
        try:
            yield library, hcam
        except PvcamError as error:
            translated = self._translate(error)
            if translated is error:
                raise
            raise translated from error

    # -- parameters -------------------------------------------------------------------------

    def available(self, param: int) -> bool:
        """Whether the camera has ``param`` now (``ATTR_AVAIL``)."""
        with self._calling() as (library, hcam):
            return library.is_available(hcam, param)

    def read_param(self, param: int, attr: Attr | int = Attr.CURRENT) -> Any:
        with self._calling() as (library, hcam):
            return library.get_param(hcam, param, attr)

    def enum_items(self, param: int) -> list[EnumItem]:
        with self._calling() as (library, hcam):
            return library.enum_items(hcam, param)

    def write_param(self, param: int, value: Any) -> None:
        with self._calling() as (library, hcam):
            library.set_param(hcam, param, value)

    # -- callbacks --------------------------------------------------------------------------

    def register_callbacks(
        self,
        on_eof: Callable[[FrameInfo], None],
        on_removed: Callable[[], None],
        on_resumed: Callable[[], None],
    ) -> None:
        """Route PVCAM's EOF, CAM_REMOVED and CAM_RESUMED events; they run on PVCAM's thread,
        so the handlers must be quick and must not take a lock a PVCAM call may be waiting
        behind."""

        def removed(_info: FrameInfo) -> None:
            self.removed.set()
            on_removed()

        def resumed(_info: FrameInfo) -> None:
            on_resumed()

        handlers = {
            CallbackEvent.EOF: on_eof,
            CallbackEvent.CAM_REMOVED: removed,
            CallbackEvent.CAM_RESUMED: resumed,
        }
        for event in _CALLBACKS:
            with self._calling() as (library, hcam):
                library.register_callback(hcam, event, handlers[event])
            self._handlers[int(event)] = handlers[event]

    def deregister_callbacks(self) -> None:
        """Once this returns no callback runs any more (PVCAM waits for a running one)."""
        library, hcam = self.library, self.hcam
        if library is None or hcam is None:
            return
        for event in list(self._handlers):
            try:
                library.deregister_callback(hcam, event)
            except PvcamError:
                pass
            self._handlers.pop(event, None)

    # -- acquisition ------------------------------------------------------------------------

    def setup_seq(self, frames: int, regions: Sequence[Rgn], exposure: int, mode: int) -> int:
        """Set up ``frames`` frames; returns the size in bytes of one frame."""
        with self._calling() as (library, hcam):
            total = library.setup_seq(hcam, frames, list(regions), exposure, mode)
        return total // frames

    def setup_cont(self, regions: Sequence[Rgn], exposure: int, mode: int) -> int:
        """Set up continuous acquisition into a NO_OVERWRITE ring; returns one frame's size."""
        with self._calling() as (library, hcam):
            return library.setup_cont(hcam, list(regions), exposure, mode, CircMode.NO_OVERWRITE)

    def start_seq(self, buffer: np.ndarray) -> None:
        with self._calling() as (library, hcam):
            library.start_seq(hcam, buffer)

    def start_cont(self, buffer: np.ndarray) -> None:
        with self._calling() as (library, hcam):
            library.start_cont(hcam, buffer)

    def sequence_status(self) -> ImageStatus:
        with self._calling() as (library, hcam):
            return library.check_status(hcam)[0]

    def cont_status(self) -> ContStatus:
        """``pl_exp_check_cont_status(_ex)``: status, and the newest frame's number with _ex."""
        with self._calling() as (library, hcam):
            return library.check_cont_status(hcam)

    def get_oldest_frame(self) -> BufferFrame:
        with self._calling() as (library, hcam):
            return library.get_oldest_frame(hcam)

    def unlock_oldest_frame(self) -> None:
        with self._calling() as (library, hcam):
            library.unlock_oldest_frame(hcam)

    def finish_seq(self) -> None:
        with self._calling() as (library, hcam):
            library.finish_seq(hcam)

    def stop_cont(self) -> None:
        with self._calling() as (library, hcam):
            library.stop_cont(hcam)

    def trigger(self) -> SwTriggerStatus:
        with self._calling() as (library, hcam):
            return library.trigger(hcam)

    def readout_failed(self, function: str) -> ReadoutFailed:
        """The error for a READOUT_FAILED status (PVCAM records no error code for it)."""
        return ReadoutFailed(
            f"{self.name} reported a failed readout; the acquisition ended",
            function=function,
            resource=self.resource,
            hint="Start again; if it keeps failing, check the camera's cable and power",
        )
