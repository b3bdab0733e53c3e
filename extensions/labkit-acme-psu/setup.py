"""Build the plugin library with setuptools, as labkit builds its own C parts.

The library is a plain C shared library (no Python C API, no PyInit_): setuptools compiles and
links it like an extension module and places it in the package, where labkit_acme_psu.LIBRARY
finds it. labkit never imports it; it loads it with ctypes through labkit_plugin.h's ABI.
"""

import sys

import labkit
from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "labkit_acme_psu._acme_psu",
            sources=["src/acme_psu.c", "src/psu_sim.c"],
            depends=["src/psu_sim.h", f"{labkit.plugin_include_dir()}/labkit_plugin.h"],
            include_dirs=[labkit.plugin_include_dir()],
            extra_compile_args=[]
            if sys.platform == "win32"
            else ["-std=c11", "-fvisibility=hidden"],
            extra_link_args=[] if sys.platform == "win32" else ["-pthread"],
            libraries=[] if sys.platform == "win32" else ["m"],
        )
    ]
)
