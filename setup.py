"""Compile the C shim into the package at install time (issue #4).

All metadata lives in pyproject.toml; this file only adds the cffi
extension ``bitlayout._shim_prebuilt``.  At run time bitlayout uses it only
if it was built from the C shipped now, else it builds into the user cache
(see bitlayout/_ffi_build.py).  A C compiler and the Python headers are an
install requirement (README, Install).
"""

from setuptools import setup

setup(cffi_modules=["bitlayout/_ffi_build.py:ffibuilder"])
