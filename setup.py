"""Only the C parts live here; everything else about the package is in pyproject.toml.

Every extension is ``optional=True``: without a compiler ``pip install .`` still succeeds, labkit
uses the NumPy twins of the frame kernels, and the simulated camera library says it is missing.
"""

import sys

import numpy
from setuptools import Extension, setup

_POSIX = sys.platform != "win32"

ext_modules = [
    # PVCAM frame decoding, recomposition and preview (labkit.native).
    Extension(
        "labkit.native._cframes",
        sources=[
            "native/frames/module.c",
            "native/frames/lk_decode.c",
            "native/frames/lk_recompose.c",
            "native/frames/lk_preview.c",
            "native/frames/lk_parallel.c",
        ],
        depends=["native/frames/lk_frames.h", "native/frames/lk_parallel.h"],
        include_dirs=[numpy.get_include(), "native/frames"],
        extra_compile_args=["-O3", "-std=c11", "-pthread"] if _POSIX else [],
        extra_link_args=["-pthread"] if _POSIX else [],
        optional=True,
    ),
    # The simulated libpvcam: a plain C shared library with PVCAM's entry points (no Python C
    # API, no PyInit_), loaded by path with ctypes: labkit.sim.pvcam.library_path().
    Extension(
        "labkit.sim._libpvcam_sim",
        sources=[
            "native/pvcam_sim/pvsim_acq.c",
            "native/pvcam_sim/pvsim_camera.c",
            "native/pvcam_sim/pvsim_control.c",
            "native/pvcam_sim/pvsim_errors.c",
            "native/pvcam_sim/pvsim_layout.c",
            "native/pvcam_sim/pvsim_models.c",
            "native/pvcam_sim/pvsim_params.c",
            "native/pvcam_sim/pvsim_scene.c",
        ],
        depends=["native/pvcam_sim/pvsim.h"],
        extra_compile_args=["-std=c11", "-O3", "-pthread", "-fvisibility=hidden"],
        extra_link_args=["-pthread"],
        libraries=["m"],
        optional=True,
    ),
]

setup(ext_modules=ext_modules)
