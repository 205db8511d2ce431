"""The per-arch preprocessing driver (``bitlayout.cfront.preprocess``): which route runs and why,
sharing one built-in run between arches that agree on what it looked up, the on-disk cache
(``ppcache``), the compiler's include search list (``sysinclude``)."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest

from bitlayout import cfront, layout, profiles, toolchains
from bitlayout.cfront import ppcache, preprocess, sysinclude
from bitlayout.cfront.cpp import CompilerNeeded
from bitlayout.errors import CParseError, ToolchainError
from cpp_support import require

X86_64 = profiles.profile_by_name("x86_64")
I386 = profiles.profile_by_name("i386")


@pytest.fixture(autouse=True)
def _fresh(private_cache):
    cfront.clear_caches()
    yield
    cfront.clear_caches()


def _header(tmp_path, text, name="h.h") -> Path:
    h = tmp_path / name
    h.write_text(text)
    return h


def test_the_builtin_route_is_the_default_where_it_is_exact(tmp_path):
    require(X86_64)
    h = _header(tmp_path, "#include <stdint.h>\nstruct s { uint64_t x; };\n")
    text, how, _ = cfront.preprocess_for([h], X86_64)
    assert how == "builtin" and re.search(r"typedef\s+__uint64_t\s+uint64_t;", text)
    _, how, _ = cfront.preprocess_for([h], X86_64, builtin=False)
    assert how == toolchains.find_compiler(X86_64).identity


def test_a_question_the_facts_cannot_answer_runs_the_compiler(tmp_path):
    compiler = require(X86_64)
    h = _header(tmp_path, "#if __has_attribute(bitlayout_surely_unknown)\nint yes;\n#endif\nint x;\n")
    text, how, _ = cfront.preprocess_for([h], X86_64)
    assert how.startswith(compiler.identity) and "bitlayout_surely_unknown" in how and "int x;" in text
    with pytest.raises(CompilerNeeded, match=r"h.h:1: __has_attribute\(bitlayout_surely_unknown\) is not among"):
        cfront.preprocess_for([h], X86_64, builtin=True)
    # not evaluated: no answer needed, the built-in preprocessor goes on
    h.write_text("#if 0 && __has_attribute(bitlayout_surely_unknown)\n#endif\nint x;\n")
    assert cfront.preprocess_for([h], X86_64)[1] == "builtin"


def test_too_big_an_expansion_runs_the_compiler(tmp_path):
    compiler = require(X86_64)
    h = _header(tmp_path, "".join(f"#define A{k + 1} A{k} A{k}\n" for k in range(19)) + "#define A0 x\nint A19;\n")
    text, how, _ = cfront.preprocess_for([h], X86_64)
    assert how.startswith(compiler.identity) and "exceeds" in how and text.count(" x") >= 2 ** 19 - 1


def test_without_the_compiler_only_input_without_system_headers_is_built_in(tmp_path, monkeypatch):
    monkeypatch.setenv("BITLAYOUT_NO_GCC", "1")
    monkeypatch.setenv("BITLAYOUT_NO_ZIG", "1")
    toolchains.clear_caches()
    try:
        (tmp_path / "inc").mkdir()
        (tmp_path / "inc" / "mine.h").write_text("typedef int mine_t;\n")
        h = _header(tmp_path, "#include <mine.h>\nstruct s { mine_t m; long l; };\n")
        text, how, _ = cfront.preprocess_for([h], I386, [str(tmp_path / "inc")])
        assert how == "builtin" and "typedef int mine_t;" in text
        assert layout.layout_headers([h], I386, [str(tmp_path / "inc")]).types["struct s"].size_bytes == 8
        h.write_text("#include <stdint.h>\n")
        with pytest.raises(ToolchainError) as info:
            cfront.preprocess_for([h], I386)
        msg = str(info.value)
        assert "stdint.h" in msg and "no compiler for i386" in msg and "\n" not in msg
    finally:
        monkeypatch.undo()
        toolchains.clear_caches()


def test_facts_measured_with_another_compiler_are_not_used(tmp_path, profile_dir_copy):
    compiler = require(X86_64)
    path = profile_dir_copy / "predefined" / "x86_64.gcc.json"
    data = json.loads(path.read_text())
    data["identity"] = "x86_64-linux-gnu-gcc 99.0.0"
    path.write_text(json.dumps(data))
    p = profiles.load_profile(profile_dir_copy / "x86_64.toml")
    h = _header(tmp_path, "int x;\n")
    _, how, _ = cfront.preprocess_for([h], p)
    assert how.startswith(compiler.identity) and "99.0.0" in how
    with pytest.raises(CParseError, match="not exact for x86_64: its data was measured with"):
        cfront.preprocess_for([h], p, builtin=True)


def test_arches_that_agree_on_what_a_run_looked_up_share_it(tmp_path):
    h = _header(tmp_path, "#ifdef __LP64__\nlong x;\n#else\nint x;\n#endif\n#define W __SIZEOF_LONG__\n"
                          "struct s { char c[W]; };\n")
    arches = ["x86_64", "alpha", "aarch64", "i386", "m68k"]
    texts = {a: cfront.preprocess_for([h], profiles.profile_by_name(a), builtin=True)[0] for a in arches}
    assert texts["x86_64"] is texts["alpha"] is texts["aarch64"]
    assert texts["i386"] is texts["m68k"] and texts["i386"] is not texts["x86_64"]
    # macros the run never expanded are expanded per arch (W: __SIZEOF_LONG__)
    for a, width in (("x86_64", 8), ("alpha", 8), ("i386", 4), ("m68k", 4)):
        assert layout.layout_headers([h], profiles.profile_by_name(a), builtin=True).macros["W"] == width


def test_a_changed_file_is_preprocessed_again(tmp_path):
    h = _header(tmp_path, '#include "inner.h"\n')
    inner = _header(tmp_path, "int one;\n", "inner.h")
    assert "int one;" in cfront.preprocess_for([h], X86_64, builtin=True)[0]
    inner.write_text("long two;\n")
    assert "long two;" in cfront.preprocess_for([h], X86_64, builtin=True)[0]
    # a file that appears where an include was looked for before
    (tmp_path / "sub").mkdir()
    h2 = _header(tmp_path, "#if __has_include(\"sub/new.h\")\nint present;\n#endif\n", "h2.h")
    assert "present" not in cfront.preprocess_for([h2], X86_64, builtin=True)[0]
    (tmp_path / "sub" / "new.h").write_text("\n")
    assert "int present;" in cfront.preprocess_for([h2], X86_64, builtin=True)[0]


# -- the disk cache ---------------------------------------------------------------------------------------

def _entries(cache: Path) -> list[Path]:
    return sorted((cache / "cpp").glob("pp-*.json"))


def test_the_next_process_reads_the_run_from_disk(tmp_path, private_cache, monkeypatch):
    h = _header(tmp_path, '#include "inner.h"\n#define N 3\nstruct s { int a[N]; };\n')
    _header(tmp_path, "typedef int inner_t;\n", "inner.h")
    first, _, macros = cfront.preprocess_for([h], X86_64, builtin=True)
    (entry,) = _entries(private_cache)
    data = json.loads(entry.read_text())  # plain JSON: nothing executable
    assert data["schema"] == ppcache.SCHEMA and data["text"] == first
    cfront.clear_caches()

    def no_run(*args, **kw):
        raise AssertionError("preprocessed again instead of reading the cache")

    monkeypatch.setattr(preprocess, "_run", no_run)
    again, how, macros2 = cfront.preprocess_for([h], X86_64, builtin=True)
    assert again == first and how == "builtin" and macros2["N"] == "3" and dict(macros2) == dict(macros)


def test_an_entry_read_again_outlives_the_entries_written_once(tmp_path, private_cache, monkeypatch):
    """The cache keeps its newest entries; reading one makes it the newest, so a workflow larger
    than the cache (26 arches x 40 headers) still finds what it reads on every run."""
    from bitlayout import cachedir

    headers = [_header(tmp_path, f"struct s{i} {{ int a; }};\n", f"h{i}.h") for i in range(4)]
    entries = []
    for i, h in enumerate(headers):
        cfront.preprocess_for([h], X86_64, builtin=True)
        (new,) = set(_entries(private_cache)) - set(entries)
        os.utime(new, (1000 + i, 1000 + i))  # h0's the oldest, h3's the newest
        entries.append(new)
    written = {e: e.stat().st_mtime for e in entries}
    cfront.clear_caches()
    cfront.preprocess_for([headers[0]], X86_64, builtin=True)  # read from disk: now the newest
    assert [e for e in entries if e.stat().st_mtime > written[e]] == [entries[0]]
    monkeypatch.setattr(cachedir, "_PRUNED", set())
    cachedir.prune_once(private_cache / "cpp", "pp-", 2)
    assert _entries(private_cache) == sorted([entries[0], entries[3]])


def test_the_knob_turns_reuse_off(tmp_path, private_cache, monkeypatch):
    h = _header(tmp_path, "struct s { int a; };\n")
    first, _, _ = cfront.preprocess_for([h], X86_64, builtin=True)
    cfront.clear_caches()
    runs = []
    real = preprocess._run
    monkeypatch.setattr(preprocess, "_run", lambda *a, **k: runs.append(1) or real(*a, **k))
    monkeypatch.setenv("BITLAYOUT_NO_PARSE_CACHE", "1")
    assert cfront.preprocess_for([h], X86_64, builtin=True)[0] == first and runs == [1]


def test_a_file_changed_behind_the_cache_is_noticed_even_with_its_size_and_mtime_kept(tmp_path, private_cache):
    h = _header(tmp_path, '#include "inner.h"\n')
    inner = _header(tmp_path, "int aaa;\n", "inner.h")
    cfront.preprocess_for([h], X86_64, builtin=True)
    st = inner.stat()
    inner.write_text("int bbb;\n")
    os.utime(inner, ns=(st.st_atime_ns, st.st_mtime_ns))
    cfront.clear_caches()
    assert "int bbb;" in cfront.preprocess_for([h], X86_64, builtin=True)[0]


def test_a_damaged_or_mismatching_entry_is_rebuilt(tmp_path, private_cache):
    h = _header(tmp_path, "int x;\n")
    good = cfront.preprocess_for([h], X86_64, builtin=True)[0]
    (entry,) = _entries(private_cache)
    stored = json.loads(entry.read_text())
    tampered = json.loads(entry.read_text())
    tampered["text"] = "int HACKED;\n"
    tampered["files"][0][5] = "0" * 64  # its record of the file no longer matches the file
    for damage in ("{not json", json.dumps({**stored, "key": "0" * 40}), json.dumps(tampered)):
        entry.write_text(damage)
        cfront.clear_caches()
        assert cfront.preprocess_for([h], X86_64, builtin=True)[0] == good
        assert json.loads(entry.read_text()) == stored  # written again


def test_a_read_only_cache_only_costs_speed(tmp_path, private_cache):
    private_cache.mkdir()
    private_cache.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(private_cache, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        h = _header(tmp_path, "int x;\n")
        assert "int x;" in cfront.preprocess_for([h], X86_64, builtin=True)[0]
    finally:
        private_cache.chmod(stat.S_IRWXU)


def test_the_key_covers_defines_include_dirs_and_the_arch(tmp_path, private_cache):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.h").write_text("int from_a;\n")
    (tmp_path / "b" / "x.h").write_text("int from_b;\n")
    h = _header(tmp_path, "#include <x.h>\nint v = V;\n")
    runs = [([str(tmp_path / "a")], {"V": "1"}, X86_64), ([str(tmp_path / "b")], {"V": "1"}, X86_64),
            ([str(tmp_path / "a")], {"V": "2"}, X86_64), ([str(tmp_path / "a")], {"V": "1"}, I386)]
    texts = []
    for dirs, defines, p in runs:
        cfront.clear_caches()
        texts.append(cfront.preprocess_for([h], p, dirs, defines, builtin=True)[0])
    assert len(_entries(private_cache)) == 4
    assert "from_a" in texts[0] and "from_b" in texts[1] and "v = 2" in texts[2]


# -- the compiler's include search list ---------------------------------------------------------------------

STDERR = """ignoring nonexistent directory "/nope"
#include "..." search starts here:
#include <...> search starts here:
 /usr/lib/gcc/x86_64-linux-gnu/12/include
 /usr/include
End of search list.
"""


def test_search_list_is_read_from_cc_E_v():
    assert sysinclude.parse_search_list(STDERR) == ("/usr/lib/gcc/x86_64-linux-gnu/12/include", "/usr/include")


def test_search_list_is_measured_once_per_compiler_and_kept_on_disk(tmp_path, private_cache):
    script = tmp_path / "fakecc"
    log = tmp_path / "calls"
    script.write_text(f"#!/bin/sh\necho run >> {log}\ncat >&2 <<'EOF'\n#include <...> search starts here:\n"
                      f" {tmp_path}\nEnd of search list.\nEOF\n")
    script.chmod(0o755)
    fake = toolchains.Compiler("gcc", (str(script),), "fakecc 1.0", "fake", ())
    assert sysinclude.system_include_dirs(fake) == (str(tmp_path),)
    sysinclude.clear_caches()
    assert sysinclude.system_include_dirs(fake) == (str(tmp_path),)
    assert log.read_text().count("run") == 1  # the second answer came from disk
    (entry,) = (private_cache / "cpp").glob("sysdirs-*.json")
    entry.write_text(entry.read_text().replace(str(tmp_path), "/vanished/dir"))
    sysinclude.clear_caches()
    assert sysinclude.system_include_dirs(fake) == (str(tmp_path),)
    assert log.read_text().count("run") == 2


def test_altivec_context_sensitive_vector_is_left_to_the_compiler(tmp_path):
    """GCC's PowerPC `vector` expands before a type keyword only (rs6000 conditional macro):
    as a plain name it stays built-in, as a type it goes to the compiler, identical either way."""
    from cpp_support import compiler_E, token_stream

    ppc = profiles.profile_by_name("ppc64le")
    compiler = require(ppc)
    h = _header(tmp_path, "int vector; struct s { int vector; } x = { .vector = 1 }; _Bool b; int pixel;\n")
    text, how, _ = cfront.preprocess_for([h], ppc)
    assert how == "builtin" and token_stream(text) == token_stream(compiler_E(compiler, [h])[0])
    h.write_text("vector unsigned int v;\n")
    text, how, _ = cfront.preprocess_for([h], ppc)
    assert "AltiVec" in how and token_stream(text) == token_stream(compiler_E(compiler, [h])[0])
