"""A served camera's ``_acquire`` PV (start and stop live acquisition), its ``_image`` and
its ``_region`` (the region of interest, set by clients the station lets write: see
:mod:`._region` for the rules)."""

from __future__ import annotations

import logging
import threading
from typing import Any

from p4p.server.thread import SharedPV

from labkit.core import LabkitError, Region
from labkit.remote import _names
from labkit.remote._access import AccessPolicy
from labkit.remote._claims import Claims
from labkit.remote._frames import FramePublisher
from labkit.remote._handlers import client_of, fail
from labkit.remote._pvdata import Alarm, stamp
from labkit.remote._region import check_region, region_fields, region_from_fields
from labkit.remote._served import ServedInstrument
from labkit.remote._types import make_value, pv_type, region_type

__all__ = ["serve_camera"]

log = logging.getLogger("labkit.remote.requests")


def _acquire_fields(acquiring: bool, alarm: Alarm | None = None) -> dict[str, Any]:
    return {
        "value": bool(acquiring),
        "alarm": (alarm or Alarm()).fields(),
        "timeStamp": stamp(),
        "display": {"description": "live acquisition runs (put 1 to start, 0 to stop)"},
        "labkit": {"role": "setting", "kind": "bool", "access": "rw"},
    }


def serve_camera(
    served: ServedInstrument, policy: AccessPolicy, claims: Claims, *, rate: float
) -> FramePublisher:
    """Add ``_acquire`` and ``_image`` to a served camera; returns the (unstarted) publisher."""
    camera: Any = served.instrument
    publisher = FramePublisher(camera, rate=rate)
    served.add_pv(_names.IMAGE, publisher.pv)
    acquire = SharedPV(
        queue=served.queue,
        initial=make_value(pv_type("?"), _acquire_fields(camera.acquiring)),
    )
    target = f"{served.name}.{_names.ACQUIRE}"

    def put(pv: SharedPV, op: Any) -> None:
        client = client_of(op)
        refusal = policy.refuse_write(client, target) or claims.refuse_within(client, served.name)
        if refusal is not None:
            log.info("%s: put refused: %s", target, refusal)
            fail(op, refusal)
            return
        start = bool(op.value()["value"])
        try:
            camera.start() if start else camera.stop()
        except LabkitError as error:
            pv.post(
                make_value(pv_type("?"), _acquire_fields(camera.acquiring, Alarm.fault(str(error))))
            )
            fail(op, str(error))
            return
        log.info("%s %s by %s", served.name, "started" if start else "stopped", client.describe())
        pv.post(make_value(pv_type("?"), _acquire_fields(camera.acquiring)))
        op.done()

    acquire.put(put)
    served.add_pv(_names.ACQUIRE, acquire)

    def follow(change: Any) -> None:
        try:
            acquire.post(make_value(pv_type("?"), _acquire_fields(change["new"])))
        except Exception:
            pass

    if "acquiring" in camera.trait_names():
        camera.observe(follow, names=["acquiring"])
    _serve_region(served, policy, claims)
    return publisher


def _region_fields(region: Region, alarm: Alarm | None = None) -> dict[str, Any]:
    return {
        "value": region_fields(region),
        "alarm": (alarm or Alarm()).fields(),
        "timeStamp": stamp(),
        "display": {
            "description": "region of interest in sensor pixels (put x, y, width, height; "
            "the camera rounds it outwards, never cuts it)"
        },
    }


def _serve_region(served: ServedInstrument, policy: AccessPolicy, claims: Claims) -> None:
    """``_region``: the camera's region of interest; a put asks the camera for another."""
    camera: Any = served.instrument
    target = f"{served.name}.{_names.REGION}"
    pv = SharedPV(
        queue=served.queue, initial=make_value(region_type(), _region_fields(camera.region))
    )
    shown = [camera.region]

    def post(alarm: Alarm | None = None) -> None:
        try:
            shown[0] = camera.region
            pv.post(make_value(region_type(), _region_fields(shown[0], alarm)))
        except Exception:  # the server stopping, the camera closing
            log.debug("region not posted", exc_info=True)

    def refuse(op: Any, message: str) -> None:
        log.info("%s: put refused: %s", target, message)
        post(Alarm.refused(message))
        fail(op, message)

    def put(pv: SharedPV, op: Any) -> None:
        client = client_of(op)
        refusal = policy.refuse_write(client, target) or claims.refuse_within(client, served.name)
        if refusal is not None:
            refuse(op, refusal)
            return
        request = op.value()
        asked = {
            name.split(".", 1)[1]: request[name]
            for name in request.changedSet()
            if name.startswith("value.")
        }
        try:
            current = camera.region
            wanted = region_from_fields(asked, current)
            check_region(wanted, camera.sensor_shape, (current.bin_x, current.bin_y), served.name)
        except LabkitError as error:
            refuse(op, str(error))
            return

        def apply() -> None:  # the camera pauses acquisition around it: not on the PV queue
            try:
                read = camera.set_region(wanted)
            except LabkitError as error:
                refuse(op, str(error))
                return
            log.info("%s: region %s by %s (asked %s)", served.name, read, client.describe(), wanted)
            post()
            op.done()

        threading.Thread(target=apply, name=f"labkit-pva-{served.name}-region", daemon=True).start()

    pv.put(put)
    served.add_pv(_names.REGION, pv)

    def follow(change: Any) -> None:  # a region set in the serving process (or a binning)
        try:
            moved = camera.region != shown[0]
        except LabkitError:  # closed meanwhile
            return
        if moved:
            post()

    names = [handle.name for handle in camera.settings]
    if names:
        camera.observe(follow, names=names)
