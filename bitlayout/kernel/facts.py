"""The compiler's layout of a kernel TU: DWARF of the TU compiled with Kbuild's flags.

The same reader as the compiled backend (``bitlayout.backends.compiled``): the TU plus one
``char __bl_align_<i>[_Alignof(T)]`` / ``__bl_size_<i>[sizeof(T)]`` pair per type, compiled with
``kernel_compile_debug``, read back with pyelftools.  The result has the ``bitlayout.layout/1``
shape of one arch (``{"types": {...}}``), so it compares with ``LayoutSet.to_contract()``
(``compare_types``: type by type, the first difference of each).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

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

        def compile_with(names: Sequence[str], member_sizes: Sequence[tuple[str, str]] = ()) -> Path:
            out = Path(tmp) / f"tu{next(count)}.o"
            return kernel_compile_debug(tree, profile, out, source=text + marker_declarations(names, member_sizes),
                                        config_file=config_file, extra_flags=extra_flags)

        return layout_from_compiles(compile_with, profile, type_names, None)


@dataclass(frozen=True)
class Agreement:
    """The model's layout/1 types against the compiler's, type by type."""

    compared: int
    equal: int
    differing: dict[str, str] = field(default_factory=dict)  # name -> the first difference, one line
    unsupported: dict[str, str] = field(default_factory=dict)  # name -> the model's reason

    def to_json(self) -> dict:
        return {"compared": self.compared, "equal": self.equal, "differing": len(self.differing),
                "unsupported": len(self.unsupported), "first_differences": dict(list(self.differing.items())[:10]),
                "first_unsupported": dict(list(self.unsupported.items())[:10])}


def first_difference(model: Mapping, compiler: Mapping) -> str:
    """'' when two layout/1 types are equal, else the first difference in a line."""
    if model == compiler:
        return ""
    for key in ("incomplete", "size", "align"):
        if model.get(key) != compiler.get(key):
            return f"{key}: model {model.get(key)}, compiler {compiler.get(key)}"
    mine, theirs = model.get("members", []), compiler.get("members", [])
    for a, b in zip(mine, theirs):
        if a != b:
            return f"member {a.get('name')}: model {a}, compiler {b}"
    return f"members: model {len(mine)}, compiler {len(theirs)}"


def compare_types(model: Mapping[str, Mapping], compiler: Mapping[str, Mapping]) -> Agreement:
    """Every type the compiler describes, compared with the model's (``LayoutSet.to_contract`` of
    the same names); a name the model lacks is a difference."""
    differing, unsupported = {}, {}
    for name, facts in compiler.items():
        mine = model.get(name)
        if mine is None:
            differing[name] = "missing from the model's output"
        elif "unsupported" in mine:
            unsupported[name] = mine["unsupported"]
        else:
            why = first_difference(mine, facts)
            if why:
                differing[name] = why
    return Agreement(len(compiler), len(compiler) - len(differing) - len(unsupported), differing, unsupported)
