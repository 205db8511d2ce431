"""One error hierarchy for everything a user can get wrong.

Each class carries the process exit status the CLI uses (docs/internals.md,
"JSON contracts": 0 all pass, 1 a check failed, 2 bad input or usage).  Messages are one line and
name the file and the offending value; the CLI prints them without a
traceback unless ``--traceback`` is given.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_CHECK_FAILED = 1
EXIT_BAD_INPUT = 2


class BitlayoutError(Exception):
    """Base class: a problem the user can fix, reported as one line."""

    exit_code = EXIT_BAD_INPUT
    # True: the error says an arch cannot be worked on here at all (a kernel tree not prepared for
    # it), not that the input is wrong; a matrix makes skip rows of it, not error rows.
    skips_arch = False

    def __init__(self, message: str, *, path: str | None = None, key: str | None = None):
        self.path = path
        self.key = key
        where = []
        if path:
            where.append(str(path))
        if key:
            where.append(f"[{key}]")
        prefix = " ".join(where)
        super().__init__(f"{prefix}: {message}" if prefix else message)


class UsageError(BitlayoutError):
    """Bad command line: unknown option value, bad selector, missing file."""


class ProfileError(BitlayoutError):
    """A broken architecture profile (missing key, wrong type, inconsistent value)."""


class SpecError(BitlayoutError):
    """A broken spec file (malformed TOML, unknown type, flag, allocator, expression)."""


class CParseError(BitlayoutError):
    """C source that cannot be parsed; the message starts with file:line:col."""


class LayoutError(BitlayoutError):
    """C that parses but has no layout: unknown or incomplete types, bad bitfields, ..."""


class UnsupportedError(LayoutError):
    """C the compiler accepts but bitlayout does not model (yet): the types that need it are
    reported unsupported, one by one; an error only where a user names such a type."""


class ToolchainError(BitlayoutError):
    """A compiler or emulator that is missing, crashed or timed out where one was required."""


class ShimError(BitlayoutError):
    """Bad arguments for the C shim, caught in Python before any C runs."""


class KernelTreeError(BitlayoutError):
    """A directory that is not a kernel tree, or a kernel build (make) that failed."""


class KernelNotPrepared(KernelTreeError):
    """A kernel tree with no prepared build for the arch asked for: the message says how to
    prepare it.  Inside a matrix this is a skip row, not an error."""

    skips_arch = True


class OneKernelCompiler(BitlayoutError):
    """A second compiler's layout asked of a kernel tree, which Kbuild builds with one compiler
    per arch: a skip row in the matrix, not an error."""

    skips_arch = True
