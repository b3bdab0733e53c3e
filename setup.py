"""Native parts of labkit, built by ``pip install .``; everything else is in pyproject.toml.

Every extension is optional: an install without a C compiler still succeeds, and what needs the
missing part says so (the simulated camera library, for one, is then unavailable).
"""

from setuptools import Extension, setup

ext_modules = [
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
