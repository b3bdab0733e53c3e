"""Only the C extensions live here; everything else about the package is in pyproject.toml.

Each extension is ``optional=True``: without a compiler ``pip install .`` still succeeds and
labkit uses the pure-Python/NumPy twins instead.
"""

import sys

import numpy
from setuptools import Extension, setup

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
        extra_compile_args=[] if sys.platform == "win32" else ["-O3", "-std=c11", "-pthread"],
        extra_link_args=[] if sys.platform == "win32" else ["-pthread"],
        optional=True,
    ),
]

setup(ext_modules=ext_modules)
