"""The compiler's layout of a kernel TU: DWARF of the TU compiled with Kbuild's flags.

The same reader as the compiled backend (``bitlayout.backends.compiled``): the TU plus one
``char __bl_align_<i>[_Alignof(T)]`` / ``__bl_size_<i>[sizeof(T)]`` pair per type, compiled with
``kernel_compile_debug``, read back with pyelftools.  The result has the ``bitlayout.layout/1``
shape of one arch (``{"types": {...}}``), so it compares with ``LayoutSet.to_contract()``.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Sequence

from ..backends.compiled import layout_from_compiles, marker_declarations
from ..profiles import Profile
from .kbuild import kernel_compile_debug, tu_source
from .tree import KernelTree


def kernel_compiled_layout(tree: KernelTree | str | Path, profile: Profile, headers: Sequence[str | Path] = (), *,
                           source: str | None = None, type_names: Sequence[str] | None = None,
                           config_file: str | Path | None = None, extra_flags: Sequence[str] = ()) -> dict:
    """``{"types": {...}}`` of ``type_names`` (default: every struct, union, enum and typedef of
    the TU) as the arch's kernel compiler lays them out."""
    text = source if source is not None else tu_source(headers)
    with tempfile.TemporaryDirectory(prefix="bitlayout-kfacts-") as tmp:
        count = iter(range(1 << 30))

        def compile_with(names: Sequence[str]) -> Path:
            out = Path(tmp) / f"tu{next(count)}.o"
            return kernel_compile_debug(tree, profile, out, source=text + marker_declarations(names),
                                        config_file=config_file, extra_flags=extra_flags)

        return layout_from_compiles(compile_with, profile, type_names, None)
