"""The compiled extension under valgrind: mutated and truncated frames through the real binding.

The ASan harness (test_fuzz.py) checks the C kernels alone; this runs the Python extension
module itself — argument parsing, buffer handling, the arrays it hands back — under a memory
checker, with every backend entry point fed malformed input.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import labkit.native as ln

SUPPRESSIONS = Path(__file__).with_name("valgrind.supp")

PROGRAM = textwrap.dedent(
    """
    import random
    import numpy as np
    import labkit.native as ln
    from labkit.core import FrameFormatError
    from labkit.native import RoiFlag, RoiSpec

    assert ln.backend == "c", ln.backend
    rng = np.random.default_rng(0)
    seeds = [
        ln.build_frame([RoiSpec((0, 7, 2, 0, 3, 2), rng.integers(0, 9, (2, 4)), ext_md={"m0": 1}),
                        RoiSpec((2, 3, 2, 2, 3, 2), flags=RoiFlag.HEADER_ONLY,
                                ext_md={"particle_id": 4}),
                        RoiSpec((8, 11, 2, 4, 7, 2), rng.integers(0, 9, (2, 2)))],
                       version=2, ext_md={"m2": 5}),
        ln.build_frame([RoiSpec((s, s + 2, 1, s, s + 1, 1), rng.integers(0, 9, (2, 3)))
                        for s in range(0, 30, 3)], version=3),
        ln.build_frame([RoiSpec((0, 3, 1, 0, 2, 1), rng.integers(0, 9, (3, 4)))], version=1),
        ln.build_frame([RoiSpec((1, 6, 2, 0, 3, 2), rng.integers(0, 2**24, (2, 3))),
                        RoiSpec((4, 9, 2, 5, 8, 2), rng.integers(0, 2**24, (2, 3))),
                        RoiSpec((0, 1, 1, 0, 1, 1), flags=RoiFlag.INVALID)],
                       image_format=ln.ImageFormat.MONO24),
        ln.build_frame([RoiSpec((0, 2, 1, 0, 1, 1), rng.integers(0, 2**16, (2, 3, 3))),
                        RoiSpec((5, 6, 1, 3, 3, 1), rng.integers(0, 2**16, (1, 2, 3)))],
                       image_format=ln.ImageFormat.RGB48),
    ]
    r = random.Random(7)
    refused = decoded = 0
    for i in range(400):
        data = bytearray(seeds[i % len(seeds)])
        for _ in range(r.randint(0, 4)):
            data[r.randrange(len(data))] = r.choice([0, 1, 0x7F, 0x80, 0xFF, r.randrange(256)])
        data = bytes(data[: r.randrange(len(data) + 1)]) if r.random() < 0.5 else bytes(data)
        try:
            frame = ln.decode_frame(data)
            image = ln.recompose(frame)
            if image.ndim == 2 and image.size:
                ln.preview(image.astype(np.uint16), max_size=(4, 4))
            ln.decode_batch(data * 2, len(data), count=2)
            decoded += 1
        except FrameFormatError:
            refused += 1
    ln.preview(rng.integers(0, 4096, (257, 513)).astype(np.uint16), max_size=(31, 17),
               contrast=("percentile", 1, 99), gamma=0.7)
    print("decoded", decoded, "refused", refused)
    """
)


@pytest.mark.slow
def test_the_extension_is_clean_under_valgrind(tmp_path: Path) -> None:
    valgrind = shutil.which("valgrind")
    if valgrind is None:
        if os.environ.get("LABKIT_REQUIRE_VALGRIND") == "1":
            pytest.fail("valgrind is required here (LABKIT_REQUIRE_VALGRIND=1) but not installed")
        pytest.skip("valgrind is not installed (apt-get install valgrind)")
    if ln.backend != "c":
        pytest.skip(
            f"needs labkit's compiled parts: the C extension is not built: {ln.c_import_error}"
        )
    script = tmp_path / "exercise.py"
    script.write_text(PROGRAM)
    result = subprocess.run(
        [
            valgrind,
            "--error-exitcode=99",
            "--leak-check=no",
            "--undef-value-errors=no",
            f"--suppressions={SUPPRESSIONS}",
            sys.executable,
            str(script),
        ],
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "PYTHONMALLOC": "malloc", "OPENBLAS_NUM_THREADS": "1"},
    )
    assert result.returncode == 0, result.stderr[-6000:]
    decoded, refused = (int(w) for w in result.stdout.split()[1::2])
    assert decoded > 0
    assert refused > 0
