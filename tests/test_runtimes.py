"""bitlayout.backends.runtimes: the exec driver built with libc or without (csrc/freestanding).

The freestanding driver must answer exactly like the libc driver (same compiler, same
request stream, raw lines compared) except the alloc probe (no libc malloc to observe)
and timings; it must run on every arch whose profile builds it (sh4 and sparc, whose libc
cannot run here; aarch64_be, armeb, riscv32, loongarch64, hexagon, whose musl would cost a
first build); and its printf subset must follow the C rules (checked against Python's
%-formatting, the same rules).
"""

from __future__ import annotations

import json
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from bitlayout.errors import ToolchainError
from bitlayout import bitmap, probes, toolchains
from bitlayout.backends import runtimes
from bitlayout.backends.exec import ExecBackend, csrc_dir
from bitlayout.profiles import load_profiles, profile_by_name

STRESS = ("tear", "lost_update", "lost_tag")
LIBC_ALLOCATORS = ("malloc", "aligned_alloc")
STRESS_MS = 150
# Arches whose libc build also runs here: the freestanding build is compared with it.  The
# arches built freestanding by default are compared with their musl build, which costs zig's
# first musl build for the target (20-80 s each on a fresh machine): slow.
COMPARED = ("x86_64", "i386", "arm", "mips", "aarch64", "riscv64")
FREESTANDING_BY_DEFAULT = tuple(sorted(p.name for p in load_profiles() if p.toolchain.runtime == runtimes.FREESTANDING))
MUSL_COMPARED = tuple(a for a in FREESTANDING_BY_DEFAULT if profile_by_name(a).toolchain.zig_target.endswith(
    ("-musl", "-musleabi")))


def _backend() -> ExecBackend:
    return ExecBackend(jobs=2, timeout=120)


def _runnable(profile) -> None:
    ok, why = _backend().available(profile)
    if not ok:
        pytest.skip(f"exec cannot run {profile.name} here: {why}")


# ---------------------------------------------------------------------------
# Requests: every deterministic probe at every width, bad requests, stress, alloc


def _valid_requests(seed: int = 14) -> list[str]:
    rnd = random.Random(seed)
    reqs = [probes.make_request("info")]
    for w in (0, 8, 16, 32, 64):
        wb = w or 32
        for _ in range(6):
            n = rnd.randint(1, 4)
            nbits = n * wb
            bits = sorted(rnd.sample(range(nbits), min(6, nbits)))
            ops = [[rnd.choice(probes.BIT_OPS), rnd.randrange((n + probes.GUARD_WORDS) * wb)] for _ in range(12)]
            ops += [[rnd.choice(probes.BULK_OPS), rnd.randint(0, nbits)],
                    [rnd.choice(probes.B_OPS), rnd.randrange(nbits)]]
            args = {"w": w} if w else {}
            reqs += [
                probes.make_request("image", **args, n=n, bits=bits + [nbits + 3]),
                probes.make_request("ops", **args, n=n, ops=ops),
                probes.make_request("oob_read", **args, n=n, bits=bits, reads=[0, nbits - 1, nbits, nbits + 9]),
                probes.make_request("arr64", **args, n=n, nbits=rnd.randint(0, nbits), bits=bits),
                probes.make_request("find", **args, n=n, nbits=nbits, bits=bits, starts=[0, 1, nbits // 2, nbits]),
            ]
    reqs += [
        probes.make_request("tear", w=32, n=2, mode="words", readers=1, ms=STRESS_MS, max=probes.MAX_U32),
        probes.make_request("tear", w=64, mode="whole", readers=1, ms=STRESS_MS, max=probes.MAX_U32),
        probes.make_request("lost_update", w=32, threads=2, mode="atomic", ms=STRESS_MS, max=probes.MAX_U32),
        probes.make_request("lost_update", w=64, threads=2, mode="atomic", ms=STRESS_MS, max=probes.MAX_U32),
        probes.make_request("lost_update", w=32, threads=2, mode="nonatomic", ms=STRESS_MS, max=probes.MAX_U32),
        probes.make_request("lost_tag", threads=2, align=8, mode="atomic", ms=STRESS_MS, max=probes.MAX_U32),
        probes.make_request("alloc", size=24, align=8, slab_minalign=8, kmalloc_minalign=32, count=64),
    ]
    return [r.to_line() for r in reqs]


# Bad input the driver must refuse the same way (and skip the same blank/comment lines).
BAD_LINES = ["bogus", "image w=7 n=1", "ops w=32 n=1 ops=set", "image w=32 n=1 bits=99999", "IMAGE n=1",
             "tear w=32 n=2 ms=0 max=1", "alloc size=1", "", "# a comment", "lost_tag threads=3 align=4 ms=1 max=1",
             "x" * (probes.MAX_LINE + 100)]


def _normalise(line: str) -> dict:
    """A response with what may differ between runtimes taken out: timings and stress
    counts (kept as their keys), the runtime's name, the libc allocators."""
    data = json.loads(line)
    ev = data.get("evidence", {})
    ev.pop("runtime", None)
    ev.pop("elapsed_us", None)
    if data.get("probe") in STRESS and data.get("ok"):
        data["values"] = sorted(data["values"])
    if data.get("probe") == "alloc" and data.get("ok"):
        for key in LIBC_ALLOCATORS:
            data["values"].pop(key)
        ev.pop("malloc", None)
    return data


def _run_raw(profile, stdin: str) -> list[str]:
    binary, evidence, failure = _backend().build(profile)
    assert binary is not None, failure or evidence
    result = toolchains.run_binary(profile, binary, stdin=stdin, timeout=120)
    assert result.ok, result.failure(120, "driver")
    return result.stdout.splitlines()


@pytest.mark.parametrize("arch", [*COMPARED, *(pytest.param(a, marks=pytest.mark.slow) for a in MUSL_COMPARED)])
def test_freestanding_driver_answers_exactly_like_the_libc_driver(arch):
    libc = runtimes.with_runtime(profile_by_name(arch), runtimes.LIBC)
    bare = runtimes.with_runtime(libc, runtimes.FREESTANDING)
    _runnable(libc)
    lines = _valid_requests() + BAD_LINES
    stdin = "".join(ln + "\n" for ln in lines)
    got_libc, got_bare = _run_raw(libc, stdin), _run_raw(bare, stdin)
    answered = len(lines) - 2  # the blank and the comment line get no answer
    assert len(got_libc) == len(got_bare) == answered
    for a, b in zip(got_libc, got_bare):
        assert _normalise(a) == _normalise(b)
    by_probe = [json.loads(b) for b in got_bare]
    assert sum(1 for d in by_probe if not d["ok"]) == len(BAD_LINES) - 2  # every bad line refused
    allocs = [(json.loads(a), d) for a, d in zip(got_libc, by_probe) if d["probe"] == "alloc" and d["ok"]]
    assert allocs
    for from_libc, from_bare in allocs:
        assert isinstance(from_libc["values"]["malloc"], int)  # libc: observed
        assert from_bare["values"]["malloc"] is None and from_bare["values"]["aligned_alloc"] is None
        assert "not observable" in from_bare["evidence"]["malloc"]
    assert {d["evidence"].get("runtime") for d in by_probe if d["ok"]} == {"freestanding"}


def test_the_freestanding_build_is_warning_free_c11(tmp_path):
    if shutil.which("cc") is None:
        pytest.skip("no host C compiler: apt-get install -y gcc")
    host = runtimes.with_runtime(profile_by_name("x86_64"), runtimes.FREESTANDING)
    compiler = toolchains.Compiler("gcc", ("cc",), "cc", "host", ())
    plan = runtimes.plan_build(host, compiler, sorted(csrc_dir().glob("*.[ch]")),
                               ("-O2", "-std=c11", "-Wall", "-Wextra", "-Werror"))
    assert runtimes.PTHREAD_WORKERS not in {c.name for c in plan.c_files}
    assert {"libc.c", "workers_fork.c", "start.c"} <= {c.name for c in plan.c_files}
    flags = [f for f in plan.flags if f != "-std=gnu11"]
    built = subprocess.run(["cc", "-static", *flags, *map(str, plan.c_files), "-o", str(tmp_path / "d"), *plan.libs],
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stderr[-2000:]


def test_zig_links_compiler_rt_only_where_the_abi_names_its_own_division_helpers():
    # Building compiler-rt is most of a first freestanding build; helpers.c has the division
    # routines the driver calls except 32-bit Arm EABI's (runtimes.py).
    linked = {}
    for arch in ("aarch64_be", "armeb", "riscv32", "loongarch64", "hexagon"):
        profile = profile_by_name(arch)
        zig = toolchains.Compiler("zig", ("zig", "cc"), "zig", profile.toolchain.zig_target, ())
        plan = runtimes.plan_build(profile, zig, sorted(csrc_dir().glob("*.[ch]")), ("-O2",))
        linked[arch] = "-rtlib=compiler-rt" in plan.flags
    assert linked == {"aarch64_be": False, "armeb": True, "riscv32": False, "loongarch64": False, "hexagon": False}


# ---------------------------------------------------------------------------
# The arches whose profile builds the driver without libc


def _check_against_model(profile, observations) -> None:
    for obs in observations:
        if obs.probe not in ("image", "ops", "oob_read", "arr64", "find"):
            continue
        w = obs.params.get("w") or profile.bits_per_long
        geom = bitmap.BitmapGeometry.from_profile(profile, word_bytes=w // 8, nwords=obs.params["n"])
        assert obs.values == bitmap.predict_values(geom, obs.probe, obs.params, probes.GUARD_WORDS), obs.params


def test_the_freestanding_arches_are_the_ones_this_file_runs():
    assert {"sh4", "sparc", "aarch64_be", "armeb", "riscv32", "loongarch64", "hexagon"} <= \
        set(FREESTANDING_BY_DEFAULT)


@pytest.mark.parametrize("arch", FREESTANDING_BY_DEFAULT)
def test_the_freestanding_driver_runs_every_probe_where_it_is_the_default(arch):
    profile = profile_by_name(arch)
    assert profile.toolchain.runtime == runtimes.FREESTANDING
    if profile.toolchain.workaround is not None:
        # hexagon: the default build has a known compiler defect in the bitops the model check
        # below would meet (tests/test_workaround.py); its workaround build is freestanding too.
        profile = runtimes.workaround_profile(profile)
        assert profile.toolchain.runtime == runtimes.FREESTANDING
    _runnable(profile)
    requests = _valid_requests()
    out = _backend().run_one(profile, requests)
    assert out.status == "ok", out.reason
    assert out.evidence["runtime"] == "freestanding" and "qemu-" in out.evidence["emulator"]
    assert len(out.observations) == len(requests)
    info = out.by_probe("info")[0].values
    assert (info["sizeof_long"], info["little_endian"]) == (profile.bits_per_long // 8, profile.little_endian)
    _check_against_model(profile, out.observations)

    tear_words, tear_whole = out.by_probe("tear")
    # The workers really ran (processes sharing memory), and a 2-word bitmap of 32-bit words
    # read word by word tears (two loads on any CPU).
    assert tear_words.evidence["threads"] == 2 and tear_words.values["writes"] > 0
    assert tear_words.values["reads"] > 1000
    if tear_words.values["torn"] == 0:
        # the two processes never overlapped in 150 ms (a loaded machine runs them in turn): once
        # more with ten times the budget before calling it a failure
        longer = probes.make_request("tear", w=32, n=2, mode="words", readers=1, ms=10 * STRESS_MS,
                                     max=probes.MAX_U32).to_line()
        (again,) = _backend().run_one(profile, [longer]).observations
        assert again.values["torn"] > 0, again.values
    assert bitmap.predict_tear(bitmap.BitmapGeometry.from_profile(profile, word_bytes=4, nwords=2), "words").possible
    assert tear_whole.values["reads"] > 1000  # a u64 may or may not tear (sparc: ldd is one access)
    for obs in out.by_probe("lost_update") + out.by_probe("lost_tag"):
        assert obs.values["ops"] > 1000
        if obs.params["mode"] == "atomic":
            assert obs.values["lost"] == 0, obs.params
    (alloc,) = out.by_probe("alloc")
    assert alloc.values["malloc"] is None and alloc.values["aligned_alloc"] is None
    assert "not observable" in alloc.evidence["malloc"]
    assert alloc.values["slab"] >= 3 and alloc.values["kmalloc"] >= 5  # the emulations still run


def test_sparc_driver_is_32_bit_sparc_v8_code():
    profile = profile_by_name("sparc")
    _runnable(profile)
    binary, _, failure = _backend().build(profile)
    assert binary is not None, failure
    header = binary.read_bytes()[:20]
    assert header[4] == 1 and header[5] == 2  # ELFCLASS32, big-endian
    assert int.from_bytes(header[18:20], "big") == 2  # EM_SPARC (V8), not EM_SPARC32PLUS (18)


# ---------------------------------------------------------------------------
# The system call numbers of csrc/freestanding/arch/*.h against the kernel's UAPI headers

# arch header -> a compiler whose headers have that arch's <asm/unistd.h>: a Debian cross gcc
# (its sysroot's linux-libc-dev), or zig (the kernel headers it ships) where Debian has none.
# Compile-only (-c): zig would build the target's libc for -fsyntax-only.
SYSCALL_HEADERS = [("sh", "sh4-linux-gnu-gcc", ()), ("sparc", "sparc64-linux-gnu-gcc", ("-m32",)),
                   ("arm", "arm-linux-gnueabihf-gcc", ()), ("mips", "mips-linux-gnu-gcc", ()),
                   ("x86", "i686-linux-gnu-gcc", ()), ("x86", "x86_64-linux-gnu-gcc", ()),
                   ("aarch64", "aarch64-linux-gnu-gcc", ()), ("riscv", "riscv64-linux-gnu-gcc", ()),
                   ("riscv", "riscv64-linux-gnu-gcc", ("-march=rv32imac", "-mabi=ilp32")),
                   ("loongarch", "zig", ("-target", "loongarch64-linux-musl")),
                   ("hexagon", "zig", ("-target", "hexagon-linux-musl"))]
# Every family has these; the generic table (arch/generic.h) has clone instead of fork, and
# riscv32 waitid and clock_gettime64 instead of wait4 and clock_gettime (sys.h uses either).
SYSCALLS = ("read", "write", "exit_group", "munmap", "sched_yield")
EITHER = (("fork", "clone"), ("wait4", "waitid"), ("clock_gettime", "clock_gettime64"))


def _syscall_compiler(gcc: str, flags) -> list[str]:
    if gcc == "zig":
        compiler = toolchains.find_compiler(profile_by_name("hexagon"), "zig")
        if compiler is None:
            pytest.skip("needs zig: pip install ziglang")
        return [*compiler.argv[:3], "cc", *flags]
    if shutil.which(gcc) is None:
        pytest.skip(f"needs {gcc}: apt-get install -y gcc-{gcc[:-4]}")
    return [gcc, *flags]


@pytest.mark.parametrize("family, gcc, flags", SYSCALL_HEADERS,
                         ids=[f"{f}-{g.split('-')[0]}{'-rv32' if '-mabi=ilp32' in fl else ''}"
                              for f, g, fl in SYSCALL_HEADERS])
def test_system_call_numbers_match_the_kernel_headers(family, gcc, flags, tmp_path):
    argv = _syscall_compiler(gcc, flags)
    checks = [f'_Static_assert(BL_NR_{n} == __NR_{n}, "{n}");' for n in SYSCALLS]
    for pair in EITHER:  # exactly one of the two is used, and it exists on the arch
        checks.append(f'#if defined(BL_NR_{pair[0]}) == defined(BL_NR_{pair[1]})\n#error "{pair}"\n#endif')
        checks += [f'#ifdef BL_NR_{n}\n_Static_assert(BL_NR_{n} == __NR_{n}, "{n}");\n#endif' for n in pair]
    # 32-bit arches map with mmap2 (page offset: always 0 here), 64-bit ones with mmap
    checks.append('#ifdef __NR_mmap2\n_Static_assert(BL_NR_mmap == __NR_mmap2, "mmap2");\n'
                  '#else\n_Static_assert(BL_NR_mmap == __NR_mmap, "mmap");\n#endif')
    checks.append('_Static_assert(BL_MAP_ANONYMOUS == MAP_ANONYMOUS, "MAP_ANONYMOUS");')
    checks.append('#ifdef BL_SIGCHLD\n#include <asm/signal.h>\n_Static_assert(BL_SIGCHLD == SIGCHLD, "SIGCHLD");\n#endif')
    src = tmp_path / "nr.c"
    src.write_text(f'#include <asm/unistd.h>\n#include <asm/mman.h>\n#include "arch/{family}.h"\n' + "\n".join(checks))
    built = subprocess.run([*argv, "-ffreestanding", "-c", f"-I{csrc_dir() / 'freestanding'}", str(src),
                            "-o", str(tmp_path / "nr.o")], capture_output=True, text=True)
    assert built.returncode == 0, toolchains.first_error(built.stderr)


# ---------------------------------------------------------------------------
# The printf subset of csrc/freestanding/libc.c


# (format, [(C type, value), ...]): every conversion csrc/ uses, and the edges of each.
FORMAT_CASES = [
    ("%d|%d|%d", [("int", 0), ("int", -1), ("int", 2147483647)]),
    ("%d", [("int", -2147483647 - 1)]),
    ("%u|%u", [("unsigned", 0), ("unsigned", 4294967295)]),
    ("%lu|%ld", [("unsigned long", 4294967295), ("long", -5)]),
    ("%llu|%lld", [("unsigned long long", 18446744073709551615), ("long long", -9223372036854775807 - 1)]),
    ("%lld", [("long long", 1234567890123)]),
    ("%x|%X|%02x|%02x", [("unsigned", 3054), ("unsigned", 3054), ("unsigned", 5), ("unsigned", 255)]),
    ("%08lx|%016llx", [("unsigned long", 0xdeadbeef), ("unsigned long long", 0x0123456789abcdef)]),
    ("%016llx", [("unsigned long long", 0)]),
    ("%5d|%-5d|%05d|%-05d", [("int", 42), ("int", 42), ("int", -42), ("int", 7)]),
    ("%s|%10s|%-10s|", [("const char *", "abc"), ("const char *", "abc"), ("const char *", "abc")]),
    ("%.*s|%.*s", [("int", 2), ("const char *", "abcdef"), ("int", 0), ("const char *", "xyz")]),
    ("%.3s|%c%c", [("const char *", "abcdef"), ("int", 65), ("int", 122)]),
    ("%.3d|%5.2d", [("int", 7), ("int", -3)]),
    ("100%%|%%d", []),
    ("{\"probe\":\"%s\",\"ok\":%s}", [("const char *", "image"), ("const char *", "true")]),
]
# (buffer size, format, args): snprintf returns the full length and truncates with a NUL.
TRUNCATION_CASES = [(5, "%d", [("int", 123456)]), (1, "%s", [("const char *", "abc")]),
                    (8, "%s-%s", [("const char *", "abcd"), ("const char *", "efgh")])]


def _c_arg(ctype: str, value) -> str:
    if ctype == "const char *":
        return json.dumps(value)
    suffix = {"unsigned long long": "ull", "long long": "ll", "unsigned long": "ul", "long": "l",
              "unsigned": "u"}.get(ctype, "")
    if value == -2147483647 - 1 and ctype == "int":
        return "(-2147483647 - 1)"
    if value == -9223372036854775807 - 1:
        return "(-9223372036854775807ll - 1)"
    return f"({ctype}){value}{suffix}"


def _python_format(fmt: str, args) -> str:
    return re.sub(r"(%[-0-9.*]*)(hh|h|ll|l|z)?([diuxXcs%])", r"\1\3", fmt) % tuple(v for _, v in args)


FORMAT_PROGRAM = """\
#include <stdio.h>
int main(void)
{
    char buf[256];
    int n;
%s
    fflush(stdout);
    return 0;
}
"""


def _format_program() -> str:
    body = []
    for fmt, args in FORMAT_CASES:
        call = ", ".join([json.dumps(fmt)] + [_c_arg(t, v) for t, v in args])
        body.append(f"    n = snprintf(buf, sizeof buf, {call});\n    printf(\"%d|\", n);\n"
                    "    fputs(buf, stdout);\n    fputc('\\n', stdout);")
    for size, fmt, args in TRUNCATION_CASES:
        call = ", ".join([json.dumps(fmt)] + [_c_arg(t, v) for t, v in args])
        body.append(f"    n = snprintf(buf, {size}, {call});\n    printf(\"%d|%s\\n\", n, buf);")
    return FORMAT_PROGRAM % "\n".join(body)


def _format_expected() -> list[str]:
    out = [f"{len(s)}|{s}" for s in (_python_format(f, a) for f, a in FORMAT_CASES)]
    for size, fmt, args in TRUNCATION_CASES:
        full = _python_format(fmt, args)
        out.append(f"{len(full)}|{full[:size - 1]}")
    return out


@pytest.mark.parametrize("arch", ("x86_64", "i386", "sh4", "sparc"))
def test_freestanding_printf_follows_the_c_rules(arch, tmp_path):
    profile = runtimes.with_runtime(profile_by_name(arch), runtimes.FREESTANDING)
    _runnable(profile)
    src = tmp_path / "format_cases.c"
    src.write_text(_format_program())
    compiler = runtimes.driver_compiler(profile)
    plan = runtimes.plan_build(profile, compiler, [src, csrc_dir() / "workers.h"], ("-O2",),
                               freestanding_dir=csrc_dir() / "freestanding")
    argv = [*toolchains.compile_argv(profile, compiler, plan.c_files, tmp_path / "fmt", extra_flags=plan.flags),
            *plan.libs]
    built = subprocess.run(argv, capture_output=True, text=True)
    assert built.returncode == 0, toolchains.first_error(built.stderr)
    result = toolchains.run_binary(profile, tmp_path / "fmt", timeout=60)
    assert result.ok, result.failure(60, "format cases")
    assert result.stdout.splitlines() == _format_expected()


# ---------------------------------------------------------------------------
# sh4: why the freestanding driver is built at -O0 (docs/known-issues.md)


def _sh4_reproducer() -> str:
    text = (Path(__file__).resolve().parent.parent / "docs" / "known-issues.md").read_text()
    section = text[text.index("## sh4:"):]
    return re.search(r"```c\n(.*?)```", section, re.S).group(1)


@pytest.mark.parametrize("opt, miscompiled", [("-O0", False), ("-O2", True)])
def test_sh4_gcc_drops_a_t_bit_test_above_O0(opt, miscompiled, tmp_path):
    """When Debian's sh4 gcc is fixed, the -O2 case fails: drop freestanding_cflags = ["-O0"]."""
    profile = profile_by_name("sh4")
    _runnable(profile)
    src = tmp_path / "treg.c"
    src.write_text(_sh4_reproducer())
    compiler = runtimes.driver_compiler(profile)
    built = subprocess.run([*compiler.argv, opt, "-nostdlib", "-static", str(src), "-o", str(tmp_path / "treg")],
                           capture_output=True, text=True)
    assert built.returncode == 0, toolchains.first_error(built.stderr)
    result = toolchains.run_binary(profile, tmp_path / "treg", timeout=30)
    assert (result.returncode == 1) == miscompiled and result.returncode in (0, 1), result


# ---------------------------------------------------------------------------
# exec-alternate's split route: zig's clang compiles the objects against the glibc headers of
# the arch's Debian gcc, which links them (no musl build)

SPLIT = [p.name for p in load_profiles() if p.toolchain.zig_glibc_target]

# Types whose layout comes from the C library's headers, not from the compiler: the clang
# objects must see the very glibc the gcc link puts under them.
_LIBC_TYPES = ("pthread_mutex_t", "pthread_attr_t", "pthread_t", "pthread_cond_t", "struct timespec",
               "sigset_t", "FILE", "off_t", "time_t", "jmp_buf", "struct stat", "fd_set")
_LIBC_TYPES_C = """#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <time.h>
#define ENTRY(t) sizeof(t), _Alignof(t),
const unsigned long %(name)s[] = { %(entries)s __GLIBC__, __GLIBC_MINOR__ };
"""


def _split_compiler(name: str):
    profile = profile_by_name(name)
    compiler = runtimes.driver_compiler(profile, 1)
    if compiler is None or compiler.linker is None:
        pytest.skip(f"no split exec-alternate route for {name} here: {runtimes.other_compiler_missing(profile)}")
    return profile, compiler


def _run(argv, what):
    out = toolchains.run_compiler(argv, timeout=120, what=what)
    assert out.returncode == 0, f"{what}: {toolchains.first_error(out.stderr)}"


@pytest.mark.parametrize("arch", SPLIT)
def test_clang_objects_see_the_glibc_the_gcc_link_uses(arch, tmp_path):
    """A clang object's sizeof/_Alignof of libc types and its __GLIBC_MINOR__ equal a gcc
    object's, compared at run time by the driver's very link (gcc, -static, glibc)."""
    profile, compiler = _split_compiler(arch)
    entries = " ".join(f"ENTRY({t})" for t in _LIBC_TYPES)
    (tmp_path / "by_clang.c").write_text(_LIBC_TYPES_C % {"name": "by_clang", "entries": entries})
    (tmp_path / "by_gcc.c").write_text(_LIBC_TYPES_C % {"name": "by_gcc", "entries": entries})
    (tmp_path / "main.c").write_text(
        "#include <stdio.h>\nextern const unsigned long by_clang[], by_gcc[];\n"
        f"int main(void) {{ for (int i = 0; i < {2 * len(_LIBC_TYPES) + 2}; i++) "
        'printf("%lu %lu\\n", by_gcc[i], by_clang[i]); return 0; }\n')
    _run(toolchains.compile_argv(profile, compiler, [tmp_path / "by_clang.c"], tmp_path / "by_clang.o",
                                 compile_only=True), f"{compiler.identity} -c")
    toolchains.fix_objects(compiler, [tmp_path / "by_clang.o"])  # as the driver's build does (ppc64, sparc64)
    gcc = compiler.linker
    for name in ("by_gcc", "main"):
        _run(toolchains.compile_argv(profile, gcc, [tmp_path / f"{name}.c"], tmp_path / f"{name}.o",
                                     compile_only=True), f"{gcc.identity} -c")
    objects = [tmp_path / f"{n}.o" for n in ("main", "by_gcc", "by_clang")]
    _run(toolchains.compile_argv(profile, gcc, objects, tmp_path / "both"), f"{gcc.identity} link")
    if profile.toolchain.run_blocker or toolchains.find_runner(profile) is None:
        pytest.skip(f"linked, cannot run {arch} here: {profile.toolchain.run_blocker or toolchains.missing_reason(profile)}")
    run = toolchains.run_binary(profile, tmp_path / "both", timeout=60)
    assert run.ok, run.failure(60, "program")
    pairs = [tuple(map(int, line.split())) for line in run.stdout.splitlines()]
    names = [f"{k}({t})" for t in _LIBC_TYPES for k in ("sizeof", "_Alignof")] + ["__GLIBC__", "__GLIBC_MINOR__"]
    assert {n: g for n, (g, _) in zip(names, pairs)} == {n: c for n, (_, c) in zip(names, pairs)}
    assert compiler.libc == f"glibc {pairs[-2][0]}.{pairs[-1][0]}"


@pytest.mark.parametrize("arch", SPLIT)
def test_split_route_compiles_with_clang_and_links_with_the_arch_gcc(arch, tmp_path):
    profile, compiler = _split_compiler(arch)
    gcc = toolchains.find_compiler(profile, "gcc")
    assert (compiler.kind, compiler.abi, compiler.linker) == ("zig", "clang", gcc)
    assert compiler.target.startswith(profile.toolchain.zig_glibc_target + ".")
    assert gcc.identity in compiler.identity and compiler.libc in compiler.identity
    plan = runtimes.plan_build(profile, compiler, [*csrc_dir().glob("*.c"), *csrc_dir().glob("*.h")], ("-O2",))
    cmds = runtimes.driver_commands(profile, compiler, plan, tmp_path / "driver", tmp_path / "objs")
    assert len(cmds.compiles) == len(plan.c_files) == len(cmds.objects)
    for argv, c_file, obj in zip(cmds.compiles, plan.c_files, cmds.objects):
        assert argv[:len(compiler.argv)] == compiler.argv and "-nostdinc" in argv and "-c" in argv
        assert argv[-3:] == (str(c_file), "-o", str(obj))
    assert cmds.link[0] == gcc.argv[0] and cmds.link[-3:] == ("-o", str(tmp_path / "driver"), "-lpthread")
    assert ("-static" in cmds.link) == (profile.toolchain.gcc_link == "static")
    assert [Path(a) for a in cmds.link if a.endswith(".o")] == list(cmds.objects)


def test_only_zig_s_mislabelled_ppc64_objects_are_relabelled_elfv1(tmp_path):
    """ppc64: zig's -mabi=elfv1 objects say ELFv2; relabel_elfv1 fixes exactly those, leaves a
    correct ELFv1 object as it is and refuses any other object."""
    profile, compiler = _split_compiler("ppc64")
    assert compiler.relabel_elfv1 and "(objects relabelled ELFv1)" in compiler.identity
    src = tmp_path / "f.c"
    src.write_text("int f(int x) { return x + 1; }\n")
    by_zig, by_gcc = tmp_path / "zig.o", tmp_path / "gcc.o"
    _run(toolchains.compile_argv(profile, compiler, [src], by_zig, compile_only=True), "zig -c")
    _run(toolchains.compile_argv(profile, compiler.linker, [src], by_gcc, compile_only=True), "gcc -c")

    def e_flags(obj: Path) -> int:
        return int.from_bytes(obj.read_bytes()[48:52], "big")

    assert (e_flags(by_zig), e_flags(by_gcc)) == (2, 0)  # the defect, measured (gcc: 0, read as v1)
    before = by_zig.read_bytes()
    toolchains.relabel_elfv1(by_zig)
    after = by_zig.read_bytes()
    assert e_flags(by_zig) == 1 and after[:48] == before[:48] and after[52:] == before[52:]
    gcc_bytes = by_gcc.read_bytes()
    toolchains.relabel_elfv1(by_gcc)
    assert by_gcc.read_bytes() == gcc_bytes
    elfv2 = tmp_path / "elfv2.o"  # real ELFv2 code (no descriptors) is never relabelled
    _run(toolchains.compile_argv(profile, compiler, [src], elfv2, compile_only=True, extra_flags=["-mabi=elfv2"]),
         "zig -c -mabi=elfv2")
    with pytest.raises(ToolchainError, match="no .opd section"):
        toolchains.relabel_elfv1(elfv2)
    host = tmp_path / "host.o"
    _run(["gcc", "-c", str(src), "-o", str(host)], "host gcc -c")
    with pytest.raises(ToolchainError, match="not a 64-bit big-endian PowerPC object"):
        toolchains.relabel_elfv1(host)


_STRING_TABLE_C = r"""#include <stdio.h>
#include <string.h>
/* A table the program must keep in data (the driver's op names: csrc/probes.c): read through a
 * volatile index, so each entry is a pointer the linker relocates. */
const char *const names[] = {"set", "clear", "change", "test_and_set", "nclear", "clear"};
int main(void)
{
    volatile unsigned i;
    for (i = 0; i < sizeof names / sizeof names[0]; i++)
        printf("%s %u\n", names[i], (unsigned)strlen(names[i]));
    return 0;
}
"""


@pytest.mark.parametrize("arch", SPLIT)
def test_a_split_build_s_string_tables_point_at_their_strings(arch, tmp_path):
    """The driver finds a probe's op by name in a table of string pointers; zig's sparc64 objects
    reach merged strings by a local symbol plus an addend, which GNU ld got wrong ("unknown op:
    clear") until the merge flag is cleared (toolchains.unmerge_sections, via fix_objects)."""
    profile, compiler = _split_compiler(arch)
    src, obj, exe = tmp_path / "t.c", tmp_path / "t.o", tmp_path / "t"
    src.write_text(_STRING_TABLE_C)
    _run(toolchains.compile_argv(profile, compiler, [src], obj, compile_only=True, extra_flags=["-O2"]), "zig -c")
    toolchains.fix_objects(compiler, [obj])
    _run(toolchains.compile_argv(profile, compiler.linker, [obj], exe), "gcc link")
    if profile.toolchain.run_blocker or toolchains.find_runner(profile) is None:
        pytest.skip(f"linked, cannot run {arch} here: {profile.toolchain.run_blocker or toolchains.missing_reason(profile)}")
    run = toolchains.run_binary(profile, exe, timeout=60)
    assert run.ok, run.failure(60, "program")
    names = ("set", "clear", "change", "test_and_set", "nclear", "clear")
    assert run.stdout.splitlines() == [f"{n} {len(n)}" for n in names]


def test_unmerge_sections_clears_only_the_merge_flags(tmp_path):
    from elftools.elf.elffile import ELFFile

    src, obj = tmp_path / "s.c", tmp_path / "s.o"
    src.write_text('const char *const names[] = {"set", "clear"};\nint f(void) { return 1; }\n')
    _run(["gcc", "-O2", "-c", str(src), "-o", str(obj)], "host gcc -c")

    def flags(path):
        with open(path, "rb") as f:
            return {s.name: s["sh_flags"] for s in ELFFile(f).iter_sections()}

    before = flags(obj)
    merged = {n for n, f in before.items() if f & 0x10}
    assert ".rodata.str1.1" in merged
    assert toolchains.unmerge_sections(obj) == len(merged)
    after = flags(obj)
    assert {n: f for n, f in after.items() if n in merged} == {n: before[n] & ~0x30 for n in merged}
    assert {n: f for n, f in after.items() if n not in merged} == {n: f for n, f in before.items() if n not in merged}
    assert toolchains.unmerge_sections(obj) == 0
    not_elf = tmp_path / "s.c"
    with pytest.raises(ToolchainError, match="not an ELF object"):
        toolchains.unmerge_sections(not_elf)


def test_without_the_gcc_route_the_alternate_is_zig_musl_again(monkeypatch):
    """The split route needs the arch's gcc; without it there is one compiler, no alternate."""
    monkeypatch.setenv("BITLAYOUT_NO_GCC", "1")
    profile = profile_by_name("mips")
    assert runtimes.driver_compiler(profile, 1) is None
    zig = runtimes.driver_compiler(profile, 0)
    if zig is None:
        pytest.skip("pip install ziglang")
    assert zig.linker is None and "musl" in zig.target


def test_the_split_identity_names_both_compilers_and_changes_with_either():
    profile, compiler = _split_compiler("mips")
    gcc = compiler.linker
    other_gcc = toolchains.Compiler("gcc", gcc.argv, gcc.identity.replace("12.", "99."), gcc.target, gcc.cflags)
    relinked = toolchains.zig_objects_for_gcc(profile, other_gcc)
    assert relinked.identity != compiler.identity and other_gcc.identity in relinked.identity
    assert compiler.identity.startswith("zig ") and gcc.identity in compiler.identity


def test_glibc_version_is_read_from_features_h(tmp_path):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    (tmp_path / "b" / "features.h").write_text("#define\t__GLIBC__ 2\n#define __GLIBC_MINOR__ 36\n")
    assert toolchains.glibc_version([str(tmp_path / "a"), str(tmp_path / "b")]) == (2, 36)
    assert toolchains.glibc_version([str(tmp_path / "a")]) is None


@pytest.mark.parametrize("multidir, lib_in, usable", [
    (".", "", True),  # the default multilib: its libgcc is the one printed
    ("32", "32/", True),  # -m32 with the 32-bit libgcc installed
    ("32", "", False),  # -m32 without it: gcc names the 64-bit libgcc, and -lgcc fails to link
])
def test_libgcc_counts_only_for_the_multilib_the_flags_select(tmp_path, multidir, lib_in, usable):
    # A stand-in gcc answering as sparc64-linux-gnu-gcc -m32 does with and without
    # lib32gcc-12-dev-sparc64-cross (measured; CI has not got it).
    lib = tmp_path / "gcc" / lib_in / "libgcc.a"
    lib.parent.mkdir(parents=True, exist_ok=True)
    lib.write_bytes(b"!<arch>\n")
    gcc = tmp_path / "fake-gcc"
    gcc.write_text("#!/bin/sh\n"
                   f'case "$*" in *-print-multi-directory*) echo {multidir};; *) echo {lib};; esac\n')
    gcc.chmod(0o755)
    assert runtimes._libgcc_usable((str(gcc), "-m32")) is usable
