"""The link to one GenICam camera: its harvesters ``ImageAcquirer``, node I/O and buffer fetching.

A GenICam camera is not message-based: settings are nodes of a node map, images arrive in
buffers. The camera instrument holds this link where a message instrument holds its transport:
the instrument opens and closes it, reconnects through it, and does all node I/O through it on
its worker thread; the acquisition thread only fetches. A test may swap a recording wrapper in
(``labkit.testing.record``): node writes are called ``write_node``, so they are recorded.

Fetching never waits inside GenICam: harvesters' wait for a new buffer holds Python's global lock
for its whole duration, so :meth:`GenICamLink.fetch` polls with a zero timeout and the caller
sleeps (without the lock) between polls. Every fetched buffer is copied into a NumPy array and
queued back to the camera before ``fetch`` returns, whatever happens while decoding it.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from labkit.core import ConnectionLost, FrameFormatError, InstrumentError, NotConnectedError
from labkit.drivers.cameras.genicam._errors import is_genicam_error, translate
from labkit.drivers.cameras.genicam._pixels import decode, part_names
from labkit.drivers.cameras.genicam._system import CameraInfo, OpenDevice, open_device

__all__ = ["GenICamLink", "RawFrame"]

_POLL = 1e-4
"""Seconds harvesters may spend looking for a filled buffer per poll (it never blocks)."""


@dataclasses.dataclass(frozen=True)
class RawFrame:
    """One image copied out of a camera buffer, with what the buffer said about it.

    ``pixels``, ``pixel_format`` and the geometry are the buffer's first image; a multi-part
    buffer (a 3D camera's intensity and coordinates) has every image in ``parts``, named by
    :func:`~._pixels.part_names`, and their formats in ``part_formats``.
    """

    pixels: np.ndarray
    arrived: float
    pixel_format: str
    width: int
    height: int
    offset_x: int
    offset_y: int
    frame_id: int | None
    device_time: float | None
    chunks: dict[str, Any]
    parts: dict[str, np.ndarray] = dataclasses.field(default_factory=dict)
    part_formats: dict[str, str] = dataclasses.field(default_factory=dict)


class GenICamLink:
    """One camera opened through its GenTL producer (see :mod:`._system` for addresses).

    ``resource`` and ``timeout`` are what labkit instruments expect of a link; ``open()`` /
    ``close()`` open and release the device (the acquirer is destroyed, the producer released
    with its last camera). ``lock`` serialises fetching with stopping and closing, so a buffer
    is never read while its stream is being torn down.
    """

    def __init__(self, resource: str, *, producers: Any = None, timeout: float = 5.0) -> None:
        self.resource = resource
        self.timeout = timeout
        self.producers = producers
        self.lock = threading.RLock()
        self._device: OpenDevice | None = None
        self._chunks: tuple[str, ...] = ()
        self._tick_seconds: float | None = None

    # -- lifecycle --------------------------------------------------------------------------

    @property
    def is_open(self) -> bool:
        return self._device is not None

    def open(self) -> None:
        """Open the camera (exclusive access)."""
        if self._device is not None:
            return
        device = _off_main_thread(open_device, self.resource, self.producers)
        acquirer = device.acquirer
        # Poll without waiting in C: see the module's doc string.
        acquirer.timeout_period_on_update_event_data_call = 0
        self._device = device

    def close(self) -> None:
        with self.lock:
            device, self._device = self._device, None
            if device is not None:
                device.close()

    def clear(self) -> None:
        """Nothing to discard: a camera link has no pending replies."""

    @property
    def device(self) -> OpenDevice:
        if self._device is None:
            raise NotConnectedError(
                "the camera is not open", hint="Call reconnect() to open it again"
            )
        return self._device

    @property
    def info(self) -> CameraInfo:
        return self.device.info

    @property
    def acquirer(self) -> Any:
        """harvesters' ``ImageAcquirer`` for this camera (for experts and fault tests)."""
        return self.device.acquirer

    @property
    def harvester(self) -> Any:
        return self.device.harvester

    @property
    def node_map(self) -> Any:
        """The camera's GenApi node map (every feature, unchecked: for experts)."""
        return self.acquirer.remote_device.node_map

    # -- nodes ------------------------------------------------------------------------------

    def node(self, name: str) -> Any:
        return self.node_map.get_node(name)

    def read_node(self, name: str, reader: Any) -> Any:
        """``reader(node)`` on the node called ``name``, GenICam errors made labkit ones."""
        try:
            return reader(self.node(name))
        except Exception as error:
            raise self._translated(error, f"reading {name}") from None

    def write_node(self, name: str, value: Any) -> None:
        try:
            self.node(name).value = value
        except Exception as error:
            raise self._translated(error, f"writing {value!r} to {name}", value) from None

    def execute_node(self, name: str, timeout: float) -> None:
        """Run a command node and wait until the camera reports it done."""
        try:
            command = self.node(name)
            command.execute()
            deadline = time.monotonic() + timeout
            while not command.is_done():
                if time.monotonic() > deadline:
                    from labkit.core import InstrumentTimeout

                    raise InstrumentTimeout(
                        f"{name} was not done within {timeout} s",
                        command=name,
                        hint="Give the command more time (command_timeout=) or check the camera",
                    )
                time.sleep(0.005)
        except Exception as error:
            raise self._translated(error, f"executing {name}") from None

    def watch(self, name: str, callback: Any) -> None:
        """Call ``callback(name)`` whenever GenApi says the node may have changed."""
        self.acquirer.remote_device.register_node_callback(
            node_name=name, callback=lambda _node, _context: callback(name)
        )

    def _translated(self, error: BaseException, doing: str, value: Any = None) -> BaseException:
        if is_genicam_error(error):
            translated = translate(error, doing=doing, value=value)
            if isinstance(translated, InstrumentError):
                translated.resource = self.resource
            return translated
        return error

    # -- streaming --------------------------------------------------------------------------

    def start_stream(self, *, buffers: int, chunks: tuple[str, ...] = ()) -> None:
        """Announce ``buffers`` buffers and start acquisition on the camera."""
        acquirer = self.acquirer
        self._chunks = chunks
        self._tick_seconds = self._tick()
        try:
            acquirer.num_buffers = max(int(buffers), int(acquirer.min_num_buffers))
            acquirer.start()
        except Exception as error:
            raise self._translated(error, "starting acquisition") from None

    def _tick(self) -> float | None:
        try:
            frequency = float(self.acquirer.device.module.timestamp_frequency)
        except Exception:
            return None
        return 1.0 / frequency if frequency > 0 else None

    def stop_stream(self) -> None:
        """Stop acquisition and revoke the buffers (quietly if the camera is already gone)."""
        with self.lock:
            if self._device is None:
                return
            try:
                self._device.acquirer.stop()
            except Exception as error:
                raise self._translated(error, "stopping acquisition") from None

    def fetch(self) -> RawFrame | None:
        """The next filled buffer as a :class:`RawFrame`, or None if none is ready yet.

        Raises ``ConnectionLost`` when the stream fails (the camera went away) and
        ``FrameFormatError`` when a buffer cannot be decoded.
        """
        with self.lock:
            device = self._device
            if device is None or not device.acquirer.is_valid():
                raise ConnectionLost(
                    "the camera's acquirer was released",
                    resource=self.resource,
                    hint="Call reconnect() to open the camera again",
                )
            acquirer = device.acquirer
            try:
                raw = acquirer.try_fetch(timeout=_POLL, is_raw=True)
            except Exception as error:
                if is_genicam_error(error):
                    lost = translate(error, doing="fetching an image")
                    raise ConnectionLost(
                        lost.message,
                        resource=self.resource,
                        hint="Check the camera's cable and power, then call reconnect()",
                    ) from error
                raise ConnectionLost(
                    f"fetching an image failed: {error!r}",
                    resource=self.resource,
                    hint="Call reconnect() to open the camera again",
                ) from error
            if raw is None:
                return None
            extra: list[Any] = []
            if isinstance(raw, list):  # several data streams: the first one carries the image
                raw, extra = raw[0], [b for b in raw[1:] if b is not None]
            try:
                return self._decode(raw, acquirer, time.time())
            finally:
                for buffer in (raw, *extra):
                    if buffer is not None:
                        try:
                            buffer.parent.queue_buffer(buffer)
                        except Exception:
                            pass  # the stream is going away; stop() revokes the buffers

    def _decode(self, raw: Any, acquirer: Any, arrived: float) -> RawFrame | None:
        from harvesters.core import Buffer
        from harvesters.util.pfnc import dict_by_ints

        node_map = acquirer.remote_device.node_map
        try:
            buffer = Buffer(module=raw, node_map=node_map, acquire=acquirer)
        except Exception as error:
            if is_genicam_error(error):
                return None  # an incomplete buffer: the camera counts it, harvesters logs it
            code = _attribute(raw, "pixel_format")
            name = dict_by_ints.get(code, f"code {code:#x}" if isinstance(code, int) else "?")
            raise FrameFormatError(
                f"a buffer in pixel format {name} could not be read ({error!r})",
                hint="Choose another pixel_format on the camera",
            ) from None
        payload = buffer.payload
        components = [c for c in (payload.components if payload else []) if hasattr(c, "width")]
        if not components:
            raise FrameFormatError(
                f"the camera sent a {type(payload).__name__} payload, not an image",
                hint="Check the camera's payload and GenDC settings",
            )
        memory = raw.raw_buffer
        images = [
            decode(
                memory,
                c.data_format,
                int(c.width),
                int(c.height),
                offset=int(c.data_offset),
                padding_x=_number(lambda c=c: c.x_padding),
            )
            for c in components
        ]
        formats = [str(c.data_format) for c in components]
        component = components[0]
        pixel_format = formats[0]
        width, height = int(component.width), int(component.height)
        names = part_names(formats) if len(components) > 1 else []
        return RawFrame(
            pixels=images[0],
            arrived=arrived,
            pixel_format=pixel_format,
            width=width,
            height=height,
            offset_x=_number(lambda: component.x_offset),
            offset_y=_number(lambda: component.y_offset),
            frame_id=_attribute(raw, "frame_id"),
            device_time=self._device_time(raw),
            chunks=self._read_chunks(node_map),
            parts=dict(zip(names, images, strict=False)),
            part_formats=dict(zip(names, formats, strict=False)),
        )

    def _device_time(self, raw: Any) -> float | None:
        stamp = _attribute(raw, "timestamp_ns")
        if isinstance(stamp, int) and stamp > 0:
            return stamp * 1e-9
        stamp = _attribute(raw, "timestamp")
        if isinstance(stamp, int) and stamp > 0 and self._tick_seconds is not None:
            return stamp * self._tick_seconds
        return None

    def _read_chunks(self, node_map: Any) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name in self._chunks:
            try:
                node = node_map.get_node(name)
                if int(node.node.get_access_mode()) in (3, 4):
                    value = node.value
                    values[name] = value if isinstance(value, (int, float, bool)) else str(value)
            except Exception:
                continue  # chunk data the camera did not attach to this buffer
        return values


def _off_main_thread(function: Callable[..., Any], *args: Any) -> Any:
    """Run ``function`` on a helper thread when called from the main one.

    harvesters installs its own Ctrl-C handler (which swallows the interrupt and destroys the
    acquirer) when an acquirer is made on the main thread; a notebook must keep its own.
    """
    if threading.current_thread() is not threading.main_thread():
        return function(*args)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="labkit-genicam-open") as pool:
        return pool.submit(function, *args).result()


def _attribute(raw: Any, name: str) -> Any:
    try:
        return getattr(raw, name)
    except Exception:  # GenTL NotAvailable: the producer does not report it
        return None


def _number(read: Any) -> int:
    """An optional buffer field (offsets, padding), 0 when neither buffer nor node map has it."""
    try:
        return int(read() or 0)
    except Exception:
        return 0
