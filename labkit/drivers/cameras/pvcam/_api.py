"""labkit's ctypes binding to the PVCAM C API.

:class:`PvcamLibrary` wraps one loaded libpvcam — the vendor's or labkit's simulated one, chosen
only by path — with a declared prototype for every entry point it calls. Every call checks PVCAM's
``rs_bool`` result and turns a failure into a :class:`PvcamError` with PVCAM's code and message.
It stands on two layers: the prototyped C functions and PVCAM's error reporting
(``_cfunctions.py``) and typed parameter access with enumerations (``_param_access.py``). This
module adds the Python-shaped rest: ref-counted init, camera names, sequences, circular buffers
owned by NumPy with frames returned as NumPy views, and callbacks kept alive for as long as they
are registered.

The binding holds no camera state of its own beyond what keeps memory safe (the acquisition
buffers and callbacks it handed to the library); the camera Instrument builds on top of it.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from ctypes import c_int16, c_uint16, c_uint32, c_void_p
from typing import Any, ClassVar, NamedTuple

import numpy as np

from labkit.drivers.cameras.pvcam._errors import PvcamError
from labkit.drivers.cameras.pvcam._library import load_library
from labkit.drivers.cameras.pvcam._param_access import ParamAccess
from labkit.drivers.cameras.pvcam._params import (
    CAM_NAME_LEN,
    CallbackEvent,
    CcsAbortMode,
    CircMode,
    ExposureMode,
    ImageStatus,
    OpenMode,
    Param,
    SwTriggerStatus,
)
from labkit.drivers.cameras.pvcam._types import PVCAM_CALLBACK, FrameInfo, Rgn, RgnType

__all__ = ["BufferFrame", "ContStatus", "PvcamLibrary"]

log = logging.getLogger(__name__)

UINT32_MAX = 0xFFFFFFFF


class ContStatus(NamedTuple):
    """What ``pl_exp_check_cont_status(_ex)`` says of a continuous acquisition.

    ``status``: READOUT_FAILED, FRAME_AVAILABLE (a frame arrived), or an acquisition still
    waiting; ``bytes_arrived`` in the current pass over the buffer, ``passes`` completed passes;
    ``latest`` the 1-based number of the newest frame received (``_ex`` only, else None).
    """

    status: ImageStatus
    bytes_arrived: int
    passes: int
    latest: int | None


class BufferFrame:
    """One frame in an acquisition buffer: a NumPy view of its bytes and its ``FRAME_INFO``.

    ``data`` is a view into the buffer the library writes; in a circular buffer it is overwritten
    when the buffer wraps, so copy what must outlive the next frames.
    """

    __slots__ = ("data", "info", "offset")

    def __init__(self, data: np.ndarray, info: FrameInfo | None, offset: int) -> None:
        self.data = data
        self.info = info
        self.offset = offset

    @property
    def number(self) -> int | None:
        """PVCAM's 1-based frame number, when the library reported a ``FRAME_INFO``."""
        return self.info.FrameNr if self.info is not None else None

    def __repr__(self) -> str:
        return f"BufferFrame(number={self.number}, offset={self.offset}, nbytes={self.data.nbytes})"


class PvcamLibrary(ParamAccess):
    """One loaded PVCAM library and the Pythonic face of its C API.

    Get it with :meth:`load`; the same path gives the same object, so init/uninit reference
    counting is shared by every user in the process. Camera handles (``hcam``) are PVCAM's own
    ``int16`` handles.
    """

    _instances: ClassVar[dict[str, PvcamLibrary]] = {}
    _instances_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, cdll: ctypes.CDLL, path: str | os.PathLike[str]) -> None:
        super().__init__(cdll, path)
        self._lock = threading.RLock()
        self._init_count = 0
        self._callbacks: dict[tuple[int, int], Any] = {}
        self._buffers: dict[int, tuple[np.ndarray, int]] = {}
        self._frame_bytes: dict[int, int] = {}

    # ---- loading -------------------------------------------------------------------------------

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        configured: str | os.PathLike[str] | None = None,
    ) -> PvcamLibrary:
        """Find and load libpvcam (see :func:`~._library.find_library` for the search order)."""
        cdll, found = load_library(path, configured=configured)
        key = os.path.realpath(found) if os.path.isabs(found) else str(found)
        with cls._instances_lock:
            instance = cls._instances.get(key)
            if instance is None:
                instance = cls._instances[key] = cls(cdll, found)
            return instance

    def __repr__(self) -> str:
        return f"PvcamLibrary({str(self.path)!r}, initialized={self.initialized})"

    # ---- library -------------------------------------------------------------------------------

    def version(self) -> tuple[int, int, int]:
        """PVCAM's version as (major, minor, build): high byte, then the two low nibbles."""
        value = c_uint16()
        self.call("pl_pvcam_get_ver", ctypes.byref(value))
        v = value.value
        return v >> 8, (v >> 4) & 0xF, v & 0xF

    @property
    def initialized(self) -> bool:
        """Whether this process holds at least one :meth:`init`."""
        return self._init_count > 0

    def init(self) -> None:
        """Initialise PVCAM; calls nest, only the first reaches ``pl_pvcam_init``."""
        with self._lock:
            if self._init_count == 0:
                self.call("pl_pvcam_init")
            self._init_count += 1

    def uninit(self) -> None:
        """Release one :meth:`init`; the last calls ``pl_pvcam_uninit``; extra calls do nothing."""
        with self._lock:
            if self._init_count == 0:
                return
            if self._init_count == 1:
                self.call("pl_pvcam_uninit")
                self._forget(None)
            self._init_count -= 1

    def __enter__(self) -> PvcamLibrary:
        self.init()
        return self

    def __exit__(self, *exc: object) -> None:
        self.uninit()

    # ---- cameras -------------------------------------------------------------------------------

    def camera_count(self) -> int:
        """Number of cameras PVCAM sees."""
        total = c_int16()
        self.call("pl_cam_get_total", ctypes.byref(total))
        return total.value

    def camera_name(self, index: int) -> str:
        """The name of camera ``index`` (what :meth:`open_camera` takes)."""
        buffer = ctypes.create_string_buffer(CAM_NAME_LEN)
        self.call("pl_cam_get_name", index, buffer, describe=f"pl_cam_get_name({index})")
        return buffer.value.decode("utf-8", "replace")

    def camera_names(self) -> list[str]:
        """Names of all cameras, in PVCAM's order."""
        return [self.camera_name(i) for i in range(self.camera_count())]

    def open_camera(self, name: str) -> int:
        """Open camera ``name`` exclusively and return its handle."""
        hcam = c_int16()
        self.call(
            "pl_cam_open",
            name.encode(),
            ctypes.byref(hcam),
            OpenMode.EXCLUSIVE,
            describe=f"pl_cam_open({name!r})",
        )
        return hcam.value

    def close_camera(self, hcam: int) -> None:
        """Close a camera; PVCAM stops its acquisition and drops its callbacks."""
        self.call("pl_cam_close", hcam, describe=f"pl_cam_close({hcam})")
        with self._lock:
            self._forget(hcam)

    def _forget(self, hcam: int | None) -> None:
        """Drop buffers, callbacks and cached types of one camera (all when ``hcam`` is None)."""
        for table in (self._callbacks, self._types):
            for key in [k for k in table if hcam is None or k[0] == hcam]:
                del table[key]
        for cam_table in (self._buffers, self._frame_bytes):
            for cam in [k for k in cam_table if hcam is None or k == hcam]:
                del cam_table[cam]

    # ---- acquisition setup ---------------------------------------------------------------------

    def default_exposure_mode(self, hcam: int) -> int:
        """The camera's first reported exposure mode OR-ed with its current expose-out mode.

        Cameras that report extended modes want them in ``exp_mode``; older cameras report the
        classic ones, for which no expose-out mode is added, or nothing at all (TIMED then).
        """
        if not self.is_available(hcam, Param.EXPOSURE_MODE):
            return ExposureMode.TIMED
        mode = self.enum_items(hcam, Param.EXPOSURE_MODE)[0].value
        if mode >= 256 and self.is_available(hcam, Param.EXPOSE_OUT_MODE):
            mode |= self.get_param(hcam, Param.EXPOSE_OUT_MODE)
        return mode

    @staticmethod
    def _regions(regions: Iterable[Rgn | Sequence[int]]) -> Any:
        rgns = [RgnType.from_region(r) for r in regions]
        if not rgns:
            raise ValueError("at least one region is needed")
        return (RgnType * len(rgns))(*rgns)

    def setup_seq(
        self,
        hcam: int,
        frames: int,
        regions: Iterable[Rgn | Sequence[int]],
        exposure: int,
        exp_mode: int | None = None,
    ) -> int:
        """Prepare a sequence of ``frames`` frames; return the whole sequence's size in bytes.

        ``exposure`` is in the camera's current ``PARAM_EXP_RES`` unit. ``exp_mode`` defaults to
        :meth:`default_exposure_mode`.
        """
        rgns = self._regions(regions)
        mode = self.default_exposure_mode(hcam) if exp_mode is None else exp_mode
        total = c_uint32()
        self.call(
            "pl_exp_setup_seq",
            hcam,
            frames,
            len(rgns),
            rgns,
            mode,
            exposure,
            ctypes.byref(total),
            describe=f"pl_exp_setup_seq({hcam}, {frames} frames, {list(rgns)}, mode {mode}, "
            f"exposure {exposure})",
        )
        with self._lock:
            self._frame_bytes[hcam] = total.value // frames
        return total.value

    def setup_cont(
        self,
        hcam: int,
        regions: Iterable[Rgn | Sequence[int]],
        exposure: int,
        exp_mode: int | None = None,
        circ_mode: CircMode | int = CircMode.OVERWRITE,
    ) -> int:
        """Prepare continuous acquisition into a circular buffer; return one frame's size."""
        rgns = self._regions(regions)
        mode = self.default_exposure_mode(hcam) if exp_mode is None else exp_mode
        frame = c_uint32()
        self.call(
            "pl_exp_setup_cont",
            hcam,
            len(rgns),
            rgns,
            mode,
            exposure,
            ctypes.byref(frame),
            circ_mode,
            describe=f"pl_exp_setup_cont({hcam}, {list(rgns)}, mode {mode}, exposure {exposure}, "
            f"{CircMode(circ_mode).name})",
        )
        with self._lock:
            self._frame_bytes[hcam] = frame.value
        return frame.value

    def frame_bytes(self, hcam: int) -> int:
        """Size of one frame as reported by the last setup on this camera."""
        try:
            return self._frame_bytes[hcam]
        except KeyError:
            raise PvcamError(
                "no acquisition has been set up on this camera",
                function="pl_exp_setup_seq",
                hint="Call setup_seq() or setup_cont() first",
            ) from None

    @staticmethod
    def new_buffer(frame_bytes: int, frames: int) -> np.ndarray:
        """A zeroed NumPy buffer for ``frames`` frames, the kind :meth:`start_cont` takes.

        The zeros are written, not just mapped (as ``np.zeros`` would leave them), so the first
        pass of the camera over the buffer does not stall on page faults.
        """
        buffer = np.empty(frame_bytes * frames, dtype=np.uint8)
        buffer.fill(0)
        return buffer

    @staticmethod
    def _check_buffer(buffer: np.ndarray) -> None:
        if not isinstance(buffer, np.ndarray) or buffer.dtype != np.uint8 or buffer.ndim != 1:
            raise TypeError("the acquisition buffer must be a 1-D numpy.uint8 array")
        if not (buffer.flags.c_contiguous and buffer.flags.writeable):
            raise ValueError("the acquisition buffer must be C-contiguous and writable")

    @contextlib.contextmanager
    def _adopting(self, hcam: int, buffer: np.ndarray) -> Iterator[None]:
        """Hold ``buffer`` as the camera's acquisition buffer while a start call runs.

        It is registered before the call, so callbacks of the first frames find it, and the
        previous buffer is put back if the library refuses the start: a refused start must not
        release the buffer an acquisition that is still running writes into. The buffer then
        stays referenced until the next start or close, so frame views and late calls stay safe.
        """
        self._check_buffer(buffer)
        entry = (buffer, self.frame_bytes(hcam))
        with self._lock:
            previous = self._buffers.get(hcam)
            self._buffers[hcam] = entry
        try:
            yield
        except BaseException:
            with self._lock:
                if self._buffers.get(hcam) is entry:
                    if previous is None:
                        del self._buffers[hcam]
                    else:
                        self._buffers[hcam] = previous
            raise

    # ---- sequences -----------------------------------------------------------------------------

    def start_seq(self, hcam: int, buffer: np.ndarray) -> None:
        """Start the sequence set up last, writing into ``buffer`` (the whole sequence's size)."""
        with self._adopting(hcam, buffer):
            self.call("pl_exp_start_seq", hcam, buffer.ctypes.data_as(c_void_p))

    def check_status(self, hcam: int) -> tuple[ImageStatus, int]:
        """(status, bytes arrived) of a sequence; READOUT_COMPLETE means the sequence is done."""
        status, arrived = c_int16(), c_uint32()
        self.call("pl_exp_check_status", hcam, ctypes.byref(status), ctypes.byref(arrived))
        return ImageStatus(status.value), arrived.value

    def finish_seq(self, hcam: int) -> None:
        """End a sequence (PVCAM aborts it if still running)."""
        buffer = self._buffers.get(hcam)
        pointer = buffer[0].ctypes.data_as(c_void_p) if buffer else None
        self.call("pl_exp_finish_seq", hcam, pointer, 0)

    # ---- continuous acquisition ----------------------------------------------------------------

    def start_cont(self, hcam: int, buffer: np.ndarray) -> None:
        """Start continuous acquisition into ``buffer``, a whole number of frames (< 4 GiB)."""
        if buffer.nbytes > UINT32_MAX:
            raise ValueError("PVCAM circular buffers must be smaller than 4 GiB")
        with self._adopting(hcam, buffer):
            self.call(
                "pl_exp_start_cont",
                hcam,
                buffer.ctypes.data_as(c_void_p),
                buffer.nbytes,
                describe=f"pl_exp_start_cont({hcam}, {buffer.nbytes} bytes)",
            )

    def check_cont_status(self, hcam: int) -> ContStatus:
        """How a continuous acquisition stands: status, bytes of this pass, passes, and with
        ``pl_exp_check_cont_status_ex`` (when the library has it) the newest frame's number."""
        status, arrived, passes = c_int16(), c_uint32(), c_uint32()
        if self.exports("pl_exp_check_cont_status_ex"):
            info = FrameInfo()
            self.call(
                "pl_exp_check_cont_status_ex",
                hcam,
                ctypes.byref(status),
                ctypes.byref(arrived),
                ctypes.byref(passes),
                ctypes.byref(info),
            )
            latest: int | None = max(int(info.FrameNr), 0)
        else:
            self.call(
                "pl_exp_check_cont_status",
                hcam,
                ctypes.byref(status),
                ctypes.byref(arrived),
                ctypes.byref(passes),
            )
            latest = None
        return ContStatus(ImageStatus(status.value), arrived.value, passes.value, latest)

    def _frame(self, hcam: int, name: str) -> BufferFrame:
        pointer = c_void_p()
        info: FrameInfo | None = None
        if self.exports(f"{name}_ex"):
            info = FrameInfo()
            self.call(f"{name}_ex", hcam, ctypes.byref(pointer), ctypes.byref(info))
        else:
            self.call(name, hcam, ctypes.byref(pointer))
        adopted = self._buffers.get(hcam)
        if adopted is None:
            raise PvcamError(
                f"{name}: no acquisition buffer was started through this binding",
                function=name,
                hint="Start the acquisition with start_cont()",
            )
        buffer, frame_bytes = adopted
        offset = (pointer.value or 0) - buffer.ctypes.data
        if offset < 0 or offset + frame_bytes > buffer.nbytes:
            raise PvcamError(
                f"{name} returned a frame outside the acquisition buffer",
                function=name,
                resource=str(self.path),
            )
        return BufferFrame(buffer[offset : offset + frame_bytes], info, offset)

    def get_latest_frame(self, hcam: int) -> BufferFrame:
        """The newest complete frame, as a view into the acquisition buffer."""
        return self._frame(hcam, "pl_exp_get_latest_frame")

    def get_oldest_frame(self, hcam: int) -> BufferFrame:
        """The oldest frame not yet released; release it with :meth:`unlock_oldest_frame`."""
        return self._frame(hcam, "pl_exp_get_oldest_frame")

    def unlock_oldest_frame(self, hcam: int) -> None:
        """Release the oldest frame so the camera may write its slot again."""
        self.call("pl_exp_unlock_oldest_frame", hcam)

    def trigger(self, hcam: int) -> SwTriggerStatus:
        """Send a software trigger; IGNORED means an exposure was still in progress."""
        flags = c_uint32(0)
        self.call("pl_exp_trigger", hcam, ctypes.byref(flags), 0)
        return SwTriggerStatus(flags.value)

    def stop_cont(self, hcam: int, mode: CcsAbortMode | int = CcsAbortMode.HALT) -> None:
        """Stop continuous acquisition; no frame is written and no callback runs afterwards."""
        self.call("pl_exp_stop_cont", hcam, mode)

    def abort(self, hcam: int, mode: CcsAbortMode | int = CcsAbortMode.HALT) -> None:
        """Abort any acquisition."""
        self.call("pl_exp_abort", hcam, mode)

    # ---- callbacks -----------------------------------------------------------------------------

    def register_callback(
        self,
        hcam: int,
        event: CallbackEvent | int,
        function: Callable[[FrameInfo], object],
    ) -> None:
        """Call ``function(frame_info)`` on ``event``, from PVCAM's own thread.

        ``frame_info`` is a copy, safe to keep. Exceptions are logged, never raised into C. The
        callback runs with the GIL held: keep it short (hand the frame number to a queue).
        """
        event = CallbackEvent(event)

        def trampoline(info_pointer: Any, _context: Any) -> None:
            try:
                info = info_pointer.contents.copy() if info_pointer else FrameInfo()
                function(info)
            except BaseException:  # nothing may propagate into PVCAM's thread
                log.exception("PVCAM %s callback of camera %s failed", event.name, hcam)

        c_function = PVCAM_CALLBACK(trampoline)
        with self._lock:
            self.call(
                "pl_cam_register_callback_ex3",
                hcam,
                event,
                ctypes.cast(c_function, c_void_p),
                None,
                describe=f"pl_cam_register_callback_ex3({hcam}, {event.name})",
            )
            # The C side holds a raw pointer: the CFUNCTYPE object must outlive the registration.
            self._callbacks[(hcam, int(event))] = c_function

    def deregister_callback(self, hcam: int, event: CallbackEvent | int) -> None:
        """Remove the callback of ``event``; once this returns it will not be called again."""
        event = CallbackEvent(event)
        self.call(
            "pl_cam_deregister_callback",
            hcam,
            event,
            describe=f"pl_cam_deregister_callback({hcam}, {event.name})",
        )
        with self._lock:
            self._callbacks.pop((hcam, int(event)), None)
