"""Fuzzing: mutated frames never crash either backend, and both backends fail alike.

The C side is also fuzzed natively: native/fuzz/fuzz_decode.c is compiled with AddressSanitizer
and UndefinedBehaviorSanitizer and run for a few seconds.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import labkit.native as ln
from labkit.core import FrameFormatError
from labkit.native import RoiFlag, RoiSpec

from .helpers import both, outcome, table_bytes

ROOT = Path(__file__).resolve().parents[2]
INTERESTING = [0, 1, 2, 31, 32, 48, 0x7F, 0x80, 0xFF, 0x7FFF, 0xFFFF, 0xFFFFFFFF]


def seeds() -> list[bytes]:
    rng = np.random.default_rng(0)
    return [
        ln.build_frame([RoiSpec((0, 3, 1, 0, 2, 1), rng.integers(0, 9, (3, 4)))], version=1),
        ln.build_frame(
            [
                RoiSpec((0, 7, 2, 0, 3, 2), rng.integers(0, 9, (2, 4)), ext_md={"m0": 1}),
                RoiSpec((2, 3, 2, 2, 3, 2), flags=RoiFlag.HEADER_ONLY, ext_md={"particle_id": 4}),
                RoiSpec((8, 11, 2, 0, 1, 2), flags=RoiFlag.INVALID),
                RoiSpec((8, 11, 2, 4, 7, 2), rng.integers(0, 9, (2, 2))),
            ],
            version=2,
            ext_md={"m2": 5},
        ),
        ln.build_frame(
            [
                RoiSpec((s, s + 2, 1, s, s + 1, 1), rng.integers(0, 9, (2, 3)))
                for s in range(0, 30, 3)
            ],
            version=3,
            image_format=ln.ImageFormat.MONO8,
        ),
    ]


def mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 5)):
        if not out:
            break
        at = rng.randrange(len(out))
        choice = rng.randrange(5)
        if choice == 0:
            out[at] ^= 1 << rng.randrange(8)
        elif choice == 1 and at + 2 <= len(out):
            struct.pack_into("<H", out, at, rng.choice(INTERESTING) & 0xFFFF)
        elif choice == 2 and at + 4 <= len(out):
            struct.pack_into("<I", out, at, rng.choice(INTERESTING))
        elif choice == 3:
            del out[at:]
        else:
            out += rng.randbytes(rng.randrange(1, 40))
    return bytes(out)


def test_mutated_frames_never_crash_and_backends_agree() -> None:
    rng = random.Random(20261124)
    compare = "c" in ln.available_backends
    samples = seeds()
    kinds = {"ok": 0, "error": 0}
    for _ in range(4000):
        data = mutate(rng.choice(samples), rng)
        results = [outcome(ln.decode_frame, data, backend=b) for b in ln.available_backends]
        for result in results:
            kinds[result[0]] += 1
            if result[0] == "error":  # anything but a FrameFormatError escapes outcome()
                assert result[1] is FrameFormatError
        if compare:
            c, twin = results
            assert c[0] == twin[0], data
            if c[0] == "ok":
                assert table_bytes(c[1]) == table_bytes(twin[1])
                images = [
                    outcome(ln.recompose, f, backend=b)
                    for f, b in [(c[1], "c"), (twin[1], "numpy")]
                ]
                assert images[0][0] == images[1][0]
                if images[0][0] == "ok":
                    np.testing.assert_array_equal(images[0][1], images[1][1])
                else:
                    assert images[0] == images[1]
            else:
                assert c == twin
    assert kinds["ok"] > 300  # both paths were exercised
    assert kinds["error"] > 300


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(version=st.integers(0, 4), body=st.binary(max_size=400))
def test_random_bodies_after_a_signature(version: int, body: bytes) -> None:
    data = b"PMQ\x00" + bytes([version]) + body
    if "c" in ln.available_backends:
        c, twin = both(ln.decode_frame, data)
        assert c[0] == twin[0]
        assert c == twin if c[0] == "error" else table_bytes(c[1]) == table_bytes(twin[1])
    else:
        result = outcome(ln.decode_frame, data, backend="numpy")
        assert result[0] == "ok" or result[1] is FrameFormatError


def _compile_harness(target: Path) -> None:
    sources = [ROOT / "native/fuzz/fuzz_decode.c", *sorted((ROOT / "native/frames").glob("lk_*.c"))]
    command = [
        "gcc", "-std=c11", "-O1", "-g", "-fsanitize=address,undefined",
        "-fno-sanitize-recover=all", "-fno-omit-frame-pointer", "-pthread",
        f"-I{ROOT / 'native/frames'}", *map(str, sources), "-o", str(target),
    ]  # fmt: skip
    built = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if built.returncode and re.search(r"cannot find -l(asan|ubsan)|libasan|libubsan", built.stderr):
        pytest.skip(
            f"needs labkit's compiled parts: gcc has no sanitizer runtime here: {built.stderr.strip()[:200]}"
        )
    assert built.returncode == 0, built.stderr


@pytest.mark.skipif(
    shutil.which("gcc") is None, reason="needs labkit's compiled parts: gcc is not installed"
)
def test_c_fuzz_harness_under_sanitizers(tmp_path: Path) -> None:
    target = tmp_path / "fuzz_decode"
    _compile_harness(target)
    env = dict(
        os.environ,
        ASAN_OPTIONS="abort_on_error=1:detect_leaks=1",
        UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1",
    )
    run = subprocess.run(
        [str(target), "100000000", "20261124", "4"],
        capture_output=True, text=True, timeout=120, env=env,
    )  # fmt: skip
    report = run.stdout + run.stderr
    assert run.returncode == 0, report[-4000:]
    assert "runtime error" not in report, report[-4000:]
    assert "Sanitizer" not in report, report[-4000:]
    stats = {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", run.stdout)}
    assert stats["decoded"] > 500, stats
    assert stats["rejected"] > 500, stats
    assert stats["recomposed"] > 500, stats
    assert stats["previewed"] > 500, stats
