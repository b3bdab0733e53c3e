"""A served camera's ``_acquire`` PV (start and stop live acquisition) and its ``_image``."""

from __future__ import annotations

import logging
from typing import Any

from p4p.server.thread import SharedPV

from labkit.core import LabkitError
from labkit.remote import _names
from labkit.remote._access import AccessPolicy
from labkit.remote._claims import Claims
from labkit.remote._frames import FramePublisher
from labkit.remote._handlers import client_of, fail
from labkit.remote._pvdata import Alarm, stamp
from labkit.remote._served import ServedInstrument
from labkit.remote._types import make_value, pv_type

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
    return publisher
