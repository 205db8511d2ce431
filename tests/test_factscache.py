"""bitlayout.backends.factscache: a compile's layout facts are reused only while nothing they
depend on changed (host gcc; skipped without it)."""

from __future__ import annotations

import os

import pytest

from bitlayout import toolchains
from bitlayout.backends import compiled, factscache
from bitlayout.profiles import profile_by_name
from conftest import recorded_calls


@pytest.fixture
def x86_64(private_cache):
    profile = profile_by_name("x86_64")
    if toolchains.find_compiler(profile, "gcc") is None:
        pytest.skip("no gcc for x86_64: apt-get install -y gcc")
    return profile


@pytest.fixture
def compiles(monkeypatch):
    """The compiler commands run from here on (their source file names)."""
    return recorded_calls(monkeypatch, toolchains)


def facts(profile, headers, names, **kw):
    return compiled.compiled_facts(headers, profile, names, kind="gcc", **kw)


def layout_compiles(runs) -> int:
    return sum(1 for argv in runs if any(a.endswith(".c") for a in argv))


def test_the_same_compile_is_answered_from_the_cache_with_its_date(x86_64, tmp_path, compiles):
    h = tmp_path / "s.h"
    h.write_text("struct s { char c; long l; };\n")
    first, how = facts(x86_64, [h], ["struct s"])
    assert how["hit"] is False and layout_compiles(compiles) == 1
    again, how2 = facts(x86_64, [h], ["struct s"])
    assert again == first and how2 == {"hit": True, "compiled_at": how["compiled_at"]}
    assert layout_compiles(compiles) == 1
    assert first["struct s"]["size"] == 16


def test_a_changed_header_is_compiled_again(x86_64, tmp_path, compiles):
    h = tmp_path / "s.h"
    inner = tmp_path / "inner.h"
    inner.write_text("typedef long word_t;\n")
    h.write_text('#include "inner.h"\nstruct s { char c; word_t w; };\n')
    assert facts(x86_64, [h], ["struct s"])[0]["struct s"]["size"] == 16
    inner.write_text("typedef int  word_t;\n")  # same size on disk: the content decides
    got, how = facts(x86_64, [h], ["struct s"])
    assert how["hit"] is False and got["struct s"]["size"] == 8


def test_a_header_that_would_now_be_found_first_is_compiled_again(x86_64, tmp_path, compiles):
    first, second = tmp_path / "first", tmp_path / "second"
    (second / "sub").mkdir(parents=True)
    first.mkdir()
    (second / "sub" / "w.h").write_text("typedef long word_t;\n")
    h = tmp_path / "s.h"
    h.write_text("#include <sub/w.h>\nstruct s { char c; word_t w; };\n")
    kw = {"include_dirs": [first, second]}
    assert facts(x86_64, [h], ["struct s"], **kw)[0]["struct s"]["size"] == 16
    assert facts(x86_64, [h], ["struct s"], **kw)[1]["hit"] is True
    # -I first/ is searched before -I second/: a new first/sub/w.h shadows the one read before.
    (first / "sub").mkdir()
    (first / "sub" / "w.h").write_text("typedef short word_t;\n")
    got, how = facts(x86_64, [h], ["struct s"], **kw)
    assert how["hit"] is False and got["struct s"]["size"] == 4


def test_a_replaced_compiler_executable_is_compiled_again(x86_64, tmp_path, compiles, monkeypatch):
    h = tmp_path / "s.h"
    h.write_text("struct s { int i; };\n")
    cc1 = tmp_path / "cc1"
    cc1.write_text("stand-in for cc1\n")
    monkeypatch.setattr(toolchains, "compiler_executables", lambda comp: (str(cc1),))
    facts(x86_64, [h], ["struct s"])
    assert facts(x86_64, [h], ["struct s"])[1]["hit"] is True
    os.utime(cc1, ns=(1, 1))  # a distribution update: same version number, another cc1
    assert facts(x86_64, [h], ["struct s"])[1]["hit"] is False


def test_other_type_names_flags_or_macros_are_other_entries(x86_64, tmp_path, compiles):
    h = tmp_path / "s.h"
    h.write_text("struct s { WORD w; };\nstruct t { char c; };\n")
    assert facts(x86_64, [h], ["struct s"], defines={"WORD": "long"})[0]["struct s"]["size"] == 8
    assert facts(x86_64, [h], ["struct s"], defines={"WORD": "char"})[0]["struct s"]["size"] == 1
    assert facts(x86_64, [h], ["struct s", "struct t"], defines={"WORD": "char"})[1]["hit"] is False
    assert facts(x86_64, [h], ["struct s"], defines={"WORD": "long"})[1]["hit"] is True


def test_a_damaged_entry_is_compiled_again(x86_64, tmp_path, compiles, private_cache):
    h = tmp_path / "s.h"
    h.write_text("struct s { int i; };\n")
    facts(x86_64, [h], ["struct s"])
    (entry,) = (private_cache / "facts").iterdir()
    entry.write_text(entry.read_text()[:-20])
    got, how = facts(x86_64, [h], ["struct s"])
    assert how["hit"] is False and got["struct s"]["size"] == 4


def test_cache_false_always_compiles(x86_64, tmp_path, compiles):
    h = tmp_path / "s.h"
    h.write_text("struct s { int i; };\n")
    facts(x86_64, [h], ["struct s"])
    facts(x86_64, [h], ["struct s"], cache=False)
    assert layout_compiles(compiles) == 2


def test_the_depfile_is_read_with_escaped_spaces(tmp_path):
    d = tmp_path / "x.d"
    d.write_text("x.o: /a/x.c /usr/include/stdio.h \\\n /tmp/with\\ space/h.h\n")
    assert factscache.read_depfile(d) == ["/a/x.c", "/usr/include/stdio.h", "/tmp/with space/h.h"]


def test_the_knob_turns_reuse_off(x86_64, tmp_path, compiles, monkeypatch):
    h = tmp_path / "s.h"
    h.write_text("struct s { int i; };\n")
    facts(x86_64, [h], ["struct s"])
    monkeypatch.setenv("BITLAYOUT_NO_FACTS_CACHE", "1")
    assert facts(x86_64, [h], ["struct s"])[1]["hit"] is False
    assert layout_compiles(compiles) == 2


def test_facts_whose_inputs_are_unknown_are_not_kept(x86_64, tmp_path, compiles, monkeypatch):
    h = tmp_path / "s.h"
    h.write_text("struct s { int i; };\n")
    monkeypatch.setattr(factscache, "read_depfile", lambda path: None)  # a compiler that wrote no -MD list
    facts(x86_64, [h], ["struct s"])
    assert facts(x86_64, [h], ["struct s"])[1]["hit"] is False
