"""How fast the simulated libpvcam renders and delivers full Kinetix frames.

Prints, for each Kinetix readout port at 3200 x 3200:
  * the unpaced render rate (pvsim_benchmark_render) and the camera's own frame rate
    (1 / readout time, reference §4.2), as a ratio;
  * the rate a continuous acquisition actually delivered through labkit's binding (EOF callbacks
    over a few seconds), the late frames and the mean render time;
and, as the yardstick measured in the same run, a plain memory copy of one frame.

Run: python benchmarks/bench_pvcam_sim.py [seconds-per-port]
"""

from __future__ import annotations

import sys
import threading
import time

import numpy as np

from labkit.drivers.cameras.pvcam import CallbackEvent, Param, PvcamLibrary, Rgn
from labkit.sim import pvcam as pvsim

FULL = Rgn.from_origin(0, 0, 3200, 3200)


def memcpy_seconds(nbytes: int, repeats: int = 20) -> float:
    src = np.ones(nbytes, np.uint8)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    start = time.perf_counter()
    for _ in range(repeats):
        np.copyto(dst, src)
    return (time.perf_counter() - start) / repeats


def main(seconds: float) -> None:
    lib = PvcamLibrary.load(pvsim.library_path())
    sim = pvsim.controls(lib.path)
    with lib:
        hcam = lib.open_camera(pvsim.KINETIX)
        try:
            ports = lib.enum_items(hcam, Param.READOUT_PORT)
            for port in ports:
                if port.name == "Sub-Electron":
                    continue  # 5 fps: nothing to learn about the renderer
                lib.set_param(hcam, Param.READOUT_PORT, port.value)
                bits = lib.get_param(hcam, Param.BIT_DEPTH)
                readout_s = lib.get_param(hcam, Param.READOUT_TIME) * 1e-6
                frame = lib.setup_cont(hcam, [FULL], 1)  # 1 ms exposure: readout-limited
                sim.benchmark_render(hcam, 2)  # warm the noise planes
                n = 30
                render = sim.benchmark_render(hcam, n) / n
                copy = memcpy_seconds(frame)

                count = 0
                lock = threading.Lock()

                def on_eof(info, lock=lock):
                    nonlocal count
                    with lock:
                        count += 1

                lib.register_callback(hcam, CallbackEvent.EOF, on_eof)
                buffer = lib.new_buffer(frame, 16)
                start = time.perf_counter()
                lib.start_cont(hcam, buffer)
                time.sleep(seconds)
                lib.stop_cont(hcam)
                elapsed = time.perf_counter() - start
                lib.deregister_callback(hcam, CallbackEvent.EOF)
                stats = sim.stats(hcam)

                camera_fps = 1 / readout_s
                print(f"Kinetix {port.name} ({bits}-bit, {frame / 1e6:.2f} MB/frame)")
                print(
                    f"  render   {render * 1e3:6.2f} ms/frame = {1 / render:7.1f} fps;"
                    f" camera {camera_fps:6.1f} fps; ratio {1 / render / camera_fps:5.2f}"
                )
                print(
                    f"  memcpy   {copy * 1e3:6.2f} ms/frame = {frame / copy / 1e9:5.2f} GB/s;"
                    f" render/memcpy time ratio {render / copy:5.2f}"
                )
                print(
                    f"  acquired {count / elapsed:7.1f} fps over {elapsed:.1f} s"
                    f" ({count / elapsed / camera_fps:5.1%} of the camera's rate),"
                    f" {stats.late_frames} late of {stats.frames},"
                    f" mean render {stats.mean_render_ms:.2f} ms"
                )
        finally:
            lib.close_camera(hcam)


if __name__ == "__main__":
    main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0)
