"""Runs on object storage: frames streamed to an S3 server, and the catalog from 100 to 10,000 runs.

**Frames.** A camera stream (labkit's ``CameraStream`` from a camera that publishes as fast as
the stream takes frames, as in ``bench_frame_stream.py``) writes frames into a run on a real
S3-compatible server — moto's server mode, in its own process on 127.0.0.1 — and into a run on
the local disk; compared, in the same run, with a plain upload of the same bytes with the same
client (s3fs, one PUT per frame, one after the other, as the run does) and with a raw
sequential write of the same bytes to a local file. The ratios are what labkit's writing costs
over the transport; moto is a Python server, so absolute S3 figures say more about moto than
about S3.

**Catalog.** Roots of 100, 1,000 and 10,000 runs are generated cheaply — each run's group
document (a realistic one: snapshot, plan, provenance, about 6 kB) written directly, plus one
array — locally and on the S3 server; then ``labkit.runs(root=...)`` (labkit's real code) lists
them: cold (no index: every run's document is read, concurrently, and the index is written),
warm (the index in each day folder: only the folder listings and the index documents are read),
and a search on the warm index (name glob and a metadata key). Compared, in the same run, with a
listing of the same stores by the same client that reads nothing.

**Compression.** Blosc/zstd (the default for data) on a simulated noisy 16-bit camera frame:
ratio and speed, beside a memcpy of the frame — why camera images are stored uncompressed.

Run: ``python benchmarks/bench_object_store.py [--only frames,catalog,compress]
[--frames 100] [--sizes 100,1000,10000]`` (needs ``pip install -e ".[test]"``: s3fs and moto).
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import labkit
from benchmarks.bench_frame_stream import FastCamera
from labkit.runs import CameraStream
from labkit.store import new_run_id, store_path
from tests.s3server import S3Server

FRAME_SHAPE = (2048, 2048)


# -- frames --------------------------------------------------------------------------------


def _stream(root: str, frames: int, options: dict | None) -> float:
    camera = FastCamera()
    start = time.perf_counter()
    run = labkit.run(
        CameraStream(camera, frames=frames, queue_size=16),
        data_root=root,
        storage_options=options,
    )
    while not run.done:  # stored and finished; reopening the Dataset is not timed
        time.sleep(0.005)
    if options is None:
        os.sync()  # bytes on the disk, as the raw write
    elapsed = time.perf_counter() - start
    assert run.status == "completed", run.error
    assert run.points == frames
    return frames * 2 * FRAME_SHAPE[0] * FRAME_SHAPE[1] / elapsed


def _plain_upload(s3: S3Server, bucket: str, frames: int) -> float:
    import s3fs

    fs = s3fs.S3FileSystem(**s3.storage_options, skip_instance_cache=True)
    pixels = np.random.default_rng(9).integers(0, 4096, FRAME_SHAPE, dtype=np.uint16).tobytes()
    start = time.perf_counter()
    for i in range(frames):
        fs.pipe_file(f"{bucket}/plain/c.{i}.0.0", pixels)
    elapsed = time.perf_counter() - start
    return frames * len(pixels) / elapsed


def _raw_write(folder: Path, frames: int) -> float:
    pixels = np.random.default_rng(9).integers(0, 4096, FRAME_SHAPE, dtype=np.uint16)
    target = folder / "raw.bin"
    start = time.perf_counter()
    with open(target, "wb") as handle:
        for _ in range(frames):
            handle.write(pixels)
    os.sync()
    elapsed = time.perf_counter() - start
    target.unlink()
    return frames * pixels.nbytes / elapsed


def frames_part(s3: S3Server, frames: int, repeats: int) -> None:
    mb = 2 * FRAME_SHAPE[0] * FRAME_SHAPE[1] / 1e6
    print(f"\nframes: {frames} frames of 2048×2048 uint16 ({frames * mb:.0f} MB), {repeats} rounds")
    figures: dict[str, list[float]] = {k: [] for k in ("s3", "plain", "disk", "raw")}
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        for _ in range(repeats):  # interleaved, so each side sees the same machine mood
            bucket = s3.new_bucket("frames")
            figures["plain"].append(_plain_upload(s3, bucket, frames))
            figures["s3"].append(_stream(f"s3://{bucket}/runs", frames, s3.storage_options))
            figures["raw"].append(_raw_write(folder, frames))
            figures["disk"].append(
                _stream(str(folder / f"runs{len(figures['disk'])}"), frames, None)
            )
    for key, label in (
        ("plain", "plain upload, s3fs, one PUT per frame"),
        ("s3", "labkit CameraStream → S3 server"),
        ("raw", "raw sequential write, local file"),
        ("disk", "labkit CameraStream → local disk"),
    ):
        values = figures[key]
        print(
            f"  {label:40} median {statistics.median(values) / 1e6:6.0f} MB/s, best {max(values) / 1e6:6.0f}"
        )
    ratio_s3 = [a / b for a, b in zip(figures["s3"], figures["plain"], strict=True)]
    ratio_disk = [a / b for a, b in zip(figures["disk"], figures["raw"], strict=True)]
    print(
        f"  labkit to S3 / plain upload: median {statistics.median(ratio_s3):.2f}   (rounds: {_pairs(ratio_s3)})"
    )
    print(
        f"  labkit to disk / raw write:  median {statistics.median(ratio_disk):.2f}   (rounds: {_pairs(ratio_disk)})"
    )
    print(
        f"  labkit to S3 / labkit to disk: median {statistics.median(figures['s3']) / statistics.median(figures['disk']):.2f}"
    )


def _pairs(ratios: list[float]) -> str:
    return ", ".join(f"{r:.2f}" for r in ratios)


# -- catalog -------------------------------------------------------------------------------


def _template() -> dict:
    """A realistic run document, from a real (tiny) run: snapshot, plan, provenance."""
    with tempfile.TemporaryDirectory() as name:
        from tests.simdevices import Lab

        lab = Lab(prefix="bench")
        try:
            run = labkit.sweep(
                lab.smu.settings.voltage,
                np.linspace(0, 1, 11),
                read=[lab.dmm.readings.current],
                data_root=name,
                metadata={"sample": "A1"},
            )
            run.wait()
            return json.loads((run.path / "zarr.json").read_text())
        finally:
            lab.close()


def _documents(template: dict, count: int) -> dict[str, bytes]:
    """``count`` finished runs over count/100 days: relative key → bytes."""
    documents: dict[str, bytes] = {}
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    for i in range(count):
        when = start + dt.timedelta(days=i // 100, minutes=i % 100)
        run_id = new_run_id(when)
        name = ("iv", "cooldown", "spectrum", "movie")[i % 4]
        document = copy.deepcopy(template)
        attrs = document["attributes"]
        attrs.update(
            run_id=run_id,
            name=name,
            start_time=when.isoformat(),
            end_time=(when + dt.timedelta(seconds=30)).isoformat(),
            metadata={"sample": f"A{i % 10}", "index": i},
        )
        key = str(store_path(Path("."), run_id, name)).lstrip("./")
        documents[f"{key}/zarr.json"] = json.dumps(document).encode()
    return documents


def _fill_local(root: Path, documents: dict[str, bytes]) -> None:
    for key, data in documents.items():
        path = root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)


def _fill_s3(s3: S3Server, bucket: str, documents: dict[str, bytes]) -> None:
    import s3fs

    fs = s3fs.S3FileSystem(**s3.storage_options, skip_instance_cache=True)
    fs.pipe({f"{bucket}/runs/{key}": data for key, data in documents.items()}, batch_size=64)


def _bare_listing(root: str, options: dict | None) -> float:
    """The same day-folder listings, by the same client, reading no document."""
    from zarr.core.sync import sync

    from labkit.store import location
    from labkit.store._scan import _listing

    where = location(root, options)
    store = where.store(read_only=True)
    start = time.perf_counter()

    async def run() -> int:
        import asyncio

        days = await _listing(store, "")
        found = await asyncio.gather(*(_listing(store, d) for d in days))
        return sum(len(f) for f in found)

    sync(run())
    return time.perf_counter() - start


def _timed(function, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return min(times)


def catalog_part(s3: S3Server, sizes: list[int]) -> None:
    template = _template()
    size = len(json.dumps(template))
    print(f"\ncatalog: run documents of {size / 1e3:.1f} kB, 100 runs per day folder")
    print(
        f"  {'runs':>6} {'where':6} {'bare list':>10} {'cold':>9} {'warm':>9} {'search':>9}"
        f" {'no index':>9}   (seconds; cold builds the index)"
    )
    for count in sizes:
        documents = _documents(template, count)
        with tempfile.TemporaryDirectory() as name:
            _fill_local(Path(name), documents)
            _catalog_row(count, "local", name, None)
        bucket = s3.new_bucket("catalog")
        _fill_s3(s3, bucket, documents)
        _catalog_row(count, "s3", f"s3://{bucket}/runs", s3.storage_options)


def _catalog_row(count: int, where: str, root: str, options: dict | None) -> None:
    bare = _timed(lambda: _bare_listing(root, options))
    start = time.perf_counter()
    listed = labkit.runs(root=root, storage_options=options)
    cold = time.perf_counter() - start
    assert len(listed) == count, (len(listed), count)
    warm = _timed(lambda: labkit.runs(root=root, storage_options=options))
    search = _timed(lambda: labkit.runs("iv*", root=root, storage_options=options, sample="A2"))
    found = labkit.runs("iv*", root=root, storage_options=options, sample="A2")
    assert len(found) == count // 20 or count < 20, len(found)
    plain = _timed(lambda: labkit.runs(root=root, storage_options=options, index=False), 1)
    print(f"  {count:6d} {where:6} {bare:10.3f} {cold:9.3f} {warm:9.3f} {search:9.3f} {plain:9.3f}")


# -- compression ---------------------------------------------------------------------------


def compress_part() -> None:
    import numcodecs
    from zarr.codecs import BloscCodec  # noqa: F401  (the codec the store uses, via numcodecs)

    rng = np.random.default_rng(3)
    frame = rng.poisson(300, FRAME_SHAPE).astype(np.uint16) + 100  # noise-limited, 16-bit
    for _ in range(30):  # a few bright spots
        y, x = rng.integers(50, 2000, 2)
        frame[y - 5 : y + 5, x - 5 : x + 5] += 3000
    codec = numcodecs.Blosc(cname="zstd", clevel=3, shuffle=numcodecs.Blosc.SHUFFLE)
    encoded = codec.encode(frame)
    compress = _timed(lambda: codec.encode(frame), 5)
    threads = numcodecs.blosc.set_nthreads(1)
    compress_one = _timed(lambda: codec.encode(frame), 5)
    numcodecs.blosc.set_nthreads(threads)
    out = np.empty_like(frame)
    copy_time = _timed(lambda: np.copyto(out, frame), 5)
    mb = frame.nbytes / 1e6
    print("\ncompression of a 2048×2048 uint16 frame (Poisson noise around 400 counts, spots)")
    ratio = frame.nbytes / len(encoded)
    print(
        f"  blosc zstd level 3, shuffle: ratio {ratio:.2f}, {mb / compress:6.0f} MB/s on all cores"
    )
    print(f"                                           {mb / compress_one:6.0f} MB/s on one thread")
    print(f"  memcpy of the frame:                    {mb / copy_time:6.0f} MB/s")
    print(f"  (this machine has {os.cpu_count()} cores)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="frames,catalog,compress")
    parser.add_argument("--frames", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--sizes", default="100,1000,10000")
    args = parser.parse_args()
    parts = set(args.only.split(","))
    if "compress" in parts:
        compress_part()
    if parts & {"frames", "catalog"}:
        with S3Server() as s3:
            print(
                f"S3 server: moto {__import__('moto').__version__} at {s3.endpoint} (its own process)"
            )
            if "frames" in parts:
                frames_part(s3, args.frames, args.repeats)
            if "catalog" in parts:
                catalog_part(s3, [int(n) for n in args.sizes.split(",")])


if __name__ == "__main__":
    main()
