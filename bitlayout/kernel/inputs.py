"""A kernel tree as the source of the headers to lay out (``--kernel DIR``, the spec's ``kernel``).

With a kernel tree, a header is either an existing file (a patched copy, included by its path)
or a kernel include name (``linux/mm_types.h``, found through Kbuild's ``-I`` directories).
Per arch, ``kernel_text`` gives what the layout engine consumes: the TU preprocessed exactly as
Kbuild would (``-E -dD``), the files that count as "the input" (the named headers as resolved for
that arch: their types are the default listing) and the object-like macros those files define.
``kernel_layout`` is the kernel route (``pipeline`` takes it for a spec's ``kernel``); ``layout_for``
picks the kernel route or the plain one for the layout command and diff; ``layouts_for`` does that
for many arches, running the next arches' Kbuild ``-E`` while it lays out the previous ones.
"""

from __future__ import annotations

import os
import re
from collections import abc
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Collection, Iterator, Mapping, Sequence

from ..errors import KernelNotPrepared, UsageError
from ..profiles import Profile
from ..toolchains import define_flags

if TYPE_CHECKING:  # the Kbuild modules load with the first kernel tree (layout without one skips them)
    from .kbuild import KbuildCommand
    from .tree import KernelTree

# Where a kernel include name can live in a source tree (any arch; the arch's own -I list decides
# per arch).  asm/ names may also be generated wrappers of asm-generic/.
_SOURCE_INCLUDE_DIRS = ("include", "include/uapi")


def header_problem(tree: KernelTree, header: str) -> str:
    """'' if ``header`` is an existing file or an include name the tree can resolve on some arch,
    else why not."""
    if Path(header).is_file():
        return ""
    if Path(header).is_absolute() or header.startswith("."):
        return "no such file"
    src = tree.source
    dirs = [src / d for d in _SOURCE_INCLUDE_DIRS]
    arch_root = src / "arch"
    dirs += [d / "include" for d in arch_root.iterdir() if d.is_dir()] if arch_root.is_dir() else []
    dirs += [d / "include" / "uapi" for d in arch_root.iterdir() if d.is_dir()] if arch_root.is_dir() else []
    if tree.build is not None:
        dirs += [tree.build / "include", tree.build / "include" / "generated" / "uapi"]
    if any((d / header).is_file() for d in dirs):
        return ""
    if header.startswith("asm/") and (src / "include" / "asm-generic" / header[4:]).is_file():
        return ""
    return f"neither a file nor a header of {tree.label} (give an include name such as linux/mm_types.h, or a path)"


@dataclass(frozen=True)
class KernelSource:
    """``--kernel DIR``: the tree, and the .config the builds were prepared with (None: the
    profiles' own configurations)."""

    tree: KernelTree
    config_file: Path | None = None

    @classmethod
    def open(cls, directory: str | Path, config_file: str | Path | None = None) -> "KernelSource":
        from .tree import find_tree

        return cls(find_tree(directory), Path(config_file) if config_file else None)

    def command(self, profile: Profile) -> KbuildCommand:
        """Kbuild's command for ``profile`` (KernelNotPrepared when no prepared build serves it)."""
        from .kbuild import command_for

        return command_for(self.tree, profile, self.config_file)

    @staticmethod
    def extra_flags(include_dirs: Sequence[str] = (), defines: Mapping[str, str] | None = None) -> list[str]:
        """The user's ``-I``/``-D`` (a spec's or the command line's), after Kbuild's own flags."""
        return [f"-I{Path(d).resolve()}" for d in include_dirs] + define_flags(defines or {})

    def check_headers(self, headers: Sequence[str], what: str = "header") -> None:
        """UsageError for the first header the tree cannot provide (before any arch runs)."""
        if not headers:
            raise UsageError(f"--kernel {self.tree.given}: name at least one header (e.g. linux/mm_types.h)")
        for h in headers:
            why = header_problem(self.tree, str(h))
            if why:
                raise UsageError(f"{what} {h}: {why}")

    def ready_profiles(self, profiles: Sequence[Profile]) -> tuple[list[Profile], list[str]]:
        """The profiles this tree has a prepared build for, and the names of the others (for a
        command run without ``--arch``: lay out what is prepared, say what is not).  None at all
        is KernelNotPrepared with the command that prepares them."""
        from .prepare import prepared_build

        ready, left = [], []
        for p in profiles:
            try:
                prepared_build(self.tree, p, self.config_file)
                ready.append(p)
            except KernelNotPrepared:
                left.append(p.name)
        if not ready:
            raise KernelNotPrepared(f"not prepared for any selected arch: run `bitlayout kernel prepare "
                                    f"{self.tree.given} --arch ARCHES` (e.g. x86_64,i386,arm,aarch64)",
                                    path=str(self.tree.given))
        return ready, left


_LINE_MARKER = re.compile(r'#\s*(?:line\s+)?\d+\s+"((?:\\.|[^"\\])*)"')
_OBJECT_DEFINE = re.compile(r"#\s*define\s+([A-Za-z_]\w*)(?![\w(])")


def defined_in(text: str, files: Collection[str]) -> set[str]:
    """Names of the object-like macros that ``-dD`` text shows defined in ``files`` (paths as the
    line markers write them)."""
    wanted, current, out = set(files), None, set()
    for line in text.splitlines():
        if not line.startswith("#"):
            continue
        m = _LINE_MARKER.match(line)
        if m:
            current = m.group(1)
            continue
        if current in wanted:
            m = _OBJECT_DEFINE.match(line)
            if m:
                out.add(m.group(1))
    return out


class InputMacros(abc.Mapping):
    """The object-like macros the named headers define (a kernel TU has some 9,000 macros; a spec
    names those of its headers), each expanded with every macro of the TU (``expand``)."""

    def __init__(self, every: Any, names: Collection[str]):
        self._every = every
        self._names = [n for n in every if n in set(names)]

    def __getitem__(self, name: str) -> str:
        if name not in self._names:
            raise KeyError(name)
        return self._every[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def expand(self, text: str) -> str:
        return self._every.expand(text)


@dataclass(frozen=True)
class KernelText:
    """One arch's preprocessed kernel TU, as ``layout.layout_text`` takes it."""

    text: str
    filename: str
    input_files: tuple[str, ...]
    macros: Mapping[str, str]


def kernel_text(source: KernelSource, headers: Sequence[str], profile: Profile,
                include_dirs: Sequence[str] = (), defines: Mapping[str, str] | None = None) -> KernelText:
    """The TU including ``headers``, preprocessed with Kbuild's command for ``profile``
    (KernelNotPrepared when the tree has no prepared build for it)."""
    from ..cfront import collect_macros
    from .kbuild import kernel_preprocess

    command = source.command(profile)
    text = kernel_preprocess(source.tree, profile, headers, config_file=source.config_file,
                             extra_flags=source.extra_flags(include_dirs, defines))
    inputs = []
    for h in headers:
        path = Path(h).resolve() if Path(h).is_file() else command.resolve_include(str(h))
        if path is not None:
            inputs.append(str(path))
    macros = InputMacros(collect_macros(text), defined_in(text, inputs))
    return KernelText(text, inputs[0] if inputs else str(headers[0]), tuple(inputs), macros)


def kernel_layout(source: KernelSource, headers: Sequence[str], profile: Profile, include_dirs: Sequence[str] = (),
                  defines: Mapping[str, str] | None = None, *, text: KernelText | None = None) -> Any:
    """The LayoutSet of ``headers`` taken from the kernel tree for ``profile``: Kbuild's
    preprocessed TU (``text``, or ``kernel_text`` now), laid out with the profile as Kbuild's
    flags change it (``abi_flags``)."""
    from ..layout import layout_text
    from .abi import kernel_profile

    kt = text if text is not None else kernel_text(source, headers, profile, include_dirs, defines)
    model_profile = kernel_profile(profile, source.command(profile).argv)
    return layout_text(kt.text, model_profile, kt.filename, kt.input_files, kt.macros)


def layout_for(headers: Sequence[str], profile: Profile, include_dirs: Sequence[str] = (),
               defines: Mapping[str, str] | None = None, *, kernel: KernelSource | None = None,
               builtin: bool | None = None) -> Any:
    """``layout.layout_headers``, or with ``kernel`` the same headers taken from the kernel tree
    (``kernel_layout``): the one choice for the layout command and diff."""
    if kernel is None:
        from ..layout import layout_headers

        return layout_headers(list(headers), profile, include_dirs=tuple(include_dirs), defines=dict(defines or {}),
                              builtin=builtin)
    return kernel_layout(kernel, headers, profile, include_dirs, defines)


def layouts_for(headers: Sequence[str], profiles: Sequence[Profile], include_dirs: Sequence[str] = (),
                defines: Mapping[str, str] | None = None, *, kernel: KernelSource | None = None,
                builtin: bool | None = None, jobs: int | None = None) -> Iterator[tuple[Profile, Any]]:
    """``layout_for`` of each profile in turn, as (profile, its LayoutSet or the BitlayoutError it
    raised).  With ``kernel``, Kbuild's ``-E`` (a compiler process, 0.2-0.3 s a kernel TU) of the
    next ``jobs`` arches runs in threads while this one lays out the arch before them, and each
    arch's declarations shared with the arches before it are replayed, not parsed again
    (``cfront.declmemo``)."""
    from ..errors import BitlayoutError

    if kernel is None or len(profiles) < 2:
        for p in profiles:
            try:
                yield p, layout_for(headers, p, include_dirs, defines, kernel=kernel, builtin=builtin)
            except BitlayoutError as exc:
                yield p, exc
        return
    from concurrent.futures import ThreadPoolExecutor

    jobs = max(1, jobs or os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        pending = [pool.submit(kernel_text, kernel, headers, p, include_dirs, defines) for p in profiles[:jobs]]
        for i, p in enumerate(profiles):
            if i + jobs < len(profiles):  # at most ``jobs`` texts wait: each is 3-4.5 MB
                pending.append(pool.submit(kernel_text, kernel, headers, profiles[i + jobs], include_dirs, defines))
            try:
                yield p, kernel_layout(kernel, headers, p, include_dirs, defines, text=pending[i].result())
            except BitlayoutError as exc:
                yield p, exc
            pending[i] = None
