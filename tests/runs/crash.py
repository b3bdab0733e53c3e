"""Kill runs with SIGKILL at random moments and check what the store kept (issue 13, point 2).

A child process starts one run of a kind — a sweep, an open-ended time series, a PVCAM stream
(labkit's simulated libpvcam through the real driver), a GenICam stream (harvesters and the
genicam wheel's simulated producer) — and reports every point the run says is **stored**
(``run.watch``, durable by default) on its stdout as it goes, values included (frames as a
CRC-32 of their bytes). The parent kills it at a random moment, reads what was reported
before the kill, and checks the store with plain ``xr.open_zarr`` (default arguments):

- **opened**: the store opens (or does not exist yet, and nothing was reported);
- **lost**: a point reported stored that is missing or different;
- **torn**: a point the store publishes (its time is stored) with data missing.

Nothing depends on timing: the moment is random, the checks hold at any moment.

Run all four kinds, 20 kills each: ``python -m tests.runs.crash --kills 20`` (add
``--root s3://…`` with ``AWS_ENDPOINT_URL`` set, or ``--s3`` for a local moto server).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import random
import signal
import subprocess
import sys
import threading
import time
import warnings
import zlib
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
KINDS = ("sweep", "timeseries", "pvcam", "genicam")

CHILD = r"""
import json, os, sys, zlib
import numpy as np
import labkit
from labkit.runs import CameraStream, Sweep, TimeSeries

kind, root = sys.argv[1], sys.argv[2]
options = json.loads(os.environ.get("CRASH_STORAGE_OPTIONS") or "null")
lock = __import__("threading").Lock()

def plain(value):
    array = np.asarray(value)
    if array.ndim >= 2:
        return ["crc32", zlib.crc32(np.ascontiguousarray(array).tobytes())]
    return array.item()

def report(index, values):
    line = json.dumps({"index": [int(i) for i in index],
                       "values": {k: plain(v) for k, v in values.items()}})
    with lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()

if kind in ("sweep", "timeseries"):
    from tests.simdevices import Lab
    lab = Lab(latency=0.001, prefix="crash")
    if kind == "sweep":
        step = Sweep(lab.smu.settings.voltage, np.linspace(0, 5, 5000),
                     read=[lab.dmm.readings.current])
    else:
        step = TimeSeries([lab.dmm.readings.current, lab.stage.readings.temperature],
                          duration=600)
elif kind == "pvcam":
    from labkit.drivers.cameras.pvcam import PvcamCamera
    from labkit.sim import pvcam as pvsim
    camera = PvcamCamera(f"pvcam://{pvsim.PRIME_BSI}", name="bsi", library=pvsim.library_path())
    camera.roi = "0,0,512,384"  # 384 kB frames: written straight to the store
    camera.exposure = "10 ms"
    step = CameraStream(camera, duration=600, queue_size=16)
else:
    from labkit.drivers.cameras.genicam import GenICamCamera
    camera = GenICamCamera("genicam://VikyTL_DEV_red@viky", name="viky")
    step = CameraStream(camera, duration=600, queue_size=16)

print("ready", flush=True)
run = labkit.run(step, name=kind, data_root=root, storage_options=options)
run.watch(report)
print("path", run.url, flush=True)
run.wait()
print("finished", flush=True)
"""


@dataclasses.dataclass
class Outcome:
    """What one kill left behind."""

    kind: str
    seed: int
    store: str | None
    opened: bool
    reported: int  # points reported stored before the kill
    published: int  # points the store shows (time stored)
    lost: list[str]
    torn: list[str]

    @property
    def good(self) -> bool:
        return self.opened and not self.lost and not self.torn


def _reader(stream: Any, lines: list[str]) -> None:
    for line in stream:
        lines.append(line)


def kill_at_random(
    kind: str,
    seed: int,
    root: str,
    env: dict[str, str] | None = None,
    *,
    after_first_report: bool = False,
) -> Outcome:
    """Start a ``kind`` run under ``root``, SIGKILL it at a moment drawn from ``seed`` (after
    the run reported its first stored point, with ``after_first_report``)."""
    chance = random.Random(f"{kind}-{seed}")
    # One kill in ten lands while the run's store is being made; the rest while it runs.
    early = seed % 10 == 9 and not after_first_report
    delay = chance.uniform(0.0, 0.05) if early else chance.uniform(0.0, 2.5)
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, kind, root],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
    )
    lines: list[str] = []
    try:
        assert child.stdout is not None
        first = child.stdout.readline()
        assert first.startswith("ready"), f"the {kind} child did not start: {first!r}"
        if not early:
            first = child.stdout.readline()
            assert first.startswith("path"), f"the {kind} run did not start: {first!r}"
        if after_first_report:
            lines.append(child.stdout.readline())
        reader = threading.Thread(target=_reader, args=(child.stdout, lines), daemon=True)
        reader.start()
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        child.wait(30)
        reader.join(30)  # everything written to the pipe before the kill
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    if early:
        lines = [line for line in lines if not line.startswith("path")]
    reported = [json.loads(line) for line in lines if line.startswith("{")]
    return check(kind, seed, root, reported)


def _options() -> dict[str, Any] | None:
    return json.loads(os.environ.get("CRASH_STORAGE_OPTIONS") or "null")


def _find_store(root: str) -> str | None:
    from labkit.store import location

    where = location(root, _options())
    if where.path is not None:
        found = sorted(where.path.glob("*/*.zarr"))
        return str(found[0]) if found else None
    from zarr.core.sync import sync

    from labkit.store._scan import _listing

    store = where.store(read_only=True)
    for day in sync(_listing(store, "")):
        for name in sync(_listing(store, day)):
            if name.endswith(".zarr"):
                return f"{where.url}/{day}/{name}"
    return None


def _equal(stored: Any, wanted: Any) -> bool:
    if isinstance(wanted, list) and wanted[:1] == ["crc32"]:
        return zlib.crc32(np.ascontiguousarray(stored).tobytes()) == wanted[1]
    stored = np.asarray(stored)
    if stored.dtype.kind == "M":
        return int(stored.astype("datetime64[ns]").astype(np.int64)) == wanted
    if isinstance(wanted, float) and math.isnan(wanted):
        return bool(np.isnan(stored))
    return stored.item() == wanted


def check(kind: str, seed: int, root: str, reported: list[dict[str, Any]]) -> Outcome:
    """Compare what was reported stored with what plain ``xr.open_zarr`` shows."""
    import xarray as xr

    from labkit.store import location

    store = _find_store(root)
    outcome = Outcome(kind, seed, store, False, len(reported), 0, [], [])
    where = None if store is None else location(store, _options())
    document = None if where is None else _document(where)
    if document is None:
        # Killed before the store's document was written: no run, and nothing was reported.
        outcome.opened = True
        outcome.lost = [f"point {r['index']}" for r in reported]
        return outcome
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = xr.open_zarr(str(where), storage_options=where.options or None)
    noisy = [str(w.message) for w in caught if "consolidated" in str(w.message).lower()]
    outcome.opened = not noisy
    loaded: dict[str, Any] = {}  # each small variable read once; frames one by one
    for record in reported:
        index = tuple(record["index"])
        for name, wanted in record["values"].items():
            variable = ds[name]
            if any(i >= n for i, n in zip(index, variable.shape, strict=False)):
                outcome.lost.append(f"{name}{list(index)} beyond the store")
                break
            if isinstance(wanted, list):
                stored = variable[index].values
            else:
                if name not in loaded:
                    loaded[name] = variable.values
                stored = loaded[name][index]
            if not _equal(stored, wanted):
                outcome.lost.append(f"{name}{list(index)} differs")
                break
    outcome.published, outcome.torn = _torn(ds, where)
    return outcome


def _document(where: Any) -> dict[str, Any] | None:
    from labkit.store._scan import read_document

    return read_document(where)


def _torn(ds: Any, where: Any) -> tuple[int, list[str]]:
    """Points whose time is stored, checked for their data: numbers finite (NaN allowed only
    where the source has none), frames present as chunks."""
    import zarr

    torn: list[str] = []
    published = 0
    times = [n for n in ds.variables if ds[n].dtype.kind == "M"]
    for stamp in times:
        present = ~np.isnat(ds[stamp].values)
        published += int(present.sum())
        members = [
            n for n in ds.data_vars if stamp in str(ds[n].encoding.get("coordinates", "")).split()
        ]
        for name in members:
            variable = ds[name]
            lead = ds[stamp].ndim
            if variable.ndim > lead:  # frames: one chunk each, which must exist
                array = zarr.open_array(where.store(read_only=True), path=name, mode="r")
                for index in zip(*np.nonzero(present), strict=True):
                    item = tuple(int(i) for i in index)
                    if not _frame_stored(array, name, item, variable.ndim - lead):
                        torn.append(f"{name}{list(index)}: no chunk")
                continue
            if name.endswith(("_frame_hardware_timestamp", "_frame_exposure")):
                continue  # NaN where the camera has no clock or does not say (by design)
            if name.endswith("_frame_number"):
                bad = present & (variable.values < 1)  # cameras count frames from 1
                torn.extend(f"{name}{list(i)}: 0" for i in zip(*np.nonzero(bad), strict=True))
                continue
            if variable.dtype.kind not in "f":
                continue
            values = variable.values
            bad = present & ~np.isfinite(values)
            torn.extend(f"{name}{list(i)}: NaN" for i in zip(*np.nonzero(bad), strict=True))
    return published, torn


def _frame_stored(array: Any, name: str, index: tuple[int, ...], item_ndim: int) -> bool:
    """Whether frame ``index`` has its chunk: its own file, or an entry in its shard's index
    (read as the sharding spec lays it out: little-endian offset and length per chunk, then
    a CRC-32C, at the end of the shard; an absent chunk is all ones)."""
    import google_crc32c
    from zarr.codecs import ShardingCodec
    from zarr.core.buffer import default_buffer_prototype
    from zarr.core.sync import sync

    codecs = array.metadata.codecs
    if not isinstance(codecs[0], ShardingCodec):
        key = array.metadata.encode_chunk_key(index + (0,) * item_ndim)
        return _exists(array, f"{name}/{key}")
    outer = array.metadata.chunk_grid.chunk_shape
    inner = codecs[0].chunk_shape
    per_shard = [o // i for o, i in zip(outer, inner, strict=True)]
    shard = tuple(i // o for i, o in zip(index, outer, strict=False)) + (0,) * item_ndim
    key = f"{name}/{array.metadata.encode_chunk_key(shard)}"
    found = sync(array.store.get(key, prototype=default_buffer_prototype()))
    if found is None:
        return False
    data = found.to_bytes()
    count = int(np.prod(per_shard))
    table = data[len(data) - 16 * count - 4 :]
    entries = np.frombuffer(table[:-4], dtype="<u8").reshape(*per_shard, 2)
    if np.uint32(google_crc32c.value(table[:-4])) != np.frombuffer(table[-4:], "<u4")[0]:
        return False
    local = tuple(i % o for i, o in zip(index, outer, strict=False)) + (0,) * item_ndim
    offset, length = entries[local]
    return offset != 2**64 - 1 and offset + length <= len(data)


def _exists(array: Any, key: str) -> bool:
    from zarr.core.sync import sync

    return bool(sync(array.store.exists(key)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--kills", type=int, default=20, help="kills per kind")
    parser.add_argument("--kinds", default=",".join(KINDS))
    parser.add_argument("--root", help="data root (default: a new temporary folder per kill)")
    parser.add_argument("--s3", action="store_true", help="a local moto S3 server's bucket")
    args = parser.parse_args(argv)
    import tempfile

    env: dict[str, str] = {}
    server = None
    if args.s3:
        from tests.s3server import S3Server

        server = S3Server().start()
        env = {"CRASH_STORAGE_OPTIONS": json.dumps(server.storage_options)}
        os.environ.update(env)
    totals: dict[str, list[Outcome]] = {}
    try:
        for kind in args.kinds.split(","):
            for seed in range(args.kills):
                if server is not None:
                    root = f"s3://{server.new_bucket('crash')}/runs"
                elif args.root:
                    root = f"{args.root.rstrip('/')}/{kind}-{seed}"
                else:
                    root = tempfile.mkdtemp(prefix=f"labkit-crash-{kind}-")
                outcome = kill_at_random(kind, seed, root, env)
                totals.setdefault(kind, []).append(outcome)
                flag = "ok" if outcome.good else "BAD"
                print(
                    f"{kind:10} seed {seed:2}: {flag} reported {outcome.reported:5} "
                    f"published {outcome.published:5} lost {len(outcome.lost)} torn {len(outcome.torn)}"
                    + ("" if outcome.good else f" {outcome.lost[:3]} {outcome.torn[:3]}"),
                    flush=True,
                )
    finally:
        if server is not None:
            server.stop()
    print()
    all_outcomes = [o for outs in totals.values() for o in outs]
    for kind, outs in totals.items():
        print(
            f"{kind:10}: {sum(o.good for o in outs)}/{len(outs)} good, stores opened "
            f"{sum(o.opened for o in outs)}/{len(outs)}, points reported stored "
            f"{sum(o.reported for o in outs)}, lost {sum(len(o.lost) for o in outs)}, "
            f"torn {sum(len(o.torn) for o in outs)}"
        )
    good = sum(o.good for o in all_outcomes)
    print(f"all       : {good}/{len(all_outcomes)} good")
    return 0 if good == len(all_outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
