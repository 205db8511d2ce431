"""Kernel trees: recognise them, prepare them per arch with Kbuild, and preprocess or compile a
TU with exactly Kbuild's command line.

One job per module: ``tree`` (what a directory is), ``prepare`` (prepared build directories per
arch, ``make ... prepare``), ``kbuild`` (the captured command, ``-E -dD`` and ``-c -g`` with it),
``facts`` (the compiler's DWARF layout of a kernel TU), ``inputs`` (``--kernel DIR`` / the spec's
``kernel`` key -> per-arch preprocessed text for the layout engine).
"""

from __future__ import annotations

from .kbuild import KbuildCommand, kernel_command, kernel_compile_debug, kernel_preprocess, tu_source
from .prepare import PrepareOutcome, prepare_arches, prepared_build
from .tree import KernelTree, find_tree

__all__ = [
    "KbuildCommand", "KernelTree", "PrepareOutcome", "find_tree", "kernel_command", "kernel_compile_debug",
    "kernel_preprocess", "prepare_arches", "prepared_build", "tu_source",
]
