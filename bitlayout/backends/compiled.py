"""Layout facts read back from objects a real compiler built (DWARF + ``_Alignof`` markers).

For a header and a profile: compile one TU that includes the header, with ``-g -c`` (compile only:
no libc or linker needed) and ``-fno-eliminate-unused-debug-types`` so every type is described,
then read the DWARF with pyelftools:

- sizes from ``DW_AT_byte_size``; member offsets from ``DW_AT_data_member_location``;
- bitfields from ``DW_AT_data_bit_offset`` (DWARF 4+) or ``DW_AT_bit_offset`` + ``DW_AT_byte_size``
  (DWARF 2/3, counted from the storage unit's most significant bit);
- alignment is not in DWARF (``DW_AT_alignment`` only appears for explicit alignment), so each
  type T gets marker arrays ``char __bl_align_<i>[_Alignof(T)]`` and ``char __bl_size_<i>[sizeof(T)]``
  whose array bounds DWARF does give.

The result has the same shape as ``LayoutSet.to_contract()`` so tests compare plain dicts.
"""

from __future__ import annotations

import io
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from .. import toolchains
from ..errors import OneKernelCompiler, ToolchainError
from ..results import Backend, Evidence
from . import factscache
from .base import LayoutObserver, register

DEBUG_FLAGS = ("-g", "-c", "-std=gnu11", "-fno-eliminate-unused-debug-types", "-w")


def compiler_argv(profile, kind: str | None = None) -> list[str]:
    """Command prefix (target and profile flags included) of the compiler for ``profile``."""
    comp = toolchains.require_compiler(profile, kind)
    return [*comp.argv, *comp.cflags]


def dwarf_flags(argv: Sequence[str]) -> list[str]:
    # clang: DWARF 5, the first to describe _Atomic (DW_TAG_atomic_type; clang pads _Atomic types,
    # see _probe_member_sizes).  GCC 12 writes DWARF 5 already, and its strings inline
    # (DW_FORM_string) so no .debug_str relocations need applying, which pyelftools cannot do
    # for every machine (m68k, alpha, hppa, sh, arc...).
    if any("ziglang" in a or "clang" in a for a in argv):
        return ["-gdwarf-5"]
    return ["-fno-merge-debug-strings"]


_KEYWORDS = frozenset(("struct", "union", "enum", "signed", "unsigned", "char", "short", "int", "long",
                       "float", "double", "void", "_Bool", "_Complex", "_Atomic", "const", "volatile",
                       "_Float16", "_Float32", "_Float64", "_Float128", "_Float32x", "_Float64x",
                       "_Decimal32", "_Decimal64", "_Decimal128", "_BitInt"))


def _undefine(names: Iterable[str]) -> list[str]:
    """``#undef`` of every identifier in ``names``: text after the headers must reach the types and
    members DWARF names, not a macro of the same name (the kernel has ``enum cc_vendor`` and
    ``#define cc_vendor (CC_VENDOR_NONE)``).  Keywords and the implementation's reserved ``__``
    names are left alone: GCC for ppc64le predefines ``#define __float128 __ieee128``."""
    words = dict.fromkeys(w for name in names for w in re.findall(r"[A-Za-z_]\w*", name)
                          if w not in _KEYWORDS and not w.startswith("__"))
    return [f"#undef {w}" for w in words]


def marker_declarations(type_names: Sequence[str], member_sizes: Sequence[tuple[str, str]] = ()) -> str:
    """The marker arrays whose DWARF bounds give ``_Alignof`` and ``sizeof`` of each named type,
    and ``sizeof`` of the members in ``member_sizes`` ((type, member) pairs: members whose size
    DWARF does not give, see ``_Dwarf.members``); text after the headers, the names freed of
    same-named macros."""
    lines = _undefine([*type_names, *(w for pair in member_sizes for w in pair)])
    for i, name in enumerate(type_names):
        lines.append(f"char __bl_align_{i}[_Alignof({name})];")
        lines.append(f"char __bl_size_{i}[sizeof({name})];")
    for k, (name, member) in enumerate(member_sizes):
        lines.append(f"char __bl_msize_{k}[sizeof((({name} *)0)->{member})];")
    return "".join(line + "\n" for line in lines)


def contract_assertions(types: Mapping[str, Mapping], names: Iterable[str] | None = None) -> tuple[str, int]:
    """C (after the headers) that compiles iff the compiler agrees with layout/1 facts: one
    ``_Static_assert`` per ``sizeof``, ``_Alignof`` and ``offsetof`` of every member that is not a
    bit-field (``offsetof`` cannot name one), for ``names`` (default: every complete type).
    Returns the text and the number of facts asserted."""
    names = [n for n in (types if names is None else names) if types[n].get("size") is not None]
    idents = list(names) + [m["name"] for n in names for m in types[n]["members"] if m.get("name")]
    lines, count = _undefine(idents), 0
    for name in names:
        t = types[name]
        lines.append(f'_Static_assert(sizeof({name}) == {t["size"]}, "sizeof {name}");')
        lines.append(f'_Static_assert(_Alignof({name}) == {t["align"]}, "_Alignof {name}");')
        count += 2
        for m in t["members"]:
            if not m.get("name") or m["offset_bits"] % 8 or m["size_bits"] % 8:
                continue
            lines.append(f'_Static_assert(__builtin_offsetof({name}, {m["name"]}) == {m["offset_bits"] // 8}, '
                         f'"offsetof {name}.{m["name"]}");')
            count += 1
    return "".join(line + "\n" for line in lines), count


def layout_source(headers: Iterable[str | Path], type_names: Sequence[str],
                  member_sizes: Sequence[tuple[str, str]] = ()) -> str:
    """The C of a layout object: the headers, then the marker arrays (``marker_declarations``)."""
    includes = "".join(f'#include "{Path(h).resolve()}"\n' for h in headers)
    return includes + marker_declarations(type_names, member_sizes)


def layout_command(profile, include_dirs=(), defines: Mapping[str, str] = {}, kind: str | None = None,
                   extra_flags: Sequence[str] = ()) -> list[str]:
    """The compile command of a layout object, without its source and output files."""
    argv = compiler_argv(profile, kind)
    cmd = [*argv, *DEBUG_FLAGS, *dwarf_flags(argv), *extra_flags]
    for d in include_dirs:
        cmd += ["-I", str(d)]
    return cmd + toolchains.define_flags(defines)


def compile_layout_object(profile, headers, type_names, workdir: str | Path, include_dirs=(), defines: Mapping[str, str] = {},
                  kind: str | None = None, extra_flags: Sequence[str] = (), timeout: float = 300.0,
                  member_sizes: Sequence[tuple[str, str]] = (), depfile: Path | None = None) -> Path:
    """Compile the layout object in ``workdir``; with ``depfile``, the compiler also lists there
    every file it read (``-MD -MF``)."""
    argv = compiler_argv(profile, kind)
    src = Path(workdir) / f"layout_{profile.name}.c"
    obj = Path(workdir) / f"layout_{profile.name}.o"
    src.write_text(layout_source(headers, type_names, member_sizes))
    cmd = layout_command(profile, include_dirs, defines, kind, extra_flags)
    if depfile is not None:
        cmd += ["-MD", "-MF", str(depfile)]
    cmd += [str(src), "-o", str(obj)]
    proc = toolchains.run_compiler(cmd, timeout=timeout,
                                   what=f"{argv[0]} compiling the layout object for {profile.name}")
    if proc.returncode != 0:
        raise ToolchainError(f"compiling the layout object for {profile.name} failed: "
                             f"{toolchains.first_error(proc.stderr)}")
    return obj


# ---------------------------------------------------------------------------
# DWARF

def _attr(die, name, default=None):
    a = die.attributes.get(name)
    return a.value if a is not None else default


def _member_location(die) -> int:
    a = die.attributes.get("DW_AT_data_member_location")
    if a is None:
        return 0
    if isinstance(a.value, int):
        return a.value
    # DWARF 2 location expression: DW_OP_plus_uconst <uleb128>
    ops = list(a.value)
    if ops and ops[0] == 0x23:
        v, shift = 0, 0
        for b in ops[1:]:
            v |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        return v
    raise ToolchainError(f"unsupported DW_AT_data_member_location {ops!r}")


def _relocated_image(path: Path) -> io.BytesIO:
    """The object file with its RELA relocations against .debug_* applied.

    pyelftools applies relocations only for the machines it has recipes for (not sparc, m68k,
    alpha, hppa, sh, arc...).  In an unlinked object every relocation inside DWARF that we read
    is a 32-bit offset into another debug section (a section symbol, or a local label such as
    MIPS keeps), so "write symbol value + addend as 4 bytes" is exact for what we read; REL
    objects (no explicit addend) hold the addend in place.
    """
    from elftools.elf.elffile import ELFFile
    from elftools.elf.relocation import RelocationSection

    data = bytearray(path.read_bytes())
    with open(path, "rb") as f:
        elf = ELFFile(f)
        order = "little" if elf.little_endian else "big"
        sh = elf["e_machine"] == "EM_SH"
        symtab = elf.get_section_by_name(".symtab")
        for sec in elf.iter_sections():
            if not isinstance(sec, RelocationSection):
                continue
            rela = sec.is_RELA()
            target = elf.get_section(sec["sh_info"])
            if not target.name.startswith(".debug"):
                continue
            base = target["sh_offset"]
            for rel in sec.iter_relocations():
                sym = symtab.get_symbol(rel["r_info_sym"]) if symtab is not None else None
                off = base + rel["r_offset"]
                inplace = int.from_bytes(data[off:off + 4], order)
                # REL: the addend is in place.  RELA: in r_addend, the place holds 0 -- except on
                # SuperH, whose assembler keeps the addend in place and writes r_addend = 0.
                addend = rel["r_addend"] + (inplace if sh else 0) if rela else inplace
                value = (sym["st_value"] if sym is not None else 0) + addend
                data[off:off + 4] = (value & 0xFFFFFFFF).to_bytes(4, order)
    return io.BytesIO(bytes(data))


class _Dwarf:
    def __init__(self, path: Path, little_endian: bool):
        from elftools.elf.elffile import ELFFile

        self._f = _relocated_image(Path(path))
        elf = ELFFile(self._f)
        self.little_endian = little_endian
        self.dwarf = elf.get_dwarf_info(relocate_dwarf_sections=False)
        self.dies = self._collect()
        self._records: dict | None = None  # source position -> struct/union DIE with members

    def _cus(self):
        """The compile units; zero padding after the last one ends the walk (zig's sparc64
        objects pad .debug_info to 4 KiB, which pyelftools reads as a unit with address size 0)."""
        it = self.dwarf.iter_CUs()
        while True:
            try:
                cu = next(it)
            except StopIteration:
                return
            except AssertionError:
                return
            if cu["unit_length"] == 0:
                return
            yield cu

    def _collect(self):
        self.by_offset = {}
        top = []
        self.cus = list(self._cus())
        for cu in self.cus:
            for die in cu.iter_DIEs():
                self.by_offset[die.offset] = die
            top.extend(cu.get_top_DIE().iter_children())
        return top

    def close(self):
        self._f.close()

    def ref(self, die):
        a = die.attributes.get("DW_AT_type")
        if a is None:
            return None
        off = a.value + (die.cu.cu_offset if a.form != "DW_FORM_ref_addr" else 0)
        return self.by_offset[off]

    def strip(self, die):
        while die is not None and die.tag in ("DW_TAG_typedef", "DW_TAG_const_type", "DW_TAG_volatile_type",
                                              "DW_TAG_restrict_type", "DW_TAG_atomic_type"):
            die = self.ref(die)
        return die

    def size(self, die) -> int:
        die = self.strip(die)
        if die is None:
            return 0
        bs = _attr(die, "DW_AT_byte_size")
        if bs is not None:
            return bs
        if die.tag == "DW_TAG_array_type":
            n = 1
            for sub in die.iter_children():
                if sub.tag != "DW_TAG_subrange_type":
                    continue
                cnt = _attr(sub, "DW_AT_count")
                if cnt is None:
                    ub = _attr(sub, "DW_AT_upper_bound")
                    cnt = 0 if ub is None or not isinstance(ub, int) else ub + 1
                    if isinstance(ub, int) and ub >= (1 << 63):  # -1 as unsigned: [0]
                        cnt = 0
                n *= cnt
            return n * self.size(self.ref(die))
        if die.tag in ("DW_TAG_pointer_type", "DW_TAG_reference_type"):
            return die.cu["address_size"]
        return 0

    def _with_members(self, die):
        """``die``, or the DIE whose members it shares.  GCC writes a type variant made by a type
        attribute (``typedef union {...} release_pages_arg __attribute__((__transparent_union__))``,
        include/linux/mm.h) as a second DW_TAG_union_type with the size and source position of
        the original but no children; the members are the original's."""
        if not die.has_children and _attr(die, "DW_AT_byte_size") and "DW_AT_decl_line" in die.attributes:
            if self._records is None:
                self._records = {}
                for d in self.by_offset.values():
                    if d.tag in ("DW_TAG_structure_type", "DW_TAG_union_type") and d.has_children:
                        self._records.setdefault(self._position(d), d)
            return self._records.get(self._position(die), die)
        return die

    @staticmethod
    def _position(die) -> tuple:
        return (die.cu.cu_offset, die.tag, _attr(die, "DW_AT_name"), _attr(die, "DW_AT_byte_size"),
                _attr(die, "DW_AT_decl_file"), _attr(die, "DW_AT_decl_line"), _attr(die, "DW_AT_decl_column"))

    def members(self, die, base_bits: int = 0) -> list[dict]:
        die = self.strip(die)
        out: list[dict] = []
        if die is None or die.tag not in ("DW_TAG_structure_type", "DW_TAG_union_type"):
            return out
        for m in self._with_members(die).iter_children():
            if m.tag != "DW_TAG_member":
                continue
            name = _attr(m, "DW_AT_name")
            name = name.decode() if isinstance(name, bytes) else name
            mtype = self.ref(m)
            bit_size = _attr(m, "DW_AT_bit_size")
            if bit_size is not None:
                dbo = _attr(m, "DW_AT_data_bit_offset")
                if die.tag == "DW_TAG_union_type":
                    # every union member starts at bit 0; GCC's DW_AT_bit_offset for a packed union
                    # bitfield is relative to a containing object it does not emit (-7 on arc/sh4)
                    dbo = 0
                elif dbo is None and "DW_AT_bit_offset" not in m.attributes:
                    dbo = 8 * _member_location(m)  # GCC omits both for union members: offset 0
                elif dbo is None:
                    loc = _member_location(m)
                    storage = _attr(m, "DW_AT_byte_size") or self.size(mtype)
                    bo = _attr(m, "DW_AT_bit_offset", 0)
                    # DWARF 2/3: bit_offset counts from the storage unit's MSB.
                    if self.little_endian:
                        dbo = loc * 8 + storage * 8 - bo - bit_size
                    else:
                        dbo = loc * 8 + bo
                out.append({"name": name, "offset_bits": base_bits + dbo, "size_bits": bit_size})
                continue
            off = base_bits + 8 * _member_location(m)
            if name is None:
                inner = self.strip(mtype)
                if inner is not None and inner.tag in ("DW_TAG_structure_type", "DW_TAG_union_type"):
                    out.extend(self.members(inner, off))
                continue
            entry = {"name": name, "offset_bits": off, "size_bits": 8 * self.size(mtype)}
            if self.is_atomic(mtype):
                # DW_TAG_atomic_type has no size of its own: clang pads an _Atomic type to a power
                # of two, so its member's size comes from a sizeof probe (compiled_layout)
                entry["size_bits"] = None
            out.append(entry)
        return out

    def is_atomic(self, die) -> bool:
        while die is not None and die.tag in ("DW_TAG_typedef", "DW_TAG_const_type", "DW_TAG_volatile_type",
                                              "DW_TAG_restrict_type", "DW_TAG_atomic_type"):
            if die.tag == "DW_TAG_atomic_type":
                return True
            die = self.ref(die)
        return False

    def contract_name(self, die) -> str | None:
        name = _attr(die, "DW_AT_name")
        if name is None:
            return None
        name = name.decode() if isinstance(name, bytes) else name
        return {"DW_TAG_structure_type": f"struct {name}", "DW_TAG_union_type": f"union {name}",
                "DW_TAG_enumeration_type": f"enum {name}", "DW_TAG_typedef": name}.get(die.tag)

    def array_len(self, die) -> int:
        t = self.ref(die)
        for sub in t.iter_children():
            if sub.tag == "DW_TAG_subrange_type":
                cnt = _attr(sub, "DW_AT_count")
                if cnt is not None:
                    return cnt
                ub = _attr(sub, "DW_AT_upper_bound")
                return 0 if ub is None or ub >= (1 << 63) else ub + 1
        return 0


def read_layout(obj: Path, profile, type_names: Sequence[str]) -> dict:
    """Contract dict {"types": {...}} for type_names from a layout object."""
    dw = _Dwarf(obj, profile.little_endian)
    try:
        markers = _probe_bounds(dw)
        defs: dict[str, object] = {}
        for die in dw.dies:
            if die.tag == "DW_TAG_variable" or _attr(die, "DW_AT_declaration"):
                continue
            cname = dw.contract_name(die)
            if cname is not None and cname not in defs:
                defs[cname] = die
        types = {}
        for i, name in enumerate(type_names):
            die = defs.get(name)
            size = markers.get(f"__bl_size_{i}")
            target = dw.strip(die) if die is not None else None
            record = name.startswith(("struct ", "union ")) or target is not None and target.tag in (
                "DW_TAG_structure_type", "DW_TAG_union_type")
            if record and size and (target is None or _attr(target, "DW_AT_declaration")):
                # The compiler knows the size but DWARF only declares the type: members would read
                # as none, silently (GCC -femit-struct-debug-baseonly, which Kbuild adds with
                # CONFIG_DEBUG_INFO_REDUCED, does this).
                raise ToolchainError(f"DWARF for {profile.name} has no definition of {name} although the "
                                     f"compiler gives it size {size} (reduced debug info?)")
            members = dw.members(die) if die is not None else []
            types[name] = {"size": size, "align": markers.get(f"__bl_align_{i}"), "members": members}
        return {"types": types}
    finally:
        dw.close()


def defined_type_names(obj: Path, profile, header_files: Iterable[str] | None, incomplete: bool = False) -> list[str]:
    """Every struct/union/enum/typedef DWARF says the given files define (``None``: every file of
    the TU; complete types only, unless ``incomplete``: then typedefs of incomplete types too, as
    the layout/1 contract lists)."""
    dw = _Dwarf(obj, profile.little_endian)
    try:
        wanted = None if header_files is None else {os.path.realpath(h) for h in header_files}
        names = []
        for cu in dw.cus:
            lp = dw.dwarf.line_program_for_CU(cu)
            files = {}
            if lp is not None:
                entries = lp.header.file_entry
                dirs = lp.header.include_directory
                ver = lp.header.version
                for idx, fe in enumerate(entries):
                    fname = fe.name.decode() if isinstance(fe.name, bytes) else fe.name
                    d = dirs[fe.dir_index - (0 if ver >= 5 else 1)] if (fe.dir_index or ver >= 5) else b""
                    d = d.decode() if isinstance(d, bytes) else d
                    full = os.path.realpath(os.path.join(d, fname))
                    files[idx + (0 if ver >= 5 else 1)] = full
            for die in cu.get_top_DIE().iter_children():
                if die.tag not in ("DW_TAG_structure_type", "DW_TAG_union_type", "DW_TAG_enumeration_type",
                                   "DW_TAG_typedef") or _attr(die, "DW_AT_declaration"):
                    continue
                cname = dw.contract_name(die)
                decl_file = files.get(_attr(die, "DW_AT_decl_file"))
                # a compiler-internal type (GCC's struct __va_list_tag: file <built-in>, line 0) is
                # not nameable in C
                builtin = decl_file is None or _attr(die, "DW_AT_decl_line") == 0
                if cname is None or builtin or wanted is not None and decl_file not in wanted:
                    continue
                if die.tag == "DW_TAG_typedef":
                    target = dw.strip(die)
                    if not incomplete and (target is None or target.tag == "DW_TAG_subroutine_type"
                                           or _attr(target, "DW_AT_declaration")):
                        continue
                if cname not in names:
                    names.append(cname)
        return names
    finally:
        dw.close()


def compiled_layout(headers: Sequence[str | Path], profile, type_names: Sequence[str] | None = None,
                    include_dirs=(), defines: Mapping[str, str] = {}, kind: str | None = None,
                    extra_flags: Sequence[str] = (), cache: bool = True) -> dict:
    """The layout a real compiler produced, as ``{"types": {...}}`` (LayoutSet.to_contract shape).

    Without ``type_names``, a first compile lists the types DWARF says the headers define.
    The answer for the same input is kept (``factscache``) unless ``cache`` is False (a benchmark
    of the compilers themselves).
    """
    return {"types": compiled_facts(headers, profile, type_names, include_dirs, defines, kind, extra_flags,
                                    cache=cache)[0]}


def compiled_facts(headers: Sequence[str | Path], profile, type_names: Sequence[str] | None = None,
                   include_dirs=(), defines: Mapping[str, str] = {}, kind: str | None = None,
                   extra_flags: Sequence[str] = (), *, cache: bool = True) -> tuple[dict, dict]:
    """``compiled_layout``'s types, and where they came from: ``{"hit": bool, "compiled_at": UTC time}``."""
    comp = toolchains.require_compiler(profile, kind)
    command = layout_command(profile, include_dirs, defines, kind, extra_flags)
    inputs = {"command": command, "compiler": comp.identity, "little_endian": profile.little_endian,
              "source": layout_source(headers, []), "types": None if type_names is None else list(type_names)}
    kept = factscache.load(inputs) if cache else None
    if kept is not None:
        return kept["facts"], {"hit": True, "compiled_at": kept["compiled_at"]}
    started = time.time()
    read: list[str] = []
    unknown: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="bitlayout-") as tmp:
        def compile_with(names: Sequence[str], member_sizes: Sequence[tuple[str, str]] = ()) -> Path:
            # a directory per compile: the bare object is read again after a failed marker compile
            workdir = Path(tempfile.mkdtemp(dir=tmp))
            obj = compile_layout_object(profile, headers, names, workdir, include_dirs, defines, kind, extra_flags,
                                        member_sizes=member_sizes, depfile=workdir / "deps.d")
            deps = factscache.read_depfile(workdir / "deps.d")
            if deps is None:
                unknown.append(workdir)  # what it read is unknown: the facts are not kept
            read.extend(d for d in deps or () if not os.path.abspath(d).startswith(tmp + os.sep))
            return obj

        facts = layout_from_compiles(compile_with, profile, type_names, [str(h) for h in headers])["types"]
    if cache and not unknown:
        from ..cfront.sysinclude import system_include_dirs

        try:
            searched = system_include_dirs(comp)
        except ToolchainError:
            searched = None  # where a header would be found first is unknown: keep nothing
        if searched is not None:
            factscache.store(inputs, read, toolchains.compiler_executables(comp),
                             [*(os.path.abspath(d) for d in include_dirs), *searched], facts, started)
    return facts, {"hit": False, "compiled_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started))}


def layout_from_compiles(compile_with: Callable[..., Path], profile,
                         type_names: Sequence[str] | None = None,
                         header_files: Sequence[str] | None = None) -> dict:
    """``{"types": {...}}`` for ``type_names`` from objects ``compile_with(names, member_sizes=())``
    builds (the TU plus ``marker_declarations(names, member_sizes)``; each call a new file), with
    any compile command: the
    profile's compiler here, Kbuild's in ``bitlayout.kernel.facts``.  Without ``type_names``: every
    type DWARF says ``header_files`` define (``None``: every type of the TU), listed from a first
    compile."""
    bare = None
    if type_names is None:
        bare = compile_with([])
        type_names = defined_type_names(obj=bare, profile=profile, header_files=header_files, incomplete=True)
    try:
        obj = compile_with(type_names)
    except ToolchainError:
        # sizeof/_Alignof of an incomplete type (`typedef struct fwd fwd_t;`, `typedef void v_t;`)
        # is a compile error: ask DWARF which names are incomplete and mark only the others.
        if bare is None:
            bare = compile_with([])
        incomplete = incomplete_type_names(bare, profile, type_names)
        if not incomplete:
            raise
        complete = [n for n in type_names if n not in incomplete]
        obj = compile_with(complete)
        done = read_layout(obj, profile, complete)["types"]
        _probe_member_sizes(done, lambda pairs: compile_with([], pairs), profile)
        return {"types": {n: INCOMPLETE if n in incomplete else done[n] for n in type_names}}
    # read_layout's errors are about the DWARF, not the compile: they do not fall into the retry
    done = read_layout(obj, profile, type_names)["types"]
    _probe_member_sizes(done, lambda pairs: compile_with([], pairs), profile)
    # GCC answers sizeof(void) and sizeof of a function type with 1 (a GNU extension): DWARF
    # still says which names have no size
    incomplete = incomplete_type_names(obj, profile, type_names)
    return {"types": {n: INCOMPLETE if n in incomplete else done[n] for n in type_names}}


def _probe_member_sizes(types: dict, compile_with, profile) -> None:
    """Fill in the member sizes DWARF left open (``size_bits`` None) with one more compile of
    ``sizeof(((T *)0)->m)`` probes; in place."""
    pairs = [(name, m["name"]) for name, t in types.items() for m in t["members"] if m["size_bits"] is None]
    if not pairs:
        return
    obj = compile_with(pairs)
    sizes = _variable_bounds(obj, profile)
    it = iter(range(len(pairs)))
    for name, t in types.items():
        for m in t["members"]:
            if m["size_bits"] is None:
                m["size_bits"] = 8 * sizes[f"__bl_msize_{next(it)}"]


def _variable_bounds(obj: Path, profile) -> dict[str, int]:
    dw = _Dwarf(obj, profile.little_endian)
    try:
        return _probe_bounds(dw)
    finally:
        dw.close()


def _probe_bounds(dw: "_Dwarf") -> dict[str, int]:
    """``__bl_*`` probe arrays of a layout object: name -> array length."""
    out = {}
    for die in dw.dies:
        if die.tag == "DW_TAG_variable":
            name = _attr(die, "DW_AT_name")
            name = name.decode() if isinstance(name, bytes) else name
            if name and name.startswith("__bl_"):
                out[name] = dw.array_len(die)
    return out


# The layout/1 form of a type without a size (docs/cfront.md "Incomplete types").
INCOMPLETE = {"size": None, "align": None, "incomplete": True, "members": []}


def incomplete_type_names(obj: Path, profile, type_names: Sequence[str]) -> set[str]:
    """The names among ``type_names`` whose type DWARF describes without a size: a typedef of a
    declared-only struct/union/enum, of void, of a function type or of an array without bounds."""
    dw = _Dwarf(obj, profile.little_endian)
    try:
        defs: dict[str, object] = {}
        for die in dw.dies:
            cname = dw.contract_name(die)
            if cname is not None and (cname not in defs or _attr(defs[cname], "DW_AT_declaration")):
                defs[cname] = die
        out = set()
        for name in type_names:
            die = defs.get(name)
            if die is None:
                continue
            target = dw.strip(die) if die.tag == "DW_TAG_typedef" else die
            if target is None or target.tag == "DW_TAG_subroutine_type" or _attr(target, "DW_AT_declaration") \
                    or target.tag == "DW_TAG_array_type" and not any(
                        _attr(sub, "DW_AT_count") is not None or _attr(sub, "DW_AT_upper_bound") is not None
                        for sub in target.iter_children()):
                out.add(name)
        return out
    finally:
        dw.close()


@register
class CompiledObserver(LayoutObserver):
    """The compiled backend in the matrix: one compile per arch of every type the checks ask about,
    with the arch's preferred installed compiler (the profile's [layout] compiler when installed)."""

    name = Backend.COMPILED
    on_arch = True
    order = 20

    def route(self, profile) -> toolchains.Compiler | None:
        found = toolchains.find_compilers(profile)
        return found[self.rank] if len(found) > self.rank else None

    def compiler_abi(self, profile) -> str | None:
        comp = self.route(profile)
        return comp.abi if comp is not None else None

    def available(self, profile) -> tuple[bool, str]:
        # A missing compiler is a skip with the install hint, not an error.  (A spec's kernel tree
        # compiles with Kbuild's compiler, which its prepared build for the arch already checked.)
        if self.route(profile) is None:
            return False, toolchains.missing_reason(profile) if self.rank == 0 else _no_second_compiler(profile)
        return True, ""

    def observe_layout(self, plan, type_names) -> tuple[dict, Evidence]:
        spec = plan.spec
        if spec.kernel:
            return self._observe_kernel(plan, type_names)
        profile = plan.reference.profile  # the arch's own profile orders its compilers
        comp = self.route(profile)
        if comp is None:
            raise ToolchainError(f"no compiler for {plan.arch}: {toolchains.missing_reason(profile)}")
        t0 = time.perf_counter()
        facts, cached = compiled_facts(list(spec.headers), profile, list(type_names),
                                       include_dirs=list(spec.include_dirs), defines=dict(spec.defines), kind=comp.kind)
        return facts, Evidence(backend=self.name, toolchain=comp.identity, compiler=comp.kind, compiler_abi=comp.abi,
                               target=comp.target, seconds=round(time.perf_counter() - t0, 3),
                               cache_hit=cached["hit"], compiled_at=cached["compiled_at"])

    def _observe_kernel(self, plan, type_names) -> tuple[dict, Evidence]:
        """The spec's kernel TU compiled with Kbuild's command for the arch (its prepared build)."""
        from ..kernel.facts import kernel_compiled_layout
        from ..kernel.inputs import KernelSource

        spec = plan.spec
        if self.rank > 0:
            raise OneKernelCompiler(f"{plan.arch}: a kernel tree is built with Kbuild's one compiler "
                                    "(the compiled backend's row); no second compiler's layout")
        source = KernelSource.open(spec.kernel)
        t0 = time.perf_counter()
        facts = kernel_compiled_layout(source.tree, plan.profile, spec.headers, type_names=list(type_names),
                                       config_file=source.config_file,
                                       extra_flags=source.extra_flags(spec.include_dirs, spec.defines))["types"]
        command = source.command(plan.profile)
        return facts, Evidence(backend=self.name, toolchain=command.compiler_version, compiler="gcc" if not
                               plan.profile.kernel.llvm else "clang", target=f"kbuild {command.build}",
                               seconds=round(time.perf_counter() - t0, 3))


@register
class CompiledAlternateObserver(CompiledObserver):
    """The compiled backend with the arch's other installed compiler (clang where the model follows
    GCC): its rows are judged against the model's prediction for that compiler, so the two
    backends together observe both halves of a compiler divergence."""

    name = Backend.COMPILED_ALTERNATE
    order = 21
    rank = 1


def _no_second_compiler(profile) -> str:
    from .runtimes import other_compiler_missing

    return other_compiler_missing(profile)
