"""A compiler's ``#include <...>`` search list, as ``cc -E -v`` prints it.

Found once per compiler identity: kept in memory, and on disk under the user cache dir
(``cpp/sysdirs-<key>.json``, JSON, verified on load: same compiler identity and command, every
directory still there; anything else is measured again).
"""

from __future__ import annotations

import hashlib
import os
import subprocess

from ..cachedir import cache_subdir, publish_json, read_json
from ..errors import ToolchainError
from ..toolchains import first_error

SCHEMA = "bitlayout.sysdirs/1"
_MEMORY: dict[str, tuple[str, ...]] = {}


def _command(compiler) -> list[str]:
    return [*compiler.argv, *compiler.cflags, "-std=gnu11", "-x", "c", "-E", "-v", os.devnull]


def parse_search_list(stderr: str) -> tuple[str, ...]:
    """The directories between ``#include <...> search starts here:`` and ``End of search list.``"""
    dirs = []
    inside = False
    for line in stderr.splitlines():
        if line.startswith("#include <...> search starts here:"):
            inside = True
        elif line.startswith("End of search list."):
            break
        elif inside and line.startswith(" "):
            dirs.append(line.strip().removesuffix(" (framework directory)"))
    return tuple(dirs)


def system_include_dirs(compiler) -> tuple[str, ...]:
    """The compiler's system include directories, in search order."""
    command = _command(compiler)
    key = hashlib.sha256("\0".join([compiler.identity, *command]).encode()).hexdigest()[:24]
    hit = _MEMORY.get(key)
    if hit is not None:
        return hit
    path = cache_subdir("cpp") / f"sysdirs-{key}.json"
    data = read_json(path)
    if (isinstance(data, dict) and data.get("schema") == SCHEMA and data.get("identity") == compiler.identity
            and data.get("command") == command and isinstance(data.get("dirs"), list)
            and all(isinstance(d, str) and os.path.isdir(d) for d in data["dirs"])):
        dirs = tuple(data["dirs"])
    else:
        try:
            proc = subprocess.run(command, capture_output=True, text=True, errors="replace", timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise ToolchainError(f"cannot run {compiler.identity} -E -v: {exc}") from None
        dirs = parse_search_list(proc.stderr)
        if proc.returncode != 0 or not dirs:
            raise ToolchainError(f"{compiler.identity} -E -v gave no include search list: "
                                 f"{first_error(proc.stderr)}")
        publish_json(path, {"schema": SCHEMA, "identity": compiler.identity, "command": command, "dirs": list(dirs)})
    _MEMORY[key] = dirs
    return dirs


def clear_caches() -> None:
    _MEMORY.clear()
