"""Kernel trees: recognise them, prepare them per arch with Kbuild, and preprocess or compile a
TU with exactly Kbuild's command line.

One job per module: ``tree`` (what a directory is), ``prepare`` (prepared build directories per
arch, ``make ... prepare``), ``kbuild`` (the captured command, ``-E -dD`` and ``-c -g`` with it),
``facts`` (the compiler's DWARF layout of a kernel TU), ``inputs`` (``--kernel DIR`` / the spec's
``kernel`` key -> per-arch preprocessed text for the layout engine).
"""

from __future__ import annotations

import importlib

# Loaded when first used: ``bitlayout layout`` without ``--kernel`` imports ``kernel.inputs`` and
# should not pay for Kbuild's modules.
_WHERE = {
    "KbuildCommand": "kbuild", "kernel_command": "kbuild", "kernel_compile_debug": "kbuild",
    "kernel_preprocess": "kbuild", "tu_source": "kbuild",
    "PrepareOutcome": "prepare", "prepare_arches": "prepare", "prepared_build": "prepare",
    "KernelTree": "tree", "find_tree": "tree",
}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{module}", __name__), name)
