"""End-to-end tests of `pydbg-adapter`: the real console script on stdin/stdout, driven by the test
client as an editor drives it, launching real programs (or attaching to `pydbg --listen`).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import jsonschema
import pytest

from conftest import DEFINITIONS, line_of
from dap_client import DEFAULT_TIMEOUT, DapClient, console_script, free_port

BASE_PYTHON = getattr(sys, "_base_executable", sys.executable)


class Adapter:
    """`pydbg-adapter` (or `command`, e.g. `python -m pydbg.adapter`) with a client on its pipes;
    cleaned up by the `sessions` fixture."""

    def __init__(self, sessions, env=None, args=(), command=None):
        self.stderr_path = sessions.tmp_path / f"adapter-stderr-{len(sessions.debuggees)}.txt"
        self.stderr = open(self.stderr_path, "wb")
        command = command or [console_script("pydbg-adapter")]
        self.process = subprocess.Popen([*command, *args], stdin=subprocess.PIPE,
                                        stdout=subprocess.PIPE, stderr=self.stderr,
                                        env=dict(os.environ, **(env or {})), cwd=sessions.tmp_path)
        self.client = DapClient.from_process(self.process)
        sessions.clients.append(self.client)
        sessions.debuggees.append(self)

    def initialize(self, terminal=False, start_debugging=False):
        arguments = {"clientID": "pydbg-tests", "adapterID": "pydbg", "linesStartAt1": True,
                     "columnsStartAt1": True, "pathFormat": "path"}
        if terminal:
            arguments["supportsRunInTerminalRequest"] = True
        if start_debugging:
            arguments["supportsStartDebuggingRequest"] = True
        return self.client.ok("initialize", arguments)

    def launch(self, arguments, breakpoints=None, terminal=False, exceptions=None, start_debugging=False):
        """As VS Code and nvim-dap do: initialize, launch without waiting for its response, then
        configure on `initialized`. Returns the launch response."""
        client = self.client
        self.initialize(terminal, start_debugging)
        launch_seq = client.start_request("launch", arguments)
        client.wait_event("initialized")
        for path, lines in (breakpoints or {}).items():
            specs = [n if isinstance(n, dict) else {"line": n} for n in lines]
            client.ok("setBreakpoints", {"source": {"path": path}, "breakpoints": specs})
        if exceptions is not None:
            client.ok("setExceptionBreakpoints", {"filters": exceptions})
        done_seq = client.start_request("configurationDone")
        response = client.wait_response(launch_seq, timeout=30)
        if response["success"]:
            assert client.wait_response(done_seq)["success"]
        return response

    def handshake(self, command, arguments, breakpoints):
        """The project's own order: launch or attach answered first, then configuration."""
        self.initialize()
        self.client.wait_event("initialized")
        self.client.ok(command, arguments, timeout=30)
        for path, lines in breakpoints.items():
            self.client.ok("setBreakpoints", {"source": {"path": path}, "breakpoints": [{"line": n} for n in lines]})
        self.client.ok("configurationDone")

    def program_pid(self):
        return self.client.wait_event("process")["body"]["systemProcessId"]

    def wait(self, timeout=DEFAULT_TIMEOUT):
        return self.process.wait(timeout=timeout)

    def kill(self):
        """Teardown: close stdin, give the adapter a moment, then kill it and what it started."""
        pids = [e["body"].get("systemProcessId") for e in self.client.events("process")]
        self.client.close()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for pid in pids:
            if pid and is_running(pid):
                os.kill(pid, signal.SIGKILL)
        self.stderr.close()


def process_state(pid):
    """The state letter of `pid` in /proc (R, S, T for stopped, Z for zombie), or None if gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return None


def parent_of(pid):
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rsplit(")", 1)[1].split()[1])


def is_running(pid):
    """True while `pid` exists and is not a zombie."""
    return process_state(pid) not in (None, "Z")


def wait_gone(pid, timeout=DEFAULT_TIMEOUT):
    deadline = time.monotonic() + timeout
    while is_running(pid):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def program_output(client):
    """The program's stdout and stderr as the client saw them, in order of arrival."""
    return [(e["body"]["category"], e["body"]["output"]) for e in client.events("output")
            if e["body"]["category"] in ("stdout", "stderr")]


def schema_check(message, definition):
    validator = jsonschema.Draft4Validator({"$ref": f"#/definitions/{definition}", "definitions": DEFINITIONS})
    errors = [e.message for e in validator.iter_errors(message)]
    assert not errors, f"{definition}: {errors}"


# ---------------------------------------------------------------------- launch


def test_launch_stops_at_a_breakpoint_and_reports_the_exit_code(sessions):
    path = sessions.program("""
    import sys

    def compute(n):
        total = n * 2
        return total  # stop

    value = compute(21)
    print("value", value)
    sys.exit(3)  # exit
    """)
    adapter = Adapter(sessions)
    client = adapter.client
    response = adapter.launch({"type": "pydbg", "request": "launch", "program": path},
                              breakpoints={path: [line_of(path, "# stop")]})
    assert response["success"], response
    stop = client.wait_stopped()
    assert stop["reason"] == "breakpoint"
    frame = client.top_frame(stop["threadId"])
    assert (frame["name"], frame["line"]) == ("compute", line_of(path, "# stop"))
    variables = client.locals_of(frame["id"])
    assert (variables["n"]["value"], variables["total"]["value"]) == ("21", "42")
    client.ok("continue", {"threadId": stop["threadId"]})
    # A non-zero SystemExit is uncaught, and the core's `uncaught` filter is on by default.
    stop = client.wait_stopped()
    assert stop["reason"] == "exception"
    assert client.top_frame(stop["threadId"])["line"] == line_of(path, "# exit")
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.wait_event("exited")["body"]["exitCode"] == 3
    client.wait_event("terminated")
    assert client.output("stdout") == "value 42\n"

    process = client.wait_event("process")["body"]
    assert (process["name"], process["startMethod"], process["isLocalProcess"]) == ("app.py", "launch", True)
    assert not client.events("capabilities"), "the announced capabilities were the core's"

    # One sequence for the client, whatever came from the adapter or the debuggee.
    assert [m["seq"] for m in client.received] == list(range(1, len(client.received) + 1))
    sent = {m["seq"]: m["command"] for m in client.sent if m["type"] == "request"}
    for message in client.received:
        if message["type"] == "response":
            assert sent[message["request_seq"]] == message["command"], message
    assert len(client.events("initialized")) == 1

    client.ok("disconnect")
    assert adapter.wait() == 0
    assert not is_running(process["systemProcessId"])


def test_configuring_after_the_launch_response_works_too(sessions):
    # The order of the project's own handshake: launch answered first, then breakpoints.
    path = sessions.program("""
    x = 1
    x += 1  # stop
    """)
    adapter = Adapter(sessions)
    client = adapter.client
    adapter.handshake("launch", {"program": path}, {path: [line_of(path, "# stop")]})
    stop = client.wait_stopped()
    assert client.locals_of(client.top_frame(stop["threadId"])["id"])["x"]["value"] == "1"
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.wait_event("exited")["body"]["exitCode"] == 0


def test_breakpoints_sent_before_launch_wait_for_the_program(sessions):
    path = sessions.program("""
    y = 5
    y *= 3  # stop
    """)
    adapter = Adapter(sessions)
    client = adapter.client
    adapter.initialize()
    client.wait_event("initialized")
    breakpoints_seq = client.start_request(
        "setBreakpoints", {"source": {"path": path}, "breakpoints": [{"line": line_of(path, "# stop")}]})
    launch_seq = client.start_request("launch", {"program": path})
    done_seq = client.start_request("configurationDone")
    assert client.wait_response(launch_seq, timeout=30)["success"]
    assert client.wait_response(breakpoints_seq)["body"]["breakpoints"][0]["verified"]
    assert client.wait_response(done_seq)["success"]
    stop = client.wait_stopped()
    assert client.locals_of(client.top_frame(stop["threadId"])["id"])["y"]["value"] == "5"
    client.ok("continue", {"threadId": stop["threadId"]})
    client.wait_event("terminated")


def test_capabilities_are_the_cores_and_restart(sessions):
    path = sessions.program("pass\n")
    core = sessions.client(sessions.start([path]))
    expected = core.ok("initialize", {"adapterID": "pydbg"})
    assert "supportsRestartRequest" not in expected, "the headless server has nothing to restart"
    assert Adapter(sessions).initialize() == {**expected, "supportsRestartRequest": True}


def test_output_keeps_its_order_and_shows_once(sessions):
    path = sessions.program("""
    import sys, time
    for i in range(4):
        print(f"out {i}")
        time.sleep(0.05)
        print(f"err {i}", file=sys.stderr)
        time.sleep(0.05)
    """)
    adapter = Adapter(sessions)
    assert adapter.launch({"program": path})["success"]
    adapter.client.wait_event("terminated")
    expected = [(category, f"{word} {i}\n") for i in range(4) for category, word in (("stdout", "out"), ("stderr", "err"))]
    got = program_output(adapter.client)
    # Chunks may split lines, never reorder or repeat them.
    assert "".join(text for _, text in got) == "".join(text for _, text in expected)
    for category in ("stdout", "stderr"):
        assert adapter.client.output(category) == "".join(t for c, t in expected if c == category)


def test_output_of_a_program_that_exits_at_once_is_not_lost(sessions):
    path = sessions.program("""
    import os, sys
    sys.stdout.write("".join(f"line {i}\\n" for i in range(20000)))
    sys.stderr.write("last words\\n")
    os._exit(7)
    """)
    adapter = Adapter(sessions)
    client = adapter.client
    assert adapter.launch({"program": path})["success"]
    exited = client.wait_event("exited")
    client.wait_event("terminated")
    assert exited["body"]["exitCode"] == 7, "os._exit skips the core; the code comes from the process"
    assert client.output("stdout") == "".join(f"line {i}\n" for i in range(20000))
    assert client.output("stderr") == "last words\n"
    events = [m for m in client.received if m["type"] == "event"]
    last_output = max(i for i, e in enumerate(events) if e["event"] == "output")
    assert last_output < events.index(exited), "all output comes before exited"


def test_pydbgs_own_messages_still_reach_the_console(sessions):
    # Under internalConsole the core sends no copies of program output (redirectOutput false);
    # its own messages (logpoints, a condition that raises) still come, as console output.
    path = sessions.program("""
    total = 0
    for i in range(3):
        total += i  # log
    print("total", total)  # check
    """)
    adapter = Adapter(sessions)
    client = adapter.client
    breakpoints = [{"line": line_of(path, "# log"), "logMessage": "i is {i}"},
                   {"line": line_of(path, "# check"), "condition": "no_such_name"}]
    assert adapter.launch({"program": path}, breakpoints={path: breakpoints})["success"]
    stop = client.wait_stopped()
    client.ok("continue", {"threadId": stop["threadId"]})
    client.wait_event("terminated")
    console = client.output("console")
    assert console.count("i is ") == 3 and "i is 0\ni is 1\ni is 2\n" in console
    assert console.count('pydbg: breakpoint condition "no_such_name" raised NameError') == 1
    assert client.output("stdout") == "total 3\n" and client.output("stderr") == ""


def test_args_cwd_env_and_env_file(sessions, tmp_path):
    path = sessions.program("""
    import json, os, sys
    print(json.dumps({"argv": sys.argv[1:], "cwd": os.getcwd(),
                      "vars": {k: os.environ.get(k) for k in ("A", "B", "C", "PYDBG_TEST_GONE")}}))
    """)
    workdir = tmp_path / "work"
    workdir.mkdir()
    (workdir / "vars.env").write_text("# settings\nA=from-file\nB=${PYDBG_TEST_BASE}-b\nexport C='quoted value'\n")
    adapter = Adapter(sessions, env={"PYDBG_TEST_GONE": "present", "PYDBG_TEST_BASE": "base"})
    response = adapter.launch({"program": path, "args": ["one", "two words"], "cwd": str(workdir),
                               "envFile": "vars.env", "env": {"A": "from-env", "PYDBG_TEST_GONE": None}})
    assert response["success"], response
    adapter.client.wait_event("terminated")
    report = json.loads(adapter.client.output("stdout"))
    assert report == {"argv": ["one", "two words"], "cwd": str(workdir),
                      "vars": {"A": "from-env", "B": "base-b", "C": "quoted value", "PYDBG_TEST_GONE": None}}


def test_args_as_one_string_and_cwd_defaulting_to_the_programs_folder(sessions, tmp_path):
    path = sessions.program("""
    import os, sys
    print(sys.argv[1:], os.getcwd())
    """, name="sub/dir/app.py")
    adapter = Adapter(sessions)
    assert adapter.launch({"program": path, "args": "a 'b c' \"d e\""})["success"]
    adapter.client.wait_event("terminated")
    assert adapter.client.output("stdout") == f"['a', 'b c', 'd e'] {tmp_path / 'sub' / 'dir'}\n"


def test_module_launch(sessions, tmp_path):
    sessions.program("", name="pkg/__init__.py")
    main = sessions.program("""
    import sys
    answer = 42  # stop
    print(__name__, sys.argv[1:])
    """, name="pkg/main.py")
    adapter = Adapter(sessions)
    client = adapter.client
    response = adapter.launch({"module": "pkg.main", "args": ["x"], "cwd": str(tmp_path)},
                              breakpoints={main: [line_of(main, "# stop")]})
    assert response["success"], response
    stop = client.wait_stopped()
    assert client.top_frame(stop["threadId"])["source"]["path"] == main
    client.ok("continue", {"threadId": stop["threadId"]})
    client.wait_event("terminated")
    assert client.output("stdout") == "__main__ ['x']\n"
    assert client.wait_event("process")["body"]["name"] == "-m pkg.main"


def test_debugpy_attributes_pydbg_does_not_honour_are_named_in_the_console(sessions):
    adapter = Adapter(sessions)
    response = adapter.launch({"code": "print('ran')", "django": True, "gevent": True,
                               "autoReload": {"enable": True}, "purpose": ["debug-test"], "jinja": False})
    assert response["success"], response
    assert adapter.client.wait_event("exited")["body"]["exitCode"] == 0
    console = adapter.client.output("console")
    for name in ["django", "gevent", "autoReload", "purpose"]:
        assert f'pydbg: ignoring "{name}"' in console, console
    assert '"jinja"' not in console, "an attribute that asks for nothing is not warned about"
    assert adapter.client.output("stdout") == "ran\n"


def test_no_debug_runs_the_program_without_stopping_anywhere(sessions):
    """VS Code's Run Without Debugging (Ctrl+F5) launches with noDebug: breakpoints, breakpoint()
    calls and uncaught exceptions do not stop the program."""
    path = sessions.program("""
    import time
    print("start")  # a breakpoint here
    time.sleep(1.5)
    breakpoint()
    raise SystemExit(4)
    """)
    adapter = Adapter(sessions)
    response = adapter.launch({"program": path, "noDebug": True}, breakpoints={path: [2]}, exceptions=["uncaught"])
    assert response["success"], response
    placed = adapter.client.ok("setBreakpoints", {"source": {"path": path}, "breakpoints": [{"line": 4}]})
    assert placed["breakpoints"][0]["verified"] is False and "without debugging" in placed["breakpoints"][0]["message"]
    assert adapter.client.wait_event("exited")["body"]["exitCode"] == 4
    assert not adapter.client.events("stopped")
    assert adapter.client.output("stdout") == "start\n"


def test_sudo_is_refused_before_anything_starts(sessions):
    adapter = Adapter(sessions)
    response = adapter.launch({"code": "print('ran')", "sudo": True})
    assert not response["success"] and '"sudo" is not supported' in response["message"], response
    assert not adapter.client.events("process")


def test_code_launch_takes_a_list_of_lines(sessions):
    adapter = Adapter(sessions)
    response = adapter.launch({"code": ["import sys", "print('code', sys.argv[1:])", "sys.exit(5)"], "args": ["a"]},
                              exceptions=[])
    assert response["success"], response
    assert adapter.client.wait_event("exited")["body"]["exitCode"] == 5
    assert adapter.client.output("stdout") == "code ['a']\n"


def test_just_my_code_and_other_attach_arguments_reach_the_core(sessions):
    path = sessions.program("""
    import fractions

    def parse():
        try:
            return fractions.Fraction("not a number")  # user call
        except ValueError:
            return None

    parse()
    """)
    frames_at_stop = {}
    for just_my_code in (True, False):
        adapter = Adapter(sessions)
        client = adapter.client
        response = adapter.launch({"program": path, "justMyCode": just_my_code},
                                  breakpoints={path: [line_of(path, "# user call")]})
        assert response["success"], response
        at_call = client.wait_stopped()
        client.ok("setExceptionBreakpoints", {"filters": ["raised"]})
        client.ok("continue", {"threadId": at_call["threadId"]})
        stop = client.wait_stopped()
        frames_at_stop[just_my_code] = client.ok("stackTrace", {"threadId": stop["threadId"]})["stackFrames"]
        client.ok("disconnect")
        adapter.wait()
    assert frames_at_stop[True][0]["name"] == "parse"
    assert frames_at_stop[False][0]["source"]["path"].endswith("fractions.py")


def test_pydbg_is_importable_into_an_interpreter_without_it(sessions):
    # The base interpreter of the test venv has no pydbg (and none of the venv's packages).
    check = subprocess.run([BASE_PYTHON, "-c", "import pydbg"], capture_output=True)
    assert check.returncode != 0, "the base interpreter must not have pydbg for this test to mean anything"
    path = sessions.program("""
    import importlib.util, sys
    print(sys.executable, importlib.util.find_spec("pytest") is None)
    """)
    adapter = Adapter(sessions)
    response = adapter.launch({"program": path, "python": BASE_PYTHON})
    assert response["success"], response
    adapter.client.wait_event("terminated")
    assert adapter.client.output("stdout") == f"{BASE_PYTHON} True\n", "only pydbg is added, not the venv"


def test_python_as_a_list_with_python_args(sessions):
    path = sessions.program("""
    import sys
    print(sys.flags.dev_mode, sys.dont_write_bytecode)
    """)
    adapter = Adapter(sessions)
    response = adapter.launch({"program": path, "pythonPath": [sys.executable, "-X", "dev"], "pythonArgs": ["-B"]})
    assert response["success"], response
    adapter.client.wait_event("terminated")
    assert adapter.client.output("stdout") == "True True\n"


# ---------------------------------------------------------------------- launch errors


def old_python():
    for version in ("3.11", "3.10", "3.9"):
        found = shutil.which(f"python{version}")
        if found and subprocess.run([found, "-c", "pass"], capture_output=True).returncode == 0:
            return found
    root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
    for version in ("3.11.7",):
        candidate = os.path.join(root, "versions", version, "bin", "python3")
        if os.path.exists(candidate):
            return candidate
    return None


@pytest.mark.parametrize("case", ["missing", "old", "no-pydbg"])
def test_a_bad_interpreter_is_an_error_that_says_what_to_do(sessions, case):
    if case == "missing":
        python, expected = "/no/such/python3", ["/no/such/python3", "3.12"]
    elif case == "old":
        python = old_python()
        assert python, "this machine has Python 3.11 (DESIGN.md); the test needs an interpreter older than 3.12"
        expected = ["needs Python 3.12 or newer", "3.1"]
    else:
        # -I ignores PYTHONPATH, so the base interpreter cannot import pydbg.
        python, expected = [BASE_PYTHON, "-I"], ["cannot be imported", "pip install pydbg"]
    path = sessions.program("print('never')\n")
    adapter = Adapter(sessions)
    response = adapter.launch({"program": path, "python": python})
    assert not response["success"]
    for text in expected:
        assert text in response["message"], response["message"]
    assert not adapter.client.events("process") and "never" not in adapter.client.output()
    adapter.client.ok("disconnect")
    assert adapter.wait() == 0


@pytest.mark.parametrize("arguments, expected", [
    ({"program": "missing.py"}, "does not exist"),
    ({}, "what to run"),
    ({"module": "m", "code": "pass"}, "only one"),
    ({"module": "m", "console": "tty"}, "console"),
    ({"module": "m", "envFile": "missing.env"}, "envFile"),
    ({"module": "m", "args": {"a": 1}}, "args"),
], ids=["missing-program", "nothing", "two-targets", "bad-console", "missing-env-file", "bad-args"])
def test_bad_launch_arguments_are_errors(sessions, arguments, expected):
    adapter = Adapter(sessions)
    response = adapter.launch(arguments)
    assert not response["success"] and expected in response["message"], response


def test_a_missing_module_fails_the_launch_with_pydbgs_message(sessions):
    adapter = Adapter(sessions)
    response = adapter.launch({"module": "no_such_module_for_pydbg"})
    assert not response["success"]
    assert "no module named 'no_such_module_for_pydbg'" in response["message"]
    assert "no module named" in adapter.client.output("stderr")
    assert not adapter.client.events("terminated")


# ---------------------------------------------------------------------- lifecycle

FOREVER = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
print("child", child.pid, flush=True)
try:
    while True:
        time.sleep(0.02)  # loop
finally:
    print("cleanup ran", flush=True)
"""


def start_forever(sessions, breakpoints=None):
    path = sessions.program(FOREVER)
    adapter = Adapter(sessions)
    lines = {path: [line_of(path, "# loop")]} if breakpoints else None
    assert adapter.launch({"program": path}, breakpoints=lines)["success"]
    child = int(wait_line(adapter.client, "child ").split()[1])
    return adapter, adapter.program_pid(), child


def wait_line(client, prefix, timeout=DEFAULT_TIMEOUT):
    """The first whole line of the program's stdout that starts with `prefix` (output events may
    split lines anywhere)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for line in client.output("stdout").splitlines(keepends=True):
            if line.startswith(prefix) and line.endswith("\n"):
                return line
        time.sleep(0.01)
    raise AssertionError(f"no line {prefix!r} in {client.output('stdout')!r}")


def test_terminate_interrupts_the_program_then_ends_its_process_tree(sessions):
    adapter, pid, child = start_forever(sessions)
    client = adapter.client
    client.ok("terminate")
    assert client.wait_event("exited")["body"]["exitCode"] == 130
    client.wait_event("terminated")
    assert "cleanup ran" in client.output("stdout"), "terminate is a KeyboardInterrupt first"
    assert wait_gone(pid) and wait_gone(child)
    client.ok("disconnect")
    assert adapter.wait() == 0


def test_terminate_while_stopped(sessions):
    adapter, pid, child = start_forever(sessions, breakpoints=True)
    client = adapter.client
    client.wait_stopped()
    client.ok("terminate")
    client.wait_event("terminated")
    assert "cleanup ran" in client.output("stdout")
    assert wait_gone(pid) and wait_gone(child)


def test_terminate_kills_a_program_that_does_not_end(sessions):
    # A stopped process runs nothing, not even the core's own fallback: only the adapter's kill
    # of the process group, after its grace period, ends it.
    path = sessions.program("""
    import os, signal, time
    print("freezing", flush=True)
    time.sleep(0.5)  # the whole process freezes: pydbg's answers to the launch must be out first
    os.kill(os.getpid(), signal.SIGSTOP)
    """)
    adapter = Adapter(sessions)
    client = adapter.client
    assert adapter.launch({"program": path})["success"]
    client.wait_output("freezing")
    pid = adapter.program_pid()
    deadline = time.monotonic() + DEFAULT_TIMEOUT
    while process_state(pid) != "T":
        assert time.monotonic() < deadline, "the program never froze"
        time.sleep(0.02)
    started = time.monotonic()
    terminate_seq = client.start_request("terminate")
    assert client.wait_event("exited", timeout=20)["body"]["exitCode"] == 128 + signal.SIGKILL
    assert 4 < time.monotonic() - started < 15, "killed after the grace period"
    client.wait_event("terminated")
    assert client.wait_response(terminate_seq)["success"], "what terminate asked for happened"
    assert wait_gone(pid)


def test_disconnect_after_launch_ends_the_program(sessions):
    adapter, pid, child = start_forever(sessions)
    adapter.client.ok("disconnect", {"restart": False})
    assert not is_running(pid), "the disconnect is answered once the program is gone"
    assert wait_gone(child)
    assert adapter.wait() == 0


def test_terminate_then_sigint_to_the_adapter_still_ends_the_process_group(sessions):
    """nvim-dap's :DapTerminate: terminate, then stdin closed and SIGINT to the adapter."""
    adapter, pid, child = start_forever(sessions)
    adapter.client.start_request("terminate")
    adapter.client.close()
    adapter.process.send_signal(signal.SIGINT)
    assert wait_gone(pid) and wait_gone(child), "no orphans"
    assert adapter.wait() == 0


def test_disconnect_can_leave_the_program_running(sessions, tmp_path):
    marker = tmp_path / "finished.txt"
    path = sessions.program(f"""
    import time
    print("started", flush=True)
    time.sleep(1)
    open({str(marker)!r}, "w").write("done")
    """)
    adapter = Adapter(sessions)
    assert adapter.launch({"program": path})["success"]
    adapter.client.wait_output("started")
    pid = adapter.program_pid()
    adapter.client.ok("disconnect", {"terminateDebuggee": False})
    assert is_running(pid)
    # As nvim-dap closes a session: stdin closed, then SIGINT to the adapter.
    adapter.client.close()
    adapter.process.send_signal(signal.SIGINT)
    assert adapter.wait(timeout=15) == 0, "the adapter stays while it pipes the program's output"
    assert marker.read_text() == "done"


def test_the_program_ends_when_the_client_vanishes(sessions):
    adapter, pid, child = start_forever(sessions)
    adapter.client.close()  # stdin reaches EOF, as when an editor dies
    assert wait_gone(pid) and wait_gone(child)
    assert adapter.wait() == 0


def test_the_program_ends_when_the_client_vanishes_while_it_is_stopped(sessions):
    adapter, pid, child = start_forever(sessions, breakpoints=True)
    adapter.client.wait_stopped()
    adapter.client.close()
    assert wait_gone(pid) and wait_gone(child)
    assert adapter.wait() == 0


def test_restart_relaunches_with_the_same_breakpoints_and_new_arguments(sessions):
    path = sessions.program("""
    import sys
    label = sys.argv[1]
    print("running", label)  # stop
    """)
    adapter = Adapter(sessions)
    client = adapter.client
    capabilities = adapter.launch({"program": path, "args": ["first"]}, breakpoints={path: [3]})
    stop = client.wait_stopped()
    first_pid = adapter.program_pid()
    assert client.locals_of(client.top_frame(stop["threadId"])["id"])["label"]["value"] == "'first'"

    client.ok("restart", {"arguments": {"program": path, "args": ["second"]}}, timeout=30)
    stop = client.wait_stopped(timeout=30)
    assert client.locals_of(client.top_frame(stop["threadId"])["id"])["label"]["value"] == "'second'"
    processes = client.events("process")
    assert len(processes) == 2 and processes[1]["body"]["systemProcessId"] != first_pid
    assert wait_gone(first_pid)
    assert client.events("exited") == [] and client.events("terminated") == [], "the session goes on"

    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.wait_event("exited")["body"]["exitCode"] == 0
    client.wait_event("terminated")
    assert len(client.events("exited")) == 1
    assert "running second" in client.output("stdout")


def test_restart_without_arguments_runs_the_same_launch_again(sessions):
    path = sessions.program("""
    print("run")  # stop
    """)
    adapter = Adapter(sessions)
    adapter.launch({"program": path}, breakpoints={path: [1]})
    adapter.client.wait_stopped()
    adapter.client.ok("restart", timeout=30)
    stop = adapter.client.wait_stopped(timeout=30)
    assert adapter.client.top_frame(stop["threadId"])["line"] == 1
    adapter.client.ok("continue", {"threadId": stop["threadId"]})
    assert adapter.client.wait_event("exited")["body"]["exitCode"] == 0


# ---------------------------------------------------------------------- consoles


def terminal_runner(spawned):
    """Answers runInTerminal as an editor would: runs the command with the given cwd and env."""
    def run_in_terminal(arguments):
        env = dict(os.environ)
        for name, value in arguments.get("env", {}).items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        process = subprocess.Popen(arguments["args"], cwd=arguments["cwd"], env=env,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        spawned.append(process)
        return {"processId": process.pid}
    return run_in_terminal


@pytest.mark.parametrize("console, kind", [("integratedTerminal", "integrated"), ("externalTerminal", "external")])
def test_run_in_terminal(sessions, console, kind):
    path = sessions.program("""
    import os, sys
    greeting = "hello from the terminal"
    print(greeting, os.environ.get("PYDBG_TEST_VAR"))  # stop
    sys.exit(4)
    """)
    adapter = Adapter(sessions)
    spawned = []
    adapter.client.reverse_handlers["runInTerminal"] = terminal_runner(spawned)
    response = adapter.launch({"program": path, "console": console, "env": {"PYDBG_TEST_VAR": "set"},
                               "python": BASE_PYTHON},
                              breakpoints={path: [line_of(path, "# stop")]}, terminal=True, exceptions=[])
    assert response["success"], response
    client = adapter.client
    stop = client.wait_stopped()
    assert client.locals_of(client.top_frame(stop["threadId"])["id"])["greeting"]["value"] == "'hello from the terminal'"
    [process] = spawned
    program_pid = client.wait_event("process")["body"]["systemProcessId"]
    assert parent_of(program_pid) == process.pid, "pydbg's launcher, in the terminal, runs the program"
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.wait_event("exited")["body"]["exitCode"] == 4
    client.wait_event("terminated")

    [request] = client.reverse_requests("runInTerminal")
    schema_check(request, "RunInTerminalRequest")
    arguments = request["arguments"]
    assert arguments["kind"] == kind and arguments["cwd"] == os.path.dirname(path)
    launcher, program = arguments["args"][:4], arguments["args"][4:]
    assert launcher[:3] == [BASE_PYTHON, "-m", "pydbg._launcher"] and launcher[3].startswith("127.0.0.1:")
    assert program[:3] == [BASE_PYTHON, "-m", "pydbg"] and program[-1] == path
    out, err = process.communicate(timeout=15)
    assert out == b"hello from the terminal set\n" and process.returncode == 4, err
    assert "hello from the terminal" not in client.output(), "the terminal shows the output, not the console"


@pytest.mark.parametrize("ending, code", [("os._exit(3)", 3), ("os.kill(os.getpid(), signal.SIGKILL)", 137),
                                          ("raise SystemExit(5)", 5)])
def test_a_program_in_a_terminal_reports_its_exit_code_however_it_ends(sessions, ending, code):
    path = sessions.program(f"""
    import os, signal
    print("ending", flush=True)
    {ending}
    """)
    adapter = Adapter(sessions)
    spawned = []
    adapter.client.reverse_handlers["runInTerminal"] = terminal_runner(spawned)
    response = adapter.launch({"program": path, "console": "integratedTerminal"}, terminal=True, exceptions=[])
    assert response["success"], response
    assert adapter.client.wait_event("exited")["body"]["exitCode"] == code
    adapter.client.wait_event("terminated")
    assert spawned[0].wait(timeout=15) == code


def test_redirect_output_copies_terminal_output_to_the_console(sessions):
    path = sessions.program("print('in both places')\n")
    adapter = Adapter(sessions)
    spawned = []
    adapter.client.reverse_handlers["runInTerminal"] = terminal_runner(spawned)
    response = adapter.launch({"program": path, "console": "integratedTerminal", "redirectOutput": True},
                              terminal=True)
    assert response["success"], response
    adapter.client.wait_event("terminated")
    assert spawned[0].communicate(timeout=15)[0] == b"in both places\n"
    assert adapter.client.output("stdout") == "in both places\n"


def test_a_failed_run_in_terminal_fails_the_launch(sessions):
    path = sessions.program("print('never')\n")
    adapter = Adapter(sessions)

    def refuse(arguments):
        raise RuntimeError("no terminal here")

    adapter.client.reverse_handlers["runInTerminal"] = refuse
    response = adapter.launch({"program": path, "console": "integratedTerminal"}, terminal=True)
    assert not response["success"] and "no terminal here" in response["message"]


def test_clients_without_run_in_terminal_fall_back_to_the_internal_console(sessions):
    path = sessions.program("print('here instead')\n")
    adapter = Adapter(sessions)
    response = adapter.launch({"program": path, "console": "integratedTerminal"})
    assert response["success"], response
    client = adapter.client
    client.wait_event("terminated")
    assert "runInTerminal" in client.output("console")
    assert client.output("stdout") == "here instead\n"
    assert not client.reverse_requests()


def test_stop_on_entry_stops_at_the_programs_first_line(sessions):
    path = sessions.program("""
    import os
    first = 1
    print("ran")
    """)
    adapter = Adapter(sessions)
    assert adapter.launch({"program": path, "stopOnEntry": True})["success"]
    stop = adapter.client.wait_stopped()
    assert stop["reason"] == "entry"
    frame = adapter.client.top_frame(stop["threadId"])
    assert (frame["name"], frame["line"], frame["source"]["path"]) == ("<module>", 1, path)
    assert "ran" not in adapter.client.output("stdout")
    adapter.client.ok("continue", {"threadId": stop["threadId"]})
    assert adapter.client.wait_event("exited")["body"]["exitCode"] == 0
    assert adapter.client.output("stdout") == "ran\n"


# ---------------------------------------------------------------------- attach


@pytest.mark.parametrize("form", ["connect", "legacy"])
def test_attach_through_the_adapter_to_a_listening_pydbg(sessions, form):
    path = sessions.program("""
    word = "attached"
    print(word)  # stop
    """)
    debuggee = sessions.start([path])
    adapter = Adapter(sessions)
    client = adapter.client
    target = {"connect": {"host": "127.0.0.1", "port": debuggee.port}} if form == "connect" else \
        {"host": "127.0.0.1", "port": str(debuggee.port)}
    adapter.handshake("attach", {"type": "pydbg", "request": "attach", **target}, {path: [line_of(path, "# stop")]})
    stop = client.wait_stopped()
    assert client.locals_of(client.top_frame(stop["threadId"])["id"])["word"]["value"] == "'attached'"
    # An attach has nothing to restart: the capability is withdrawn, and a restart is refused.
    assert client.wait_event("capabilities")["body"]["capabilities"] == {"supportsRestartRequest": False}
    assert "disconnect and attach again" in client.request("restart")["message"]
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.wait_event("exited")["body"]["exitCode"] == 0
    client.wait_event("terminated")
    assert debuggee.wait() == 0 and b"attached" in debuggee.stdout
    assert [m["seq"] for m in client.received] == list(range(1, len(client.received) + 1))
    client.ok("disconnect")
    assert adapter.wait() == 0


def test_attach_with_listen_waits_for_pydbg_connect(sessions):
    path = sessions.program("print('dialed in')\n")
    port = free_port()
    adapter = Adapter(sessions)
    client = adapter.client
    adapter.initialize()
    attach_seq = client.start_request("attach", {"listen": {"port": port}})
    time.sleep(0.3)
    program = subprocess.Popen([sys.executable, "-m", "pydbg", "--connect", f"127.0.0.1:{port}",
                                "--wait-for-client", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert client.wait_response(attach_seq)["success"]
        client.ok("configurationDone")
        client.wait_event("terminated")
        out, _ = program.communicate(timeout=15)
        assert out == b"dialed in\n" and program.returncode == 0
        assert client.output("stdout") == "dialed in\n", "after attach, the core's own output events pass"
    finally:
        if program.poll() is None:
            program.kill()


def test_attach_to_nobody_is_an_error(sessions):
    adapter = Adapter(sessions)
    adapter.initialize()
    response = adapter.client.request("attach", {"connect": {"port": free_port()}})
    assert not response["success"] and "cannot connect" in response["message"]


def test_detaching_the_adapter_lets_an_attached_program_run_on(sessions):
    path = sessions.program("""
    import time
    for i in range(1000):
        time.sleep(0.01)  # loop
    print("finished")
    """)
    debuggee = sessions.start([path])
    adapter = Adapter(sessions)
    client = adapter.client
    adapter.handshake("attach", {"connect": {"port": debuggee.port}}, {path: [line_of(path, "# loop")]})
    client.wait_stopped()
    client.close()  # the editor goes away while the program is stopped
    assert adapter.wait() == 0
    assert debuggee.wait(timeout=30) == 0 and b"finished" in debuggee.stdout


# ---------------------------------------------------------------------- the package


@pytest.mark.parametrize("command", [["pydbg-adapter"], ["python", "-m", "pydbg.adapter"]])
def test_both_entry_points_print_usage(command):
    command = [console_script("pydbg-adapter")] if command == ["pydbg-adapter"] else [sys.executable, *command[1:]]
    result = subprocess.run([*command, "--help"], capture_output=True, text=True, timeout=15)
    assert result.returncode == 0 and result.stdout == "" and "usage: pydbg-adapter" in result.stderr
    result = subprocess.run([*command, "--bogus"], capture_output=True, text=True, timeout=15)
    assert result.returncode == 2 and "unknown argument" in result.stderr


def test_python_m_pydbg_adapter_launches_to_a_breakpoint_and_the_exit(sessions):
    path = sessions.program("""
    x = 41
    x += 1  # stop
    raise SystemExit(x)
    """)
    adapter = Adapter(sessions, command=[sys.executable, "-m", "pydbg.adapter"])
    assert adapter.launch({"program": path}, breakpoints={path: [line_of(path, "# stop")]})["success"]
    stop = adapter.client.wait_stopped()
    assert adapter.client.top_frame(stop["threadId"])["line"] == line_of(path, "# stop")
    adapter.client.ok("setExceptionBreakpoints", {"filters": []})
    adapter.client.ok("continue", {"threadId": stop["threadId"]})
    assert adapter.client.wait_event("exited")["body"]["exitCode"] == 42
    adapter.client.ok("disconnect")
    assert adapter.wait() == 0


def test_sigint_to_the_adapter_is_not_a_keyboard_interrupt_in_its_python(sessions):
    # nvim-dap sends SIGINT as it closes; the adapter logs it, and Python must not raise it later.
    adapter = Adapter(sessions)
    adapter.initialize()
    adapter.process.send_signal(signal.SIGINT)
    time.sleep(0.3)
    assert adapter.process.poll() is None, "SIGINT ended the adapter"
    adapter.client.close()
    assert adapter.wait() == 0
    assert b"KeyboardInterrupt" not in adapter.stderr_path.read_bytes()


def test_an_unreadable_message_is_answered_and_the_session_goes_on(sessions):
    adapter = Adapter(sessions)
    broken = b'{"seq": 77, "type": "request", "comman'
    adapter.client.send_raw(b"Content-Length: %d\r\n\r\n" % len(broken) + broken)
    response = adapter.client.wait_response(77)
    assert not response["success"] and "malformed JSON" in response["message"]
    assert "supportsConfigurationDoneRequest" in adapter.initialize()


def test_log_dir_writes_the_adapters_log(sessions, tmp_path):
    logs = tmp_path / "logs"
    path = sessions.program("print('logged')\n")
    adapter = Adapter(sessions, args=("--log-dir", str(logs)))
    assert adapter.launch({"program": path})["success"]
    adapter.client.wait_event("terminated")
    adapter.client.ok("disconnect")
    assert adapter.wait() == 0
    names = sorted(p.name for p in logs.iterdir())
    assert any(n.startswith("pydbg-adapter-") for n in names), names
    assert any(n.startswith("pydbg-") and not n.startswith("pydbg-adapter-") for n in names), "the debuggee logs too"
    assert adapter.stderr_path.read_bytes() == b""
