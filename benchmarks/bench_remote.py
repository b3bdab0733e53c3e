"""Instruments over pvAccess: what a served instrument costs a client, measured against local use.

Three parts, each against its own yardstick measured in the same run:

- ``roundtrip``: set a setting and read a reading, the way a sweep point does. Locally: the
  simulated Keithley 2450 and 34465A of the virtual bench (pyvisa, in-process). Remotely: the
  same bench served by ``labkit serve`` in another process, through ``labkit.connect``'s remote
  instruments, and through their link alone (a put waiting for the acknowledgement and a read
  on demand, an RPC). The floor: a
  bare p4p put + get on a PV that does nothing, served by p4p alone in another process.
- ``arrays``: an array reading (the bench spectrometer's 2048-point spectrum, with its
  wavelengths) read on demand through a remote instrument, against the same read locally and
  against p4p alone getting the served PV (no instrument read: the transfer's floor).
- ``monitor``: readings per second a client receives by monitor from a reading the server
  polls as fast as the instrument answers, against the reads per second a local loop gets.
- ``camera``: the simulated Prime BSI (1024 × 1024, 16-bit, 50 frames/s) streaming in the serving process,
  frames posted unthrottled: MB/s and frames/s a fast viewer receives, against memcpy of the
  same frames; frames a slow viewer (100 ms per frame) receives and loses; what labkit's own
  client (a ``RemoteCamera``, frames taken off its queue as a run does) receives, against the
  raw p4p viewer; and the camera's own rate and its recorder's drops with no viewer and with
  the viewers — unaffected, if the ratio is 1.

Run: ``python benchmarks/bench_remote.py [--only roundtrip,arrays,monitor,camera] [--seconds 5]
[--exposure 0.02]`` (``--exposure 0.001``: the camera as fast as the simulator renders)
(needs the ``remote`` extra; the camera part needs the simulated libpvcam, built with labkit).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

STATION = """\
simulated: true
bench: {seed: 0, dut: diode, time_scale: 0}
serve:
  access:
    write:
      - {account: "*", host: 127.0.0.1}
instruments:
  smu: {driver: keithley2450}
  dmm:
    driver: keysight34465a
    serve:
      poll: {voltage: %(rate)s}
  spec:
    driver: oceanoptics_usb2000plus
    twin: spectrometer
    settings: {integration_time: 1 ms}
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EPICS_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    return env


class Served:
    """A server in a process of its own; prints its ports, then waits for commands on stdin."""

    def __init__(self, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        self.info = self.answer()

    def answer(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        while True:
            line = self.process.stdout.readline()
            if not line:
                raise RuntimeError("the server process ended")
            if line.startswith("{"):
                return json.loads(line)

    def ask(self, command: str) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()
        return self.answer()

    def close(self) -> None:
        try:
            self.ask("quit")
        except (BrokenPipeError, RuntimeError):
            pass
        self.process.wait(timeout=60)


# -- the server sides (run in their own processes) --------------------------------------------


def _serve_bench(rate: str) -> None:
    from labkit.remote import serve
    from labkit.station import load_station

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "station.yaml"
        path.write_text(STATION % {"rate": rate})
        station = load_station(path)
        server = serve(station, prefix="B:", port=0, broadcast_port=0)
        addresses = {"url": server.address("smu"), "dmm": server.address("dmm")}
        print(json.dumps({**addresses, "spec": server.address("spec")}), flush=True)
        for line in sys.stdin:
            if line.strip() == "quit":
                break
        server.stop()
        station.close()
    print("{}", flush=True)


def _serve_floor() -> None:
    from p4p.nt import NTScalar
    from p4p.server import Server
    from p4p.server.thread import SharedPV

    pv = SharedPV(nt=NTScalar("d"), initial=0.0)

    @pv.put
    def put(pv: SharedPV, op: Any) -> None:
        pv.post(op.value())
        op.done()

    with Server(providers=[{"F:x": pv}], isolate=True) as server:
        port = server.conf()["EPICS_PVAS_SERVER_PORT"]
        print(json.dumps({"url": f"pva://127.0.0.1:{port}/F:x"}), flush=True)
        for line in sys.stdin:
            if line.strip() == "quit":
                break
    print("{}", flush=True)


def _serve_camera() -> None:
    from labkit.core import Region
    from labkit.drivers.cameras.pvcam import PvcamCamera
    from labkit.remote import Server, serve_config
    from labkit.sim import pvcam as pvsim

    camera = PvcamCamera(f"pvcam://{pvsim.PRIME_BSI}", name="cam", library=pvsim.library_path())
    camera.exposure = float(
        sys.argv[2]
    )  # 0.02 s: 50 frames/s, which the simulator renders with room
    camera.set_rois([Region(512, 512, 1024, 1024)])
    viewer_rate = float(sys.argv[3]) or 100_000  # 0: every frame (unthrottled)
    config = serve_config({"prefix": "C:", "frame_rate": viewer_rate}, port=0, broadcast_port=0)
    server = Server({"cam": camera}, config).start()
    camera.start()
    shape = camera.regions[0].shape
    print(json.dumps({"url": server.address("cam"), "shape": shape}), flush=True)
    for line in sys.stdin:
        words = line.split()
        if not words or words[0] == "quit":
            break
        if words[0] == "measure":  # the camera's own rate, and what its recorder lost
            recorder = camera.subscribe(100_000)
            start = time.perf_counter()
            time.sleep(float(words[1]))
            frames = len(recorder)
            seconds = time.perf_counter() - start
            camera.unsubscribe(recorder)
            publisher = server.publishers[0]
            print(
                json.dumps(
                    {
                        "rate": frames / seconds,
                        "recorder_dropped": recorder.dropped,
                        "posted": publisher.posted,
                        "skipped": publisher.skipped,
                    }
                ),
                flush=True,
            )
    camera.stop()
    server.stop()
    camera.close()
    print("{}", flush=True)


# -- the client sides ------------------------------------------------------------------------


def _timed(function: Any, seconds: float) -> list[float]:
    times = []
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def _figure(times: list[float]) -> str:
    return f"{statistics.median(times) * 1e6:8.0f} µs (best {min(times) * 1e6:.0f}, n={len(times)})"


def roundtrip(seconds: float) -> None:
    import labkit
    from labkit.remote import PvaLink

    print("set + read round trip (median per point)")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "station.yaml"
        path.write_text(STATION % {"rate": 5})
        with labkit.load_station(path) as station:
            smu, dmm = station["smu"], station["dmm"]
            values = iter(np.tile(np.linspace(0, 0.7, 71), 100_000))
            local = _timed(
                lambda: (smu.set("source_voltage", next(values)), dmm.read("voltage")), seconds
            )
    served = Served("--serve-bench", "5")  # the DMM's voltage read by the server 5 times a second
    try:
        with PvaLink(served.info["url"]) as link:
            values = iter(np.tile(np.linspace(0, 0.7, 71), 100_000))
            link.get("B:smu:source_voltage")

            def remote_point() -> None:
                link.put("B:smu:source_voltage", float(next(values)))
                link.read_now("B:dmm:voltage")

            remote = _timed(remote_point, seconds)
        smu, dmm = labkit.connect(served.info["url"]), labkit.connect(served.info["dmm"])
        values = iter(np.tile(np.linspace(0, 0.7, 71), 100_000))
        instrument = _timed(
            lambda: (smu.set("source_voltage", next(values)), dmm.read("voltage")), seconds
        )
        smu.close()
        dmm.close()
    finally:
        served.close()
    floor_server = Served("--serve-floor")
    try:
        with PvaLink(floor_server.info["url"]) as link:
            link.get("F:x")
            floor = _timed(lambda: (link.put("F:x", 1.0), link.get("F:x")), seconds)
    finally:
        floor_server.close()
    print(f"  local (labkit, in-process simulators)      {_figure(local)}")
    print(f"  remote instruments (labkit.connect)         {_figure(instrument)}")
    print(f"  remote, PvaLink alone (put + read on demand){_figure(remote)}")
    print(f"  p4p alone: put + get of a bare PV          {_figure(floor)}")
    print(
        f"  remote instruments / local = {statistics.median(instrument) / statistics.median(local):.1f}×; "
        f"/ p4p floor = {statistics.median(instrument) / statistics.median(floor):.1f}×"
    )


def arrays(seconds: float) -> None:
    import labkit
    from labkit.remote import PvaLink

    print("a 2048-point spectrum read on demand (median per read)")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "station.yaml"
        path.write_text(STATION % {"rate": 5})
        with labkit.load_station(path) as station:
            spec = station["spec"]
            local = _timed(lambda: spec.read("spectrum"), seconds)
    served = Served("--serve-bench", "5")
    try:
        remote_spec = labkit.connect(served.info["spec"])
        remote = _timed(lambda: remote_spec.read("spectrum"), seconds)
        remote_spec.close()
        with PvaLink(served.info["spec"]) as link:
            floor = _timed(lambda: link.get("B:spec:spectrum"), seconds)
    finally:
        served.close()
    megabytes = 2048 * 8 / 1e6
    print(f"  local (labkit, in-process simulator)       {_figure(local)}")
    print(f"  remote instrument (labkit.connect)          {_figure(remote)}")
    print(f"  p4p alone: get of the served PV (no read)   {_figure(floor)}")
    print(
        f"  remote / local = {statistics.median(remote) / statistics.median(local):.1f}×; "
        f"remote moves {megabytes / statistics.median(remote):.1f} MB/s of spectra, "
        f"the bare get {megabytes / statistics.median(floor):.1f} MB/s"
    )


def monitor(seconds: float) -> None:
    import labkit
    from labkit.remote import PvaLink

    print("readings per second")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "station.yaml"
        path.write_text(STATION % {"rate": 5})
        with labkit.load_station(path) as station:
            dmm = station["dmm"]
            local = len(_timed(lambda: dmm.read("voltage"), seconds)) / seconds
    served = Served("--serve-bench", "100000")  # as fast as the DMM answers
    try:
        with PvaLink(served.info["dmm"]) as link:
            count = [0]
            link.monitor("B:dmm:voltage", lambda v: count.__setitem__(0, count[0] + 1))
            time.sleep(1.0)
            first = count[0]
            time.sleep(seconds)
            remote = (count[0] - first) / seconds
    finally:
        served.close()
    print(f"  local reads in a loop                       {local:10.0f} /s")
    print(f"  monitor updates of the server's polling     {remote:10.0f} /s")
    print(f"  monitor / local = {remote / local:.2f}")


def camera(seconds: float, exposure: float = 0.02, viewer_rate: float = 0) -> None:
    import labkit
    from labkit.remote import PvaLink

    served = Served("--serve-camera", str(exposure), str(viewer_rate))
    try:
        rows, columns = served.info["shape"]
        frame_bytes = rows * columns * 2
        source = np.zeros(frame_bytes // 2, dtype=np.uint16)
        target = np.empty_like(source)
        copies = _timed(lambda: np.copyto(target, source), 1.0)
        memcpy = frame_bytes / statistics.median(copies) / 1e6
        served.ask("measure 1")  # warm up
        alone = served.ask(f"measure {seconds}")
        with PvaLink(served.info["url"]) as fast_link, PvaLink(served.info["url"]) as slow_link:
            received = [0, 0]
            fast_ids: list[int] = []
            slow_ids: list[int] = []

            def fast(value: Any) -> None:
                if not isinstance(value, Exception) and value["uniqueId"]:
                    received[0] += 1
                    fast_ids.append(value["uniqueId"])

            def slow(value: Any) -> None:
                if not isinstance(value, Exception) and value["uniqueId"]:
                    slow_ids.append(value["uniqueId"])
                    time.sleep(0.1)

            fast_link.monitor("C:cam:_image", fast)
            slow_link.monitor("C:cam:_image", slow, request="record[queueSize=4]")
            # labkit's own client: a RemoteCamera, its frames taken off a queue as a run does
            remote = labkit.connect(served.info["url"], name="bench_cam")
            frames = remote.subscribe(64)
            taken = [0]
            threading.Thread(target=_drain, args=(frames, taken), daemon=True).start()
            time.sleep(1.0)
            start_count, start = received[0], time.perf_counter()
            remote_start = taken[0]
            watched = served.ask(f"measure {seconds}")
            elapsed = time.perf_counter() - start
            fast_rate = (received[0] - start_count) / elapsed
            remote_rate = (taken[0] - remote_start) / elapsed
            remote_dropped = frames.dropped
            remote.close()
    finally:
        served.close()
    posted = watched["posted"]
    slow_span = slow_ids[-1] - slow_ids[0] + 1 if slow_ids else 0
    fast_span = fast_ids[-1] - fast_ids[0] + 1 if fast_ids else 0
    throttle = f"at most {viewer_rate:g}/s to viewers" if viewer_rate else "every frame to viewers"
    print(
        f"camera frames over pvAccess ({rows} × {columns}, 16-bit, {frame_bytes / 1e6:.1f} MB, "
        f"{throttle})"
    )
    print(
        f"  camera alone                {alone['rate']:7.1f} frames/s, recorder lost {alone['recorder_dropped']}"
    )
    print(
        f"  camera with three viewers   {watched['rate']:7.1f} frames/s, recorder lost "
        f"{watched['recorder_dropped']}  (ratio {watched['rate'] / alone['rate']:.2f})"
    )
    print(
        f"  fast viewer received        {fast_rate:7.1f} frames/s = {fast_rate * frame_bytes / 1e6:7.1f} MB/s"
        f"  (memcpy of the same frames: {memcpy:.0f} MB/s)"
    )
    print(
        f"  fast viewer: {len(fast_ids)} frames of {fast_span} numbers it spanned; "
        f"slow viewer (100 ms/frame): {len(slow_ids)} of {slow_span}"
    )
    print(
        f"  labkit RemoteCamera consumer {remote_rate:7.1f} frames/s = "
        f"{remote_rate * frame_bytes / 1e6:7.1f} MB/s  (raw p4p viewer: {fast_rate:.1f} frames/s, "
        f"ratio {remote_rate / fast_rate if fast_rate else 0:.2f}); its queue dropped {remote_dropped}"
    )
    print(f"  server: {posted} frames posted, {watched['skipped']} made between posts (not queued)")


def _drain(frames: Any, taken: list[int]) -> None:
    for _ in frames:  # ends when the camera is closed
        taken[0] += 1


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1].startswith("--serve-"):
        if sys.argv[1] == "--serve-bench":
            _serve_bench(sys.argv[2])
        else:
            {"--serve-floor": _serve_floor, "--serve-camera": _serve_camera}[sys.argv[1]]()
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="roundtrip,arrays,monitor,camera")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument(
        "--exposure", type=float, default=0.02, help="camera exposure, s (0.001: as fast as it can)"
    )
    parser.add_argument(
        "--viewer-rate",
        type=float,
        default=0,
        help="frames a second sent to viewers (serve: frame_rate); 0: every frame",
    )
    args = parser.parse_args()
    parts = {
        "roundtrip": roundtrip,
        "arrays": arrays,
        "monitor": monitor,
        "camera": lambda seconds: camera(seconds, args.exposure, args.viewer_rate),
    }
    for name in args.only.split(","):
        parts[name](args.seconds)
        print()


if __name__ == "__main__":
    threading.current_thread().name = "bench"
    main()
