"""Build the C shim (csrc/*.c without driver.c) as a cffi API-mode module.

Built at first use into ``~/.cache/bitlayout/ffi-<hash>/`` (or
``$BITLAYOUT_CACHE_DIR/ffi-<hash>/``), the hash covering the C sources, this
script, the cffi and Python versions and the C compiler's identity; later
uses import the cached module.  Two processes (pytest-xdist workers) may
build at once: each builds in its own temporary directory and renames it into
place atomically; the loser throws its copy away and uses the winner's.

Only ``bitlayout.backends.host`` may import this module's ``load()``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from importlib import resources
from pathlib import Path

from .cachedir import user_cache_dir
from .errors import ToolchainError

# The C API the host backend uses; every other C function stays reachable
# only through the probe executor (bl_probe_run), the same entry point the
# driver uses on foreign arches.
CDEF = """
int bl_probe_run(const char *line, char *out, size_t outlen);
int bl_atomic_is_lockfree(int word_bits);
int bl_default_word_bits(void);
"""

_BUILD_VERSION = "1"  # bump when this script changes the build in a way sources do not show


def csrc_dir() -> Path:
    return Path(str(resources.files("bitlayout") / "data" / "csrc")).resolve()


def _sources(src: Path) -> list[Path]:
    return sorted(p for p in src.glob("*.c") if p.name != "driver.c")


def _compiler_identity() -> str:
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    try:
        out = subprocess.run([cc, "--version"], capture_output=True, text=True, timeout=30)
        return f"{cc}: {out.stdout.splitlines()[0] if out.stdout else out.returncode}"
    except (OSError, subprocess.SubprocessError) as exc:
        return f"{cc}: {exc.__class__.__name__}"


def build_key(src: Path | None = None) -> str:
    import cffi

    src = src or csrc_dir()
    h = hashlib.sha256()
    for p in sorted(list(src.glob("*.c")) + list(src.glob("*.h"))):
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    h.update(CDEF.encode())
    h.update(_BUILD_VERSION.encode())
    h.update(cffi.__version__.encode())
    h.update(sys.version.encode())
    h.update((sysconfig.get_config_var("EXT_SUFFIX") or "").encode())
    h.update(_compiler_identity().encode())
    h.update(os.environ.get("CC", "").encode())
    return h.hexdigest()[:16]


def cache_root() -> Path:
    return user_cache_dir()


def _module_name(key: str) -> str:
    return f"_bitlayout_shim_{key}"


def _find_module(directory: Path, name: str) -> Path | None:
    hits = sorted(directory.glob(f"{name}*.so")) + sorted(directory.glob(f"{name}*.pyd"))
    return hits[0] if hits else None


def build(src: Path | None = None, root: Path | None = None) -> Path:
    """Return the path of the compiled module, building it if needed."""
    import cffi

    src = src or csrc_dir()
    key = build_key(src)
    name = _module_name(key)
    final = (root or cache_root()) / f"ffi-{key}"
    found = _find_module(final, name) if final.is_dir() else None
    if found:
        return found
    if final.is_dir():  # a broken leftover (no module in it): rebuild
        shutil.rmtree(final, ignore_errors=True)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".ffi-{key}-", dir=final.parent))
    try:
        ffi = cffi.FFI()
        ffi.cdef(CDEF)
        ffi.set_source(
            name,
            '#include "probes.h"\n#include "bitops.h"\n',
            sources=[str(p) for p in _sources(src)],
            include_dirs=[str(src)],
            extra_compile_args=["-O2", "-std=gnu11", "-Wall"],
            libraries=["pthread"],
        )
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
        try:
            os.rename(tmp, final)
        except OSError:
            # Another process won the race; use its module.
            shutil.rmtree(tmp, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    found = _find_module(final, name)
    if not found:
        raise ToolchainError("cffi build produced no module", path=str(final))
    return found


def load():
    """Build if needed, import, and return (ffi, lib)."""
    path = build()
    name = path.name.split(".")[0]
    if name in sys.modules:
        mod = sys.modules[name]
    else:
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec and spec.loader
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        sys.modules[name] = mod
    return mod.ffi, mod.lib


if __name__ == "__main__":  # python -m bitlayout._ffi_build: build and print the path
    print(build())
