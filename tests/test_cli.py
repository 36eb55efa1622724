"""The command line: `python -m pydbg ...` must run the program as plain `python ...` would, and
report its own problems in one clear line, without a traceback."""

import glob
import importlib.util
import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap

import pytest

from dap_client import console_script

# No client ever connects here: --listen 0 binds a free port and the program runs at once.
PYDBG = [sys.executable, "-m", "pydbg", "--listen", "0"]
PLAIN = [sys.executable]
TIMEOUT = 20
# (plain python, the same under pydbg): started as a module, through the console script, and with
# an interpreter option.
ENTRIES = {
    "python-m-pydbg": (PLAIN, PYDBG),
    "console-script": (PLAIN, [console_script("pydbg"), "--listen", "0"]),
    "python-option": ([*PLAIN, "-X", "utf8"], [*PLAIN, "-X", "utf8", "-m", "pydbg", "--listen", "0"]),
}

# Prints what a program can see of how it was started.
REPORT = """
import json, sys
print(json.dumps({
    "argv": sys.argv,
    "path0": sys.path[0],
    "name": __name__,
    "file": globals().get("__file__"),
    "spec": __spec__.name if __spec__ is not None else None,
    "main_is_this_module": sys.modules["__main__"].__dict__ is globals(),
    "orig_argv": sys.orig_argv,
    "flags": list(sys.flags),
}))
"""


def environment(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYDBG_LOG", "PYTHONSAFEPATH", "PYTHONSTARTUP", "PYTHONINSPECT")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


def run(command, cwd, env=None):
    return subprocess.run(command, cwd=cwd, env=env or environment(), stdin=subprocess.DEVNULL,
                          capture_output=True, timeout=TIMEOUT)


def write(path, source):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(source).lstrip("\n"))
    return path


def stderr_lines(result):
    return result.stderr.decode().splitlines()


def assert_same_run(plain, debugged):
    assert debugged.returncode == plain.returncode, (plain, debugged)
    assert json.loads(debugged.stdout) == json.loads(plain.stdout)
    assert debugged.stderr == plain.stderr


def assert_one_clean_line(result):
    lines = stderr_lines(result)
    assert result.returncode != 0, result
    assert len(lines) == 1, f"expected one line on stderr, got {lines!r}"
    assert "Traceback" not in result.stderr.decode()
    assert result.stdout == b""
    return lines[0]


# ------------------------------------------------------------------ what the program sees


@pytest.fixture(params=list(ENTRIES))
def entry(request):
    return ENTRIES[request.param]


@pytest.mark.parametrize("given", ["app.py", "./app.py", "sub/app.py", "ABSOLUTE/sub/app.py", "sub/link.py"],
                         ids=["relative", "dot-relative", "subdir", "absolute", "symlink"])
def test_file_sees_the_same_as_plain_python(tmp_path, given, entry):
    write(tmp_path / "app.py", REPORT)
    write(tmp_path / "sub" / "app.py", REPORT)
    write(tmp_path / "real" / "app.py", REPORT)
    os.symlink(tmp_path / "real" / "app.py", tmp_path / "sub" / "link.py")
    target = given.replace("ABSOLUTE", str(tmp_path))
    plain = run([*entry[0], target, "a", "b c", "--flag"], cwd=tmp_path)
    debugged = run([*entry[1], target, "a", "b c", "--flag"], cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert_same_run(plain, debugged)


@pytest.mark.parametrize("module", ["pkg", "mod", "outer.inner.tool"])
def test_module_sees_the_same_as_plain_python(tmp_path, module, entry):
    write(tmp_path / "pkg" / "__init__.py", "")
    write(tmp_path / "pkg" / "__main__.py", REPORT)
    write(tmp_path / "mod.py", REPORT)
    write(tmp_path / "outer" / "__init__.py", "")
    write(tmp_path / "outer" / "inner" / "__init__.py", "")
    write(tmp_path / "outer" / "inner" / "tool.py", REPORT)
    plain = run([*entry[0], "-m", module, "x", "-y"], cwd=tmp_path)
    debugged = run([*entry[1], "-m", module, "x", "-y"], cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert_same_run(plain, debugged)


def test_code_sees_the_same_as_plain_python(tmp_path, entry):
    code = textwrap.dedent(REPORT)
    plain = run([*entry[0], "-c", code, "x", "-y"], cwd=tmp_path)
    debugged = run([*entry[1], "-c", code, "x", "-y"], cwd=tmp_path)
    assert plain.returncode == 0, plain.stderr
    assert_same_run(plain, debugged)


def test_module_in_package_can_import_its_siblings(tmp_path):
    write(tmp_path / "pkg" / "__init__.py", "")
    write(tmp_path / "pkg" / "helper.py", "VALUE = 'from helper'\n")
    write(tmp_path / "pkg" / "__main__.py", "from . import helper\nfrom pkg.helper import VALUE\nprint(VALUE)\n")
    result = run([*PYDBG, "-m", "pkg"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"from helper\n"


# ------------------------------------------------------------------ exit codes


def test_sys_exit_code_is_the_exit_code(tmp_path):
    write(tmp_path / "app.py", "import sys\nprint('bye')\nsys.exit(3)\n")
    result = run([*PYDBG, "app.py"], cwd=tmp_path)
    assert result.returncode == 3, result.stderr
    assert result.stdout == b"bye\n"
    assert result.stderr == b""


def test_uncaught_exception_exits_1_with_a_clean_traceback(tmp_path):
    write(tmp_path / "app.py", """
        def fail(x):
            raise ValueError(f"it broke with {x}")

        fail(42)
    """)
    result = run([*PYDBG, "app.py"], cwd=tmp_path)
    err = result.stderr.decode()
    assert result.returncode == 1
    assert err.startswith("Traceback (most recent call last):\n"), err
    assert f'File "{tmp_path / "app.py"}", line 2, in fail' in err
    assert f'File "{tmp_path / "app.py"}", line 4, in <module>' in err
    assert err.rstrip().endswith("ValueError: it broke with 42"), err
    frames = [line for line in err.splitlines() if line.lstrip().startswith('File "')]
    assert len(frames) == 2, frames
    for name in ("pydbg", "runpy", "<frozen"):
        assert name not in err, f"{name!r} in the traceback:\n{err}"


def test_uncaught_exception_output_matches_plain_python(tmp_path):
    write(tmp_path / "app.py", """
        import sys
        print("started")
        print("warning", file=sys.stderr)

        def fail(x):
            raise KeyError(x)

        fail("missing")
    """)
    plain = run([*PLAIN, "app.py"], cwd=tmp_path)
    debugged = run([*PYDBG, "app.py"], cwd=tmp_path)
    assert plain.returncode == 1
    assert debugged.returncode == plain.returncode
    assert debugged.stdout == plain.stdout
    assert debugged.stderr.decode() == plain.stderr.decode()


def test_uncaught_exception_in_module_hides_runpy(tmp_path):
    write(tmp_path / "failing.py", "x = 1\nraise RuntimeError('module failed')\n")
    plain = run([*PLAIN, "-m", "failing"], cwd=tmp_path)
    debugged = run([*PYDBG, "-m", "failing"], cwd=tmp_path)
    assert debugged.returncode == plain.returncode == 1, debugged.stderr
    # Plain python shows runpy's own frames for -m; pydbg leaves them out and is otherwise the same.
    expected = "".join(line for line in plain.stderr.decode().splitlines(keepends=True) if "<frozen runpy>" not in line)
    assert debugged.stderr.decode() == expected
    assert f'File "{tmp_path / "failing.py"}", line 2, in <module>' in expected


def test_uncaught_exception_in_code_matches_plain_python(tmp_path):
    code = "x = 1\nraise RuntimeError('code failed')\n"
    plain = run([*PLAIN, "-c", code], cwd=tmp_path)
    debugged = run([*PYDBG, "-c", code], cwd=tmp_path)
    assert debugged.returncode == plain.returncode == 1, debugged.stderr
    assert debugged.stderr.decode() == plain.stderr.decode()


def test_sys_exit_with_message_exits_1_and_prints_it(tmp_path):
    write(tmp_path / "app.py", "import sys\nsys.exit('fatal: configuration missing')\n")
    result = run([*PYDBG, "app.py"], cwd=tmp_path)
    assert result.returncode == 1
    assert result.stderr.decode() == "fatal: configuration missing\n"
    assert result.stdout == b""


# ------------------------------------------------------------------ pydbg's own errors


def test_missing_file_is_one_line(tmp_path):
    result = run([*PYDBG, "no_such_program.py"], cwd=tmp_path)
    line = assert_one_clean_line(result)
    assert "no_such_program.py" in line


def test_missing_module_is_one_line(tmp_path):
    result = run([*PYDBG, "-m", "no_such_module_here"], cwd=tmp_path)
    line = assert_one_clean_line(result)
    assert "no_such_module_here" in line


@pytest.mark.parametrize("port", ["99999", "abc", "-1"])
def test_bad_port_is_one_line(tmp_path, port):
    write(tmp_path / "app.py", "print('must not run')\n")
    result = run([sys.executable, "-m", "pydbg", "--listen", port, "app.py"], cwd=tmp_path)
    line = assert_one_clean_line(result)
    assert port in line, line
    assert b"must not run" not in result.stdout


def test_port_in_use_is_one_line_naming_the_port(tmp_path):
    write(tmp_path / "app.py", "print('must not run')\n")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run([sys.executable, "-m", "pydbg", "--listen", str(port), "app.py"], cwd=tmp_path)
    line = assert_one_clean_line(result)
    assert str(port) in line, line


@pytest.mark.parametrize("args", [[], ["--listen", "0"], ["--listen", "0", "--wait-for-client"]],
                         ids=["nothing", "listen-only", "wait-only"])
def test_no_target_prints_usage(tmp_path, args):
    result = run([sys.executable, "-m", "pydbg", *args], cwd=tmp_path)
    assert result.returncode != 0
    err = result.stderr.decode()
    assert "usage" in err.lower(), err
    assert "Traceback" not in err
    assert result.stdout == b""


@pytest.mark.parametrize("target", [["-c", "pass"], ["empty.py"], ["-m", "empty"]], ids=["code", "file", "module"])
def test_pydbg_prints_nothing_of_its_own(tmp_path, target):
    write(tmp_path / "empty.py", "x = 1\n")
    result = run([*PYDBG, *target], cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout == b""
    assert result.stderr == b""


# ------------------------------------------------------------------ old Python


def old_python():
    """A Python 3.11 interpreter that really runs, or None."""
    candidates = [shutil.which("python3.11")]
    pyenv_root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    candidates += sorted(glob.glob(os.path.join(pyenv_root, "versions", "3.11*", "bin", "python3.11")))
    for candidate in candidates:
        if not candidate:
            continue
        try:
            probe = subprocess.run([candidate, "-c", "import sys; print(sys.version_info[:2] == (3, 11))"],
                                   capture_output=True, timeout=TIMEOUT)
        except OSError:
            continue
        if probe.returncode == 0 and probe.stdout.strip() == b"True":
            return candidate
    return None


def test_python_older_than_312_is_refused_in_one_line(tmp_path):
    python = old_python()
    if python is None:
        pytest.skip("no Python 3.11 interpreter on this machine")
    spec = importlib.util.find_spec("pydbg")
    site_dir = os.path.dirname(os.path.dirname(spec.origin))
    result = run([python, "-m", "pydbg", "--listen", "0", "-c", "pass"], cwd=tmp_path,
                 env=environment(PYTHONPATH=site_dir))
    line = assert_one_clean_line(result)
    assert "3.12" in line, line
    assert "3.11" in line, line
