"""pytest plugin: one test per architecture (registered via the ``pytest11`` entry point).

A test that asks for ``arch`` (or ``layout``, or ``bitlayout_backend``, which
depend on it) runs once per selected arch, with ids like ``[mips]``::

    def test_anon_vma_tag_bits(arch, layout):
        assert layout.tag_bits("struct vm_area_struct.anon_vma", "slab") >= 2

Options (group ``bitlayout``): ``--bitlayout-arch SEL`` (repeatable, arch
selectors as in ``bitlayout matrix --arch``; default all) and
``--bitlayout-spec FILE`` (whose headers ``layout`` reads; default the
embedded VMA-flags example).  ``@pytest.mark.bitlayout_arch("32bit")``
narrows one test.  Parametrisation happens in ``pytest_generate_tests`` and
depends only on the options, so every pytest-xdist worker collects the same
tests.  Nothing is imported or computed unless a test asks for ``arch``: the
plugin is loaded into every pytest run of an environment with bitlayout
installed.
"""

from __future__ import annotations

from typing import Any

import pytest

_STATE = "_bitlayout_state"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bitlayout", "bitlayout: one test per architecture")
    group.addoption("--bitlayout-arch", action="append", default=[], metavar="SEL",
                    help="arch selector (all, 32bit, 64bit, big-endian, little-endian, profile or kernel arch "
                         "names, comma lists); repeatable; default: all")
    group.addoption("--bitlayout-spec", default=None, metavar="FILE",
                    help="spec TOML whose headers the `layout` fixture reads (default: the embedded example)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "bitlayout_arch(selector, ...): run this test only on the arches the selectors pick "
                   "(intersected with --bitlayout-arch)")
    # Bad option values are usage errors up front (exit 4), not collection errors.
    st = _state(config)
    if config.getoption("--bitlayout-arch"):
        st.profiles
    if config.getoption("--bitlayout-spec"):
        st.spec


class _State:
    """Per-session choices and caches (layouts are computed once per arch)."""

    def __init__(self, config: pytest.Config):
        self.config = config
        self._profiles = None
        self._spec = None
        self.layouts: dict[str, Any] = {}
        self.exec_ready: dict[str, str] = {}  # arch -> why exec cannot run it here ('' = it can)
        self.observers: dict[str, Any] = {}  # backend name -> one ProbeObserver for the session

    def observer(self, name: str):
        """One observer per backend for the whole session (not one per test): the host
        module and the exec build cache are opened once."""
        if name not in self.observers:
            from .matrix import ProbeObserver

            self.observers[name] = ProbeObserver(name)
        return self.observers[name]

    @property
    def profiles(self):
        if self._profiles is None:
            from .errors import BitlayoutError
            from .profiles import select_profiles

            selectors = self.config.getoption("--bitlayout-arch") or None
            try:
                self._profiles = select_profiles(selectors)
            except BitlayoutError as exc:
                raise pytest.UsageError(f"--bitlayout-arch: {exc}") from None
        return self._profiles

    @property
    def spec(self):
        if self._spec is None:
            from .errors import BitlayoutError
            from .spec import load_spec

            try:
                self._spec = load_spec(self.config.getoption("--bitlayout-spec"))
            except BitlayoutError as exc:
                raise pytest.UsageError(f"--bitlayout-spec: {exc}") from None
        return self._spec


def _state(config: pytest.Config) -> _State:
    st = getattr(config, _STATE, None)
    if st is None:
        st = _State(config)
        setattr(config, _STATE, st)
    return st


def _ours(metafunc: pytest.Metafunc) -> bool:
    """True if ``arch`` resolves to this plugin's fixture (not a user's fixture or parametrize)."""
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0] if mark.args else mark.kwargs.get("argnames", "")
        if isinstance(names, str):
            names = [n.strip() for n in names.split(",")]
        if "arch" in names:
            return False
    defs = getattr(metafunc, "_arg2fixturedefs", {}).get("arch")
    if not defs:
        return False
    return getattr(defs[-1].func, "__module__", "") == __name__


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "arch" not in metafunc.fixturenames or not _ours(metafunc):
        return
    from .errors import BitlayoutError
    from .profiles import select_profiles

    st = _state(metafunc.config)
    profiles = st.profiles
    for mark in metafunc.definition.iter_markers("bitlayout_arch"):
        if not mark.args:
            raise pytest.UsageError(f"{metafunc.definition.nodeid}: bitlayout_arch needs a selector")
        try:
            narrowed = {p.name for p in select_profiles(list(mark.args))}
        except BitlayoutError as exc:
            raise pytest.UsageError(f"{metafunc.definition.nodeid}: bitlayout_arch: {exc}") from None
        profiles = [p for p in profiles if p.name in narrowed]
    metafunc.parametrize("arch", profiles, ids=[p.name for p in profiles], indirect=True)


def pytest_report_header(config: pytest.Config) -> list[str] | None:
    try:
        st = _state(config)
        profiles = st.profiles
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
def arch(request: pytest.FixtureRequest):
    """The arch's ``bitlayout.profiles.Profile`` (parametrised: one test per selected arch)."""
    if not hasattr(request, "param"):
        pytest.fail("the `arch` fixture is parametrised by the bitlayout plugin; was it disabled (-p no:bitlayout)?")
    return request.param


class ArchLayout:
    """The spec's headers laid out for one arch, with helpers in the spec's expression vocabulary."""

    def __init__(self, profile, layout_set, spec):
        from .checks import ModelContext, plan_arch

        self.profile = profile
        self.arch = profile.name
        self.layout_set = layout_set
        self.spec = spec
        self._ctx = ModelContext(plan_arch(spec, profile, layout_set))

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
        return self._ctx._geometry(ctype)

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
def layout(arch, request: pytest.FixtureRequest) -> ArchLayout:
    """The spec's headers laid out for ``arch`` (cached per session and arch)."""
    from .errors import BitlayoutError, KernelNotPrepared

    st = _state(request.config)
    if arch.name not in st.layouts:
        try:
            from .kernel.inputs import KernelSource, layout_for
        except ImportError as exc:
            pytest.skip(f"bitlayout.layout is not available: {exc}")
        spec = st.spec
        try:
            kernel = KernelSource.open(spec.kernel) if spec.kernel else None
            st.layouts[arch.name] = ArchLayout(
                arch, layout_for(spec.headers, arch, spec.include_dirs, spec.defines, kernel=kernel), spec)
        except KernelNotPrepared as exc:  # an arch the spec's kernel tree is not prepared for
            st.layouts[arch.name] = exc
        except BitlayoutError as exc:
            st.layouts[arch.name] = exc
    found = st.layouts[arch.name]
    if isinstance(found, KernelNotPrepared):
        pytest.skip(str(found))
    if isinstance(found, Exception):
        pytest.fail(f"layout of {', '.join(st.spec.headers)} on {arch.name}: {found}", pytrace=False)
    return found


class BackendRunner:
    """Runs probe requests on one arch: the host backend when it is compatible, else exec."""

    def __init__(self, profile, observer):
        self.profile = profile
        self.arch = profile.name
        self.name = observer.name
        self._observer = observer

    def observe(self, requests):
        """Check-style probe requests (plain dicts) -> Observations, in order."""
        return self._observer.observe(self.profile, list(requests))

    def __repr__(self) -> str:
        return f"<BackendRunner {self.name} for {self.arch}>"


def _exec_cannot_run(profile, observer, config: pytest.Config) -> str:
    """Why the exec backend cannot execute code for ``profile`` here ('' if it can).

    ``ExecBackend.available`` is True for a profile with a known ``run_blocker``
    whenever a compiler exists (the matrix wants its compile-only error row), but a
    user test cannot observe anything there.  So: no runner (the run blocker, or a
    missing emulator) is a reason, and so is a driver that fails the one ``info``
    probe run once per session and arch (a crash or a refused binary at start-up).
    """
    from . import toolchains
    from .matrix import ObserveFailed

    if toolchains.find_runner(profile) is None:
        return f"cannot execute {profile.name} binaries here: {toolchains.missing_reason(profile)}"
    st = _state(config)
    if profile.name not in st.exec_ready:
        try:
            observer.observe(profile, [{"probe": "info", "args": {}}])
            st.exec_ready[profile.name] = ""
        except ObserveFailed as exc:
            hint = toolchains.install_hint(profile)
            st.exec_ready[profile.name] = (f"the {profile.name} driver does not run here ({exc.status}): {exc.reason}"
                                           + (f"; install: {hint}" if hint else ""))
    return st.exec_ready[profile.name]


@pytest.fixture
def bitlayout_backend(arch, request: pytest.FixtureRequest) -> BackendRunner:
    """A backend that runs code for ``arch``: host when compatible, else exec; skips with the
    reason (and the install hint) when none can execute code for it here."""
    reasons = []
    for name in ("host", "exec"):
        obs = _state(request.config).observer(name)
        why = obs.unavailable()
        if not why:
            ok, why = obs.available(arch)
            if ok and name == "exec":
                why = _exec_cannot_run(arch, obs, request.config)
                ok = not why
            if ok:
                return BackendRunner(arch, obs)
        reasons.append(f"{name}: {why}")
    pytest.skip(f"no backend runs {arch.name} here ({'; '.join(reasons)})")
