"""pydbg as users install it: this checkout, or an sdist built from it, installed by pip into a
fresh venv and launched through that venv's `pydbg-adapter`; and the console scripts' own frames,
which are never the user's code."""

import glob
import os
import subprocess

import pytest

from conftest import line_of
from dap_client import console_script
from test_adapter import BASE_PYTHON, Adapter

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD_TIMEOUT = 900


def run(command, **kwargs):
    result = subprocess.run(command, capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f"{command} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result


@pytest.mark.parametrize("source", ["checkout", "sdist"])
def test_pip_installs_pydbg_that_launches_through_its_adapter(sessions, tmp_path, source):
    if source == "sdist":
        dist = tmp_path / "dist"
        run([console_script("maturin"), "sdist", "--out", str(dist)], cwd=ROOT, timeout=BUILD_TIMEOUT)
        [installable] = glob.glob(str(dist / "pydbg_dap-*.tar.gz"))
    else:
        installable = ROOT
    venv = tmp_path / "venv"
    run([BASE_PYTHON, "-m", "venv", str(venv)], timeout=120)
    python = str(venv / "bin" / "python")
    # The checkout's target directory only caches compiled crates; pip runs the build.
    run([python, "-m", "pip", "install", "--disable-pip-version-check", installable], timeout=BUILD_TIMEOUT,
        env=dict(os.environ, CARGO_TARGET_DIR=os.path.join(ROOT, "target")))

    for command in ([console_script("pydbg", python), "--help"], [python, "-m", "pydbg", "--help"]):
        assert "usage: pydbg" in run(command, timeout=30).stdout
    for command in ([console_script("pydbg-adapter", python), "--help"], [python, "-m", "pydbg.adapter", "--help"]):
        assert "usage: pydbg-adapter" in run(command, timeout=30).stderr

    path = sessions.program("""
    import sys
    total = sum(range(5))
    print("total", total, sys.prefix)  # stop
    sys.exit(0)
    """)
    adapter = Adapter(sessions, command=[console_script("pydbg-adapter", python)])
    response = adapter.launch({"program": path}, breakpoints={path: [line_of(path, "# stop")]})
    assert response["success"], response
    client = adapter.client
    stop = client.wait_stopped()
    frame = client.top_frame(stop["threadId"])
    assert frame["line"] == line_of(path, "# stop")
    assert client.locals_of(frame["id"])["total"]["value"] == "10"
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.wait_event("exited")["body"]["exitCode"] == 0
    client.wait_event("terminated")
    # The adapter's own interpreter, the fresh venv's, runs a launch that names none.
    assert client.output("stdout") == f"total 10 {venv}\n"


def test_the_raised_filter_never_stops_in_the_console_script(sessions):
    # The program raises once itself; the SystemExit that ends it is raised in bin/pydbg.
    client = sessions.launch("""
    try:
        raise ValueError("mine")  # raise
    except ValueError:
        pass
    print("done")
    """, before_done=lambda c: c.ok("setExceptionBreakpoints", {"filters": ["raised"]}))
    stop = client.wait_stopped()
    assert stop["reason"] == "exception"
    frames = client.ok("stackTrace", {"threadId": stop["threadId"]})["stackFrames"]
    assert [f["line"] for f in frames] == [line_of(client.path, "# raise")], frames
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.wait_event("exited")["body"]["exitCode"] == 0
    assert len(client.events("stopped")) == 1, client.events("stopped")
    assert client.debuggee.command[0] == console_script("pydbg")
    assert client.debuggee.wait() == 0


def test_the_raised_filter_never_stops_in_a_console_script_running_a_module(sessions, tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "__main__.py").write_text("print('module ran')\n")
    debuggee = sessions.start(["-m", "pkg"], cwd=tmp_path)
    client = sessions.client(debuggee)
    client.handshake(before_done=lambda c: c.ok("setExceptionBreakpoints", {"filters": ["raised"]}))
    assert client.wait_event("exited")["body"]["exitCode"] == 0
    assert client.events("stopped") == []
    assert debuggee.wait() == 0 and b"module ran" in debuggee.stdout
