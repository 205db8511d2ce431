"""The measured compiler facts (``arch_profiles/predefined/*.json``, ``bitlayout.cfront.predefined``)
equal what each installed compiler says today: its ``-dM -E`` macro set, its operators, its
answers; broken files are one-line errors naming the file and the key."""

from __future__ import annotations

import json

import pytest

from bitlayout import profiles, toolchains
from bitlayout.cfront import measure_predefined as measure
from bitlayout.cfront import predefined
from bitlayout.errors import ProfileError
from cpp_support import LONG

ALL = profiles.load_profiles()
PAIRS = [(p.name, c) for p in ALL for c in p.compilers()]
# answers are checked for these by default (every pair with BITLAYOUT_LONG_TESTS=1)
ANSWER_SAMPLE = {("x86_64", "gcc"), ("x86_64", "clang"), ("armeb", "clang"), ("mips", "gcc"), ("hexagon", "clang"),
                 ("sparc", "clang"), ("m68k", "gcc")}


def _compiler(name: str, compiler: str):
    p = profiles.profile_by_name(name)
    found = toolchains.find_compiler(p, "zig" if compiler == "clang" else "gcc")
    if found is None:
        pytest.skip(f"{compiler} for {name} not installed: {toolchains.missing_reason(p)}")
    return p, found


def test_every_profile_has_facts_for_each_of_its_compilers():
    missing = [f"{n}.{c}" for n, c in PAIRS if predefined.load_facts(profiles.profile_by_name(n), c) is None]
    assert missing == []


@pytest.mark.parametrize("name,compiler", PAIRS, ids=[f"{n}-{c}" for n, c in PAIRS])
def test_stored_macros_and_operators_equal_the_compiler(name, compiler):
    p, found = _compiler(name, compiler)
    facts = predefined.load_facts(p, compiler)
    assert facts.identity == found.identity
    data = json.loads(predefined.facts_path(p, compiler).read_text())
    assert data["macros"] == measure.predefined_macros(found)
    assert data["builtin_macros"] == measure.builtin_macros(found, data["macros"])
    assert list(facts.operators) == measure.defined_operators(found)
    assert list(facts.implicit_includes) == measure.implicit_includes(found)
    names = [op for op in facts.operators if op in measure.NAME_OPERATORS]
    assert facts.expands_operand == measure.operand_expansion(found, names)


@pytest.mark.parametrize("name,compiler", PAIRS, ids=[f"{n}-{c}" for n, c in PAIRS])
def test_stored_answers_equal_the_compiler(name, compiler):
    if not LONG and (name, compiler) not in ANSWER_SAMPLE:
        pytest.skip("answers of this pair are checked with BITLAYOUT_LONG_TESTS=1")
    p, found = _compiler(name, compiler)
    facts = predefined.load_facts(p, compiler)
    skip = set(facts.macros)
    for op, table in facts.answers.items():
        assert measure.answers_for(found, op, table, skip) == table, op


def test_scan_finds_the_operands_headers_use_also_through_wrapper_macros(tmp_path):
    (tmp_path / "a.h").write_text("#if __has_attribute(__packed__) || __has_builtin ( __builtin_foo )\n#endif\n"
                                  "#define my_has_ext(x) __has_extension (x)\n#if my_has_ext(c_thing)\n#endif\n")
    found = measure.scan_operands([tmp_path])
    assert "__packed__" in found["__has_attribute"] and "__builtin_foo" in found["__has_builtin"]
    assert "c_thing" in found["__has_extension"]


def test_predefined_macros_of_a_profile_come_from_its_compiler():
    from bitlayout.cfront import predefined_macros

    for p in ALL:
        m = predefined_macros(p)
        assert m["__SIZEOF_LONG__"] == str(p.scalars["long"].size_bytes), p.name
        assert m["__SIZEOF_POINTER__"] == str(p.scalars["pointer"].size_bytes), p.name
        assert ("__CHAR_UNSIGNED__" in m) == (not p.char_signed), p.name
        assert m["__BYTE_ORDER__"] == ("__ORDER_LITTLE_ENDIAN__" if p.little_endian else "__ORDER_BIG_ENDIAN__")
        for name, value in p.predefined_macros.items():  # the profile's own [macros] agree
            assert m.get(name) == value, (p.name, name)


@pytest.mark.parametrize("edit,key", [
    (lambda d: d.update(schema="other/1"), "schema"),
    (lambda d: d.update(profile="mips64"), "profile"),
    (lambda d: d["macros"].update({"1bad": "x"}), "macros.1bad"),
    (lambda d: d["macros"].update({"__X__": "a\nb"}), "macros.__X__"),
    (lambda d: d["operators"].append("__has_nonsense"), "operators"),
    (lambda d: d["answers"]["__has_attribute"].update({"packed": "yes"}), "answers.__has_attribute.packed"),
    (lambda d: d.update(implicit_includes="stdc-predef.h"), "implicit_includes"),
    (lambda d: d.update(builtin_macros=[]), "builtin_macros"),
])
def test_a_broken_facts_file_is_one_line_naming_file_and_key(profile_dir_copy, edit, key):
    path = profile_dir_copy / "predefined" / "mips.gcc.json"
    data = json.loads(path.read_text())
    edit(data)
    path.write_text(json.dumps(data))
    p = profiles.load_profile(profile_dir_copy / "mips.toml")
    with pytest.raises(ProfileError) as info:
        predefined.load_facts(p)
    msg = str(info.value)
    assert str(path) in msg and f"[{key}]" in msg and "\n" not in msg, msg


def test_unparsable_facts_file_is_one_line(profile_dir_copy):
    path = profile_dir_copy / "predefined" / "mips.gcc.json"
    path.write_text("{not json")
    with pytest.raises(ProfileError, match="mips.gcc.json: cannot read"):
        predefined.load_facts(profiles.load_profile(profile_dir_copy / "mips.toml"))
