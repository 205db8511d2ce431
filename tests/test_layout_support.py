"""Helpers shared by the tests/test_layout_*.py modules: model vs real compiler, as plain dicts.

One compile per (arch, header set, compiler route) per session; results are memoised here so
several test modules (and the parametrised tests inside them) never rebuild the same thing.
"""

from __future__ import annotations

import functools
from pathlib import Path

import pytest

from bitlayout import layout, profiles, toolchains
from bitlayout.backends import compiled

HEADERS_DIR = Path(__file__).resolve().parent / "headers"
HAND_HEADERS = tuple(str(HEADERS_DIR / h) for h in ("basic.h", "bitfields.h", "attrs.h", "enums_exprs.h",
                                                     "pragma_pack.h", "builtins.h", "extended.h",
                                                     "atomic_records.h", "machine_modes.h"))

ALL_PROFILES = profiles.load_profiles()
ARCH_NAMES = [p.name for p in ALL_PROFILES]


def profile(name: str):
    return profiles.profile_by_name(name)


def require_compiler(p, kind: str | None = None):
    comp = toolchains.find_compiler(p, kind)
    if comp is None:
        reason = toolchains.missing_reason(p)
        hint = toolchains.install_hint(p) or "see docs/profiles.md"
        if "install:" not in reason:
            reason += f"; install: {hint}"
        pytest.skip(f"no {kind + ' ' if kind else ''}compiler for {p.name}: {reason}")
    return comp


@functools.cache
def model_contract(arch: str, headers: tuple[str, ...], include_dirs: tuple[str, ...] = (),
                   builtin: bool | None = None, kind: str | None = None) -> dict:
    """The model's layout/1 types; ``kind``: as that compiler route sees the profile ("gcc",
    "zig": the profile's ``[alternate]`` numbers when it is not the reference compiler)."""
    p = profile(arch) if kind is None else profile(arch).for_compiler(kind)
    return layout.layout_headers(list(headers), p, include_dirs, builtin=builtin).to_contract()


@functools.cache
def compiler_contract(arch: str, headers: tuple[str, ...], names: tuple[str, ...],
                      include_dirs: tuple[str, ...] = (), kind: str | None = None) -> dict:
    return compiled.compiled_layout(list(headers), profile(arch), list(names), include_dirs=include_dirs,
                                    kind=kind)


def diff_contracts(model: dict, observed: dict) -> list[str]:
    """Field-by-field differences, one line each (empty: 100% agreement)."""
    out = []
    for name, m in model["types"].items():
        o = observed["types"].get(name)
        if o is None:
            out.append(f"{name}: missing from the compiler's output")
            continue
        for key in ("size", "align"):
            if m[key] != o[key]:
                out.append(f"{name}: {key} model {m[key]} compiler {o[key]}")
        om = {x["name"]: x for x in o["members"]}
        if [x["name"] for x in m["members"]] != [x["name"] for x in o["members"]]:
            out.append(f"{name}: members model {[x['name'] for x in m['members']]} "
                       f"compiler {[x['name'] for x in o['members']]}")
        for x in m["members"]:
            y = om.get(x["name"])
            if y is not None and x != y:
                out.append(f"{name}.{x['name']}: model {x} compiler {y}")
    return out


def counts(contract: dict) -> tuple[int, int]:
    types = contract["types"]
    return len(types), sum(len(t["members"]) for t in types.values())
