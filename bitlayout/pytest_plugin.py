"""pytest plugin: one test per architecture (registered via the ``pytest11`` entry point).

A test that asks for ``bitlayout_arch`` (or ``bitlayout_layout``, or
``bitlayout_backend``, which depend on it) runs once per selected arch, with
ids like ``[mips]``::

    def test_anon_vma_tag_bits(bitlayout_arch, bitlayout_layout):
        assert bitlayout_layout.tag_bits("struct vm_area_struct.anon_vma", "slab") >= 2

``arch`` and ``layout`` are aliases of ``bitlayout_arch`` and
``bitlayout_layout`` (the names of the first releases): a project fixture or
a ``parametrize`` of the same name takes precedence over them, as pytest
resolves fixture names, and then nothing of this plugin runs for that test.

Options (group ``bitlayout``): ``--bitlayout-arch SEL`` (repeatable, arch
selectors as in ``bitlayout matrix --arch``; default all) and
``--bitlayout-spec FILE`` (whose headers ``bitlayout_layout`` reads; default
the embedded VMA-flags example).  ``@pytest.mark.bitlayout_arch("32bit")``
narrows one test.  ``$BITLAYOUT_EXEC_TIMEOUT`` sets the exec backend's timeout
(README, "Knobs").  Parametrisation happens in ``pytest_generate_tests`` and
depends only on the options, so every pytest-xdist worker collects the same
tests.  Nothing is imported or computed unless a test asks for
``bitlayout_arch``: the plugin is loaded into every pytest run of an
environment with bitlayout installed.  Per-session state lives in
``config.stash``; each arch is laid out once per session (``bitlayout.pipeline``).
"""

from __future__ import annotations

import functools
from typing import Any

import pytest

ARCH = "bitlayout_arch"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bitlayout", "bitlayout: one test per architecture")
    group.addoption("--bitlayout-arch", action="append", default=[], metavar="SEL",
                    help="arch selector (all, 32bit, 64bit, big-endian, little-endian, profile or kernel arch "
                         "names, comma lists); repeatable; default: all")
    group.addoption("--bitlayout-spec", default=None, metavar="FILE",
                    help="spec TOML whose headers the `bitlayout_layout` fixture reads (default: the embedded "
                         "example)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "bitlayout_arch(selector, ...): run this test only on the arches the selectors pick "
                   "(intersected with --bitlayout-arch)")
    st = _State(config)
    config.stash[_STATE] = st
    # Bad option values are usage errors up front (exit 4), not collection errors.
    if config.getoption("--bitlayout-arch"):
        st.profiles
    if config.getoption("--bitlayout-spec"):
        st.spec


class _State:
    """Per-session choices and caches: each arch is planned once, each backend opened once."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self.layouts: dict[str, Any] = {}  # arch -> ArchLayout, or the LayoutFailure
        self.cannot_execute: dict[str, tuple[str, str]] = {}  # "backend:arch" -> ("skip"|"broken"|"", why)
        self.backends: dict[str, Any] = {}  # backend name -> the opened backend

    @functools.cached_property
    def profiles(self):
        from .profiles import select_profiles

        return _usage("--bitlayout-arch", lambda: select_profiles(self.config.getoption("--bitlayout-arch") or None))

    @functools.cached_property
    def spec(self):
        from .spec import load_spec

        return _usage("--bitlayout-spec", lambda: load_spec(self.config.getoption("--bitlayout-spec")))

    @functools.cached_property
    def options(self):
        from .options import Options

        return _usage("bitlayout", Options.from_environ)

    def probe_backends(self) -> list:
        """The backends that run code (answer probes), opened once for the session, in their order
        (the in-process host shim first).  Only those observing through the arch's preferred
        compiler: a driver the other compiler builds is for comparing the two, not a fallback."""
        from .backends import Observes, registered

        wanted = [n for n, c in registered().items() if c.observes is Observes.PROBES and c.rank == 0]
        for name in wanted:
            if name not in self.backends:
                self.backends[name] = registered()[name](self.options)
        return [self.backends[n] for n in wanted]


_STATE = pytest.StashKey[_State]()


def _usage(what: str, make):
    """``make()``, with a bad value the user gave as a usage error (exit 4) naming where it came from."""
    from .errors import BitlayoutError

    try:
        return make()
    except BitlayoutError as exc:
        raise pytest.UsageError(f"{what}: {exc}") from None


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    # Only a test whose fixture closure holds this plugin's fixture: a project fixture named
    # ``arch`` (or a parametrize of it) replaces the alias and keeps ``bitlayout_arch`` out.
    if ARCH not in metafunc.fixturenames:
        return
    from .errors import BitlayoutError
    from .profiles import select_profiles

    profiles = metafunc.config.stash[_STATE].profiles
    for mark in metafunc.definition.iter_markers("bitlayout_arch"):
        if not mark.args:
            raise pytest.UsageError(f"{metafunc.definition.nodeid}: bitlayout_arch needs a selector")
        try:
            narrowed = {p.name for p in select_profiles(list(mark.args))}
        except BitlayoutError as exc:
            raise pytest.UsageError(f"{metafunc.definition.nodeid}: bitlayout_arch: {exc}") from None
        profiles = [p for p in profiles if p.name in narrowed]
    metafunc.parametrize(ARCH, profiles, ids=[p.name for p in profiles], indirect=True)


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    try:
        profiles = config.stash[_STATE].profiles
    except Exception as exc:  # a header must never break collection
        return [f"bitlayout: {exc}"]
    names = [p.name for p in profiles]
    lines = [f"bitlayout arches ({len(names)}): {', '.join(names)}"]
    if config.getoption("verbose") > 0 or config.getoption("--bitlayout-arch"):
        lines.append("bitlayout toolchains: " + ", ".join(f"{p.name}={_toolchain_label(p)}" for p in profiles))
    return lines


def _toolchain_label(profile) -> str:
    try:
        from .toolchains import find_compiler, find_runner

        comp = find_compiler(profile)
        run = find_runner(profile)
    except Exception:  # noqa: BLE001 - the header is informational
        return "?"
    c = comp.kind if comp else "no-compiler"
    r = (run.kind if run else "no-runner")
    return f"{c}/{r}"


# ---------------------------------------------------------------------------
# Fixtures


@pytest.fixture
def bitlayout_arch(request: pytest.FixtureRequest):
    """The arch's ``bitlayout.profiles.Profile`` (parametrised: one test per selected arch)."""
    if not hasattr(request, "param"):
        pytest.fail("the `bitlayout_arch` fixture is parametrised by the bitlayout plugin; "
                    "was it disabled (-p no:bitlayout)?")
    return request.param


@pytest.fixture
def arch(bitlayout_arch):
    """Alias of ``bitlayout_arch``."""
    return bitlayout_arch


class ArchLayout:
    """The spec's headers laid out for one arch (its ``pipeline`` plan), with helpers in the
    spec's expression vocabulary."""

    def __init__(self, plan):
        from .checks import ModelContext

        self.plan = plan
        self.profile = plan.profile
        self.arch = plan.arch
        self.layout_set = plan.layout
        self.spec = plan.spec
        self._ctx = ModelContext(plan)

    def __getattr__(self, name: str):
        # types, enum_constants, macros, eval, to_contract ... from the LayoutSet
        return getattr(self.layout_set, name)

    def __repr__(self) -> str:
        return f"<ArchLayout {self.arch}: {len(self.layout_set.types)} types>"

    def sizeof(self, ctype: str) -> int:
        return self._ctx.sizeof(ctype)

    def alignof(self, ctype: str) -> int:
        return self._ctx.alignof(ctype)

    def offsetof(self, ctype: str, member: str) -> int:
        return self._ctx.offsetof(ctype, member)

    def tag_bits(self, fld: str, allocator: str = "slab") -> int:
        return self._ctx.tag_bits(fld, allocator)

    def geometry(self, ctype: str):
        return self._ctx.geometry(ctype)

    def bit_position(self, ctype: str, nr: int):
        from .bitmap import bit_position

        return bit_position(self.geometry(ctype), nr)

    def fits(self, nr: int, ctype: str) -> bool:
        return self._ctx.fits(nr, ctype)

    def value(self, name: str) -> int:
        """An enumerator or integer macro as this arch defines it."""
        return self._ctx.name(name)

    def check(self, expression: str) -> bool:
        """Evaluate an ``[[expect]]`` expression on this arch."""
        from .expressions import parse_expression

        return bool(parse_expression(expression).evaluate(self._ctx))


@pytest.fixture
def bitlayout_layout(bitlayout_arch, request: pytest.FixtureRequest) -> ArchLayout:
    """The spec's headers laid out for ``bitlayout_arch`` (once per session and arch)."""
    st = request.config.stash[_STATE]
    if bitlayout_arch.name not in st.layouts:
        from .pipeline import plan_for

        plan = plan_for(st.spec, bitlayout_arch)
        st.layouts[bitlayout_arch.name] = ArchLayout(plan) if plan.layout is not None else plan.layout_error
    found = st.layouts[bitlayout_arch.name]
    if not isinstance(found, ArchLayout):
        if found.skip:  # an arch the spec's kernel tree is not prepared for
            pytest.skip(found.message)
        pytest.fail(f"layout of {', '.join(st.spec.headers)} on {bitlayout_arch.name}: {found.message}",
                    pytrace=False)
    return found


@pytest.fixture
def layout(bitlayout_layout) -> ArchLayout:
    """Alias of ``bitlayout_layout``."""
    return bitlayout_layout


class BackendRunner:
    """Runs probe requests on one arch: the host backend when it is compatible, else exec."""

    def __init__(self, profile, backend):
        self.profile = profile
        self.arch = profile.name
        self.name = backend.name
        self._backend = backend

    def observe(self, requests):
        """Check-style probe requests (plain dicts) -> Observations, in order."""
        return self._backend.observe(self.profile, list(requests))

    def __repr__(self) -> str:
        return f"<BackendRunner {self.name} for {self.arch}>"


def _cannot_execute(profile, backend, st: _State) -> tuple[str, str]:
    """Whether a backend that runs code on the arch's own CPU can do it for ``profile`` here:
    ("", "") if it can, ("skip", why) when a tool is missing, ("broken", why) when it is there
    but does not work.

    Its ``available`` is True for a profile with a known ``run_blocker`` whenever a
    compiler exists (the matrix wants its compile-only error row), but a user test
    cannot observe anything there: no runner (the run blocker, or a missing emulator) is
    a reason to skip.  A driver that fails the one ``info`` probe run once per session and
    arch (a crash, a refused binary, a wrong answer) is a broken backend: the tests that
    need it fail, as ``bitlayout matrix`` reports an error, instead of passing as skips.
    """
    from . import toolchains
    from .backends import ObserveFailed
    from .errors import BitlayoutError

    if toolchains.find_runner(profile) is None:
        return "skip", f"cannot execute {profile.name} binaries here: {toolchains.missing_reason(profile)}"
    key = f"{backend.name}:{profile.name}"
    if key not in st.cannot_execute:
        try:
            backend.observe(profile, [{"probe": "info", "args": {}}])
            st.cannot_execute[key] = ("", "")
        except ObserveFailed as exc:
            hint = toolchains.install_hint(profile)
            why = f"the {profile.name} driver does not run here ({exc.status}): {exc.reason}"
            st.cannot_execute[key] = (("skip", why + (f"; install: {hint}" if hint else "")) if exc.status == "skip"
                                      else ("broken", why))
        except BitlayoutError as exc:
            st.cannot_execute[key] = ("broken", f"the {backend.name} backend failed on {profile.name}: {exc}")
    return st.cannot_execute[key]


@pytest.fixture
def bitlayout_backend(bitlayout_arch, request: pytest.FixtureRequest) -> BackendRunner:
    """A backend that runs code for ``bitlayout_arch``: host when compatible, else exec; skips with
    the reason (and the install hint) when no tool can execute code for it here, and fails when
    the tools are there but broken (a crashing emulator is not a skip)."""
    st = request.config.stash[_STATE]
    reasons = []
    for backend in st.probe_backends():
        why = backend.unavailable()
        if not why:
            ok, why = backend.available(bitlayout_arch)
            if ok and backend.on_arch:
                kind, why = _cannot_execute(bitlayout_arch, backend, st)
                if kind == "broken":
                    pytest.fail(f"bitlayout: {backend.name} backend is broken for {bitlayout_arch.name}: {why}",
                                pytrace=False)
                ok = not why
            if ok:
                return BackendRunner(bitlayout_arch, backend)
        reasons.append(f"{backend.name}: {why}")
    pytest.skip(f"no backend runs {bitlayout_arch.name} here ({'; '.join(reasons)})")
