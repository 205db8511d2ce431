"""Build the C shim (csrc/*.c without driver.c) as a cffi API-mode module.

Two places the module can come from (issue #4):

* **install**: ``pip install .`` / ``pip wheel .`` run ``setup.py``, whose
  ``cffi_modules=["bitlayout/_ffi_build.py:ffibuilder"]`` compiles the shim
  into the package as ``bitlayout._shim_prebuilt``.  The module embeds the
  :func:`source_hash` of the C it was built from (``bl_shim_source_hash()``).
* **cache**: built at first use into ``~/.cache/bitlayout/ffi-<hash>/`` (or
  ``$BITLAYOUT_CACHE_DIR/ffi-<hash>/``), the hash covering the C sources,
  this script, the cffi and Python versions and the C compiler's identity;
  later uses import the cached module, once its record (key, sha256 of the module)
  matches: a truncated or replaced module is rebuilt, never imported, and the cache
  directory must be this user's alone (``bitlayout.cachedir``).  Two processes (pytest-xdist workers)
  may build at once: each builds in its own temporary directory and renames
  it into place atomically; the loser throws its copy away and uses the
  winner's.

:func:`load_module` uses the prebuilt module only when its embedded hash
equals the hash of the csrc files shipped now (an editable install whose C
was edited, an install without a compiler, a module for another cffi all
fall back to the cache build) and says which one it used.

This file is also executed standalone by cffi's setuptools hook (``__name__
== "__cffi__"``, no package around it), so its top level imports only the
standard library; bitlayout imports happen inside the runtime functions.

Only ``bitlayout.backends.host`` may call this module's ``load_module()``.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import os
import shutil
import sys
import sysconfig
from importlib import resources
from pathlib import Path
from typing import Any, NamedTuple

# The C API the host backend uses; every other C function stays reachable
# only through the probe executor (bl_probe_run), the same entry point the
# driver uses on foreign arches.
CDEF = """
int bl_probe_run(const char *line, char *out, size_t outlen);
int bl_atomic_is_lockfree(int word_bits);
int bl_default_word_bits(void);
"""

# Added to every build: the source hash the module was compiled from, so a
# prebuilt module can be checked against the C shipped next to it.
HASH_CDEF = "const char *bl_shim_source_hash(void);\n"

PREBUILT_MODULE = "bitlayout._shim_prebuilt"
CFLAGS = ("-O2", "-std=gnu11", "-Wall")
LIBRARIES = ("pthread",)

_BUILD_VERSION = "2"  # bump when this script changes the build in a way sources do not show


class Loaded(NamedTuple):
    ffi: Any
    lib: Any
    built: str  # "install" (compiled by pip into the package) or "cache" (built at first use)
    path: str  # the imported extension module
    reason: str  # why the prebuilt module was not used ("" when it was)


def csrc_dir() -> Path:
    return Path(str(resources.files("bitlayout") / "data" / "csrc")).resolve()


def _sources(src: Path) -> list[Path]:
    return sorted(p for p in src.glob("*.c") if p.name != "driver.c")


def source_hash(src: Path | None = None) -> str:
    """Hash of what the compiled C is made of: the csrc *.c/*.h files, the
    cdef, the compile flags and the build version.  Independent of the
    Python, cffi and compiler identity (those decide whether the extension
    imports at all, not which C it contains)."""
    src = src or csrc_dir()
    h = hashlib.sha256()
    for p in sorted(list(src.glob("*.c")) + list(src.glob("*.h")), key=lambda p: p.name):
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    h.update(CDEF.encode() + HASH_CDEF.encode())
    h.update(repr((CFLAGS, LIBRARIES, _BUILD_VERSION)).encode())
    return h.hexdigest()[:16]


def _compiler_identity() -> str:
    from .errors import ToolchainError
    from .toolchains import run_compiler

    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    try:
        out = run_compiler([cc, "--version"], timeout=30, what=f"{cc} --version")
        return f"{cc}: {out.stdout.splitlines()[0] if out.stdout else out.returncode}"
    except ToolchainError as exc:
        return f"{cc}: {exc}"


def build_key(src: Path | None = None) -> str:
    """The cache directory key: the source hash plus everything of this
    machine that changes the compiled module."""
    import cffi

    h = hashlib.sha256()
    h.update(source_hash(src).encode())
    h.update(cffi.__version__.encode())
    h.update(sys.version.encode())
    h.update((sysconfig.get_config_var("EXT_SUFFIX") or "").encode())
    h.update(_compiler_identity().encode())
    h.update(os.environ.get("CC", "").encode())
    return h.hexdigest()[:16]


def make_ffi(module_name: str, src: Path, sources: list[str] | None = None, **extension: Any):
    """The cffi builder for the shim, embedding ``source_hash(src)``;
    ``extension`` goes on to the setuptools Extension."""
    import cffi

    digest = source_hash(src)
    ffi = cffi.FFI()
    ffi.cdef(CDEF + HASH_CDEF)
    ffi.set_source(
        module_name,
        '#include "probes.h"\n#include "bitops.h"\n'
        f'static const char *bl_shim_source_hash(void) {{ return "{digest}"; }}\n',
        sources=sources if sources is not None else [str(p) for p in _sources(src)],
        include_dirs=[str(src)],
        extra_compile_args=list(CFLAGS),
        libraries=list(LIBRARIES),
        **extension,
    )
    return ffi


def ffibuilder():
    """setup.py's ``cffi_modules`` entry: the prebuilt module from the C in
    ``bitlayout/data/csrc`` -- the files the package ships and the runtime
    hashes.  In the repository that is a symlink to the real csrc/; in an
    sdist it is the packaged copy (its top-level csrc/ holds only the .c
    files setuptools adds as extension sources, not the headers).

    cffi calls this with the setup directory as the working directory;
    source paths are given relative to it, as setuptools expects.

    The extension is ``optional``: where it cannot be compiled (no C
    compiler or Python headers), setuptools warns and installs without it,
    and the host backend builds into the cache at first use instead (setuptools
    ``build_ext._filter_build_errors``; the cache build's ToolchainError then
    says what to install)."""
    src = (Path(__file__).resolve().parent / "data" / "csrc").resolve()
    sources = []
    for p in _sources(src):
        try:
            sources.append(os.path.relpath(p, Path.cwd()))
        except ValueError:
            sources.append(str(p))
    return make_ffi(PREBUILT_MODULE, src, sources, optional=True)


def cache_root() -> Path:
    from .cachedir import cache_subdir

    return cache_subdir()  # private to this user: the module in it is imported, i.e. executed


def _module_name(key: str) -> str:
    return f"_bitlayout_shim_{key}"


def _find_module(directory: Path, name: str) -> Path | None:
    hits = sorted(directory.glob(f"{name}*.so")) + sorted(directory.glob(f"{name}*.pyd"))
    return hits[0] if hits else None


def build(src: Path | None = None, root: Path | None = None) -> Path:
    """Return the path of the cache-built module, building it if needed."""
    from .cachedir import file_digest
    from .errors import ToolchainError
    from .publish import publish_dir

    src = src or csrc_dir()
    key = build_key(src)
    name = _module_name(key)
    final = (root or cache_root()) / f"ffi-{key}"
    found = _verified_module(final, name, key) if final.is_dir() else None
    if found:
        return found
    if final.is_dir():  # a broken leftover (no module, no record, other bytes): rebuild
        shutil.rmtree(final, ignore_errors=True)
    final.parent.mkdir(parents=True, exist_ok=True)

    def compile_into(tmp: Path) -> None:
        ffi = make_ffi(name, src)
        try:
            ffi.compile(tmpdir=str(tmp), verbose=False)
        except Exception as exc:  # distutils/setuptools CompileError, LinkError, VerificationError
            raise ToolchainError(f"cannot build the C shim with cffi ({type(exc).__name__}: "
                                 f"{str(exc).strip().splitlines()[-1] if str(exc).strip() else ''}); "
                                 "install a C compiler and Python headers: apt-get install gcc python3-dev",
                                 path=str(src)) from None
        # Keep only the module and its generated C; drop the object tree.
        for junk in tmp.iterdir():
            if junk.is_dir():
                shutil.rmtree(junk, ignore_errors=True)
        module = _find_module(tmp, name)
        if module is not None:  # what the module was built for and its bytes, checked on every load
            record = {"key": key, "module": module.name, "sha256": file_digest(module)}
            (tmp / RECORD).write_text(json.dumps(record), encoding="utf-8")

    # Another process may win the race: its module is then used (once verified like any entry).
    publish_dir(final, compile_into)
    found = _verified_module(final, name, key)
    if not found:
        raise ToolchainError("cffi build produced no module that matches its record", path=str(final))
    return found


RECORD = "bitlayout-record.json"


def _verified_module(directory: Path, name: str, key: str) -> Path | None:
    """The module in a cache directory, only if the record next to it names this key and the
    module's bytes are the ones built (a truncated or replaced module is never imported)."""
    from .cachedir import file_digest

    module = _find_module(directory, name)
    try:
        record = json.loads((directory / RECORD).read_text(encoding="utf-8"))
        ok = (module is not None and isinstance(record, dict) and record.get("key") == key
              and record.get("module") == module.name and record.get("sha256") == file_digest(module))
    except (OSError, ValueError):
        return None
    return module if ok else None


def decide(embedded: str | None, current: str) -> str:
    """"install" when the prebuilt module was compiled from exactly the C
    shipped now, else "cache"."""
    return "install" if embedded is not None and embedded == current else "cache"


def _embedded_hash(mod: Any) -> str | None:
    try:
        raw = mod.lib.bl_shim_source_hash()
        return mod.ffi.string(raw).decode("ascii")
    except Exception:  # noqa: BLE001 - a module without the hash function is never used
        return None


def _import_prebuilt(name: str) -> tuple[Any, str]:
    """(module or None, why not).  Any failure (not built, built for another
    Python or cffi, unloadable) means "use the cache build"."""
    try:
        return importlib.import_module(name), ""
    except Exception as exc:  # noqa: BLE001 - ImportError, or cffi's version check
        return None, f"no prebuilt module {name} ({type(exc).__name__}: {exc})"


def _import_path(path: Path) -> Any:
    name = path.name.split(".")[0]
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    sys.modules[name] = mod
    return mod


def load_module(src: Path | None = None, prebuilt: str = PREBUILT_MODULE) -> Loaded:
    """Import the prebuilt module if it matches the shipped C, else build
    (or reuse) the cache module."""
    src = src or csrc_dir()
    current = source_hash(src)
    if os.environ.get("BITLAYOUT_NO_PREBUILT_SHIM"):  # the cache build, as without pip's build step
        mod, why = None, "BITLAYOUT_NO_PREBUILT_SHIM is set"
    else:
        mod, why = _import_prebuilt(prebuilt)
    if mod is not None:
        embedded = _embedded_hash(mod)
        if decide(embedded, current) == "install":
            return Loaded(mod.ffi, mod.lib, "install", str(getattr(mod, "__file__", prebuilt)), "")
        why = (f"prebuilt module {prebuilt} was built from C with hash {embedded}, "
               f"the shipped C hashes to {current}")
    path = build(src)
    mod = _import_path(path)
    return Loaded(mod.ffi, mod.lib, "cache", str(path), why)


if __name__ == "__main__":  # python -m bitlayout._ffi_build: build and print the path
    print(build())
