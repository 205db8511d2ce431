"""Read a user's text file (a spec, a profile) as UTF-8, or fail in one line saying where not.

TOML is UTF-8 by definition (toml.io, "Spec": "A TOML file must be a valid UTF-8 encoded
Unicode document"); a stray Latin-1 byte is bad input naming the file, the byte and its
offset, never a UnicodeDecodeError traceback.
"""

from __future__ import annotations

from pathlib import Path

from .errors import BitlayoutError


def read_utf8(path: str | Path, error: type[BitlayoutError], what: str = "file") -> str:
    """The file's text; ``error`` (a BitlayoutError class) when it cannot be read or is not UTF-8."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise error(f"{what} not found", path=str(path)) from None
    except OSError as exc:
        raise error(f"cannot read: {exc.strerror or exc}", path=str(path)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        raise error(f"not UTF-8: byte 0x{data[exc.start]:02x} at offset {exc.start} (line {line}, column {column})",
                    path=str(path)) from None
