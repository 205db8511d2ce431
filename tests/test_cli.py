"""The command line's start-up: a verb imports only what it needs (benchmarks/bench_startup.py
measures the time; these tests pin which modules stay out)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import REPO

HEAVY = ("cffi", "rich", "bitlayout.cfront.parser", "bitlayout.matrix", "bitlayout.backends.host")


def modules_after(*argv: str) -> set[str]:
    """The modules ``bitlayout ARGV`` imported, run in a fresh interpreter."""
    code = ("import contextlib, io, json, sys\n"
            "from bitlayout.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n"
            f"        main({list(argv)!r})\n"
            "    except SystemExit:\n"
            "        pass\n"
            "print(json.dumps(sorted(sys.modules)))\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


@pytest.mark.parametrize("argv", [["--help"], ["profiles", "--no-probe"], ["profiles", "--help"],
                                  ["layout", "--help"]])
def test_light_commands_import_no_parser_cffi_or_rich(argv):
    loaded = modules_after(*argv)
    assert sorted(m for m in loaded if m.startswith(HEAVY)) == []


def test_top_level_help_lists_every_verb(capsys):
    from bitlayout.cli import VERBS, main

    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert all(verb in out for verb in VERBS)


def test_a_verb_after_the_global_option_gets_its_own_options(capsys):
    from bitlayout.cli import main

    assert main(["--traceback", "profiles", "--no-probe", "--arch", "m68k", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["profiles"][0]["name"] == "m68k"
