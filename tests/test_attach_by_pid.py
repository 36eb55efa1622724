"""Attaching to a Python process that was started without pydbg, by its process id: `pydbg --pid`
and the adapter's `attach` with `processId`. pydbg is injected with gdb (3.12 and 3.13)."""

import os
import re
import subprocess
import sys
import threading
import time

from conftest import line_of
from dap_client import DapClient, console_script
from test_adapter import Adapter

BASE_PYTHON = getattr(sys, "_base_executable", sys.executable)

# The loop reports, every tenth turn, whether pydbg's monitoring is still on: its tool's global
# events, and its local events on the loop's own code.
LOOP = """
import sys, time
M = sys.monitoring
code = sys._getframe().f_code
print("ready", flush=True)
i = 0
while True:
    i += 1  # loop
    time.sleep(0.01)
    if i % 10 == 0:
        print("tick", i, M.get_events(M.DEBUGGER_ID), M.get_local_events(M.DEBUGGER_ID, code), flush=True)
"""

THREADS = """
import threading, time
def work():
    n = 0
    while True:
        n += 1  # worker
        time.sleep(0.01)
threading.Thread(target=work, name="worker", daemon=True).start()
print("ready", flush=True)
while True:
    time.sleep(0.01)  # main
"""


class RunningProgram:
    """A program run by plain `python`, without pydbg, whose output lines are collected."""

    def __init__(self, sessions, source, python=sys.executable, env=None):
        self.path = sessions.program(source)
        self.process = subprocess.Popen([python, "-u", self.path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        stdin=subprocess.DEVNULL, env=dict(os.environ, **(env or {})))
        self.pid = self.process.pid
        self.lines = []
        threading.Thread(target=self._read, daemon=True).start()
        sessions.debuggees.append(self)
        self.wait_for(lambda line: line == "ready")

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.decode().rstrip("\n"))

    def wait_for(self, predicate, after=0, timeout=15):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for line in self.lines[after:]:
                if predicate(line):
                    return line
            assert self.process.poll() is None, f"the program ended: {self.process.stderr.read().decode()}"
            time.sleep(0.01)
        raise AssertionError(f"no such line in {self.lines[-5:]}")

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()


def pydbg_pid(pid, *args):
    return subprocess.run([console_script("pydbg"), "--pid", str(pid), *args], capture_output=True, text=True,
                          timeout=60)


def attach(sessions, program, *args):
    """`pydbg --pid PID --listen 127.0.0.1:0`; returns the client connected to where it listens."""
    result = pydbg_pid(program.pid, "--listen", "127.0.0.1:0", *args)
    assert result.returncode == 0, result.stderr
    found = re.fullmatch(rf"pydbg: process {program.pid} is listening on 127\.0\.0\.1:(\d+)( \(pydbg was already there\))?\n",
                         result.stdout)
    assert found, result.stdout
    client = DapClient.connect(int(found[1]))
    sessions.clients.append(client)
    client.reused = bool(found[2])
    return client


def evaluate(client, expression, frame_id):
    return client.ok("evaluate", {"expression": expression, "frameId": frame_id, "context": "repl"})["result"]


def stop_in_loop_then_detach(client, program):
    line = line_of(program.path, "# loop")
    client.handshake({program.path: [line]})
    stop = client.wait_stopped()
    assert stop["reason"] == "breakpoint"
    frame = client.top_frame(stop["threadId"])
    assert (frame["name"], frame["line"]) == ("<module>", line)
    assert int(evaluate(client, "i", frame["id"])) > 0
    client.ok("disconnect")
    client.wait_closed()


def test_pid_attach_stops_in_a_running_loop_and_detach_leaves_it_running_without_monitoring(sessions):
    program = RunningProgram(sessions, LOOP)
    client = attach(sessions, program)
    assert not client.reused
    stop_in_loop_then_detach(client, program)
    # The program runs on, and pydbg's events are all off again.
    after = len(program.lines)
    program.wait_for(lambda line: line.startswith("tick"), after)
    last = program.wait_for(lambda line: line.startswith("tick"), len(program.lines))
    assert last.split()[2:] == ["0", "0"], last
    program.kill()
    assert program.process.stderr.read() == b"", "pydbg wrote to the program's stderr"


def test_attach_detach_and_attach_again_reuses_the_engine(sessions):
    program = RunningProgram(sessions, LOOP)
    first = attach(sessions, program)
    stop_in_loop_then_detach(first, program)
    second = attach(sessions, program)
    assert second.reused
    stop_in_loop_then_detach(second, program)
    program.wait_for(lambda line: line.startswith("tick"), len(program.lines))


def test_pause_stops_every_thread_of_an_attached_process_and_breakpoints_hit_in_threads(sessions):
    program = RunningProgram(sessions, THREADS)
    client = attach(sessions, program)
    client.handshake()
    threads = {t["name"]: t["id"] for t in client.ok("threads")["threads"]}
    assert {"MainThread", "worker"} <= set(threads), threads
    client.ok("pause", {"threadId": threads["MainThread"]})
    stop = client.wait_stopped()
    assert stop["reason"] == "pause" and stop["allThreadsStopped"]
    worker_line = line_of(program.path, "# worker")
    client.ok("setBreakpoints", {"source": {"path": program.path}, "breakpoints": [{"line": worker_line}]})
    client.ok("continue", {"threadId": stop["threadId"]})
    hit = client.wait_stopped()
    assert (hit["reason"], hit["threadId"]) == ("breakpoint", threads["worker"])
    frame = client.top_frame(hit["threadId"])
    assert frame["name"] == "work" and int(evaluate(client, "n", frame["id"])) > 0
    client.ok("disconnect")


def test_a_target_whose_venv_lacks_pydbg_gets_this_pydbg_and_nothing_else(sessions, tmp_path):
    venv = tmp_path / "bare-venv"
    subprocess.run([BASE_PYTHON, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    assert subprocess.run([python, "-c", "import pydbg"], capture_output=True).returncode != 0
    program = RunningProgram(sessions, LOOP, python=python)
    client = attach(sessions, program)
    client.handshake({program.path: [line_of(program.path, "# loop")]})
    frame = client.top_frame(client.wait_stopped()["threadId"])
    import pydbg
    package_dir = os.path.dirname(pydbg.__file__)
    injected = evaluate(client, "__import__('pydbg').__file__", frame["id"])
    assert injected.strip("'").startswith(package_dir + os.sep), injected
    # pydbg's site-packages was on the path only while pydbg was imported.
    assert os.path.dirname(package_dir) not in evaluate(client, "__import__('sys').path", frame["id"])
    client.ok("disconnect")


def test_the_adapter_attaches_by_process_id(sessions):
    program = RunningProgram(sessions, LOOP)
    adapter = Adapter(sessions)
    line = line_of(program.path, "# loop")
    adapter.handshake("attach", {"type": "pydbg", "request": "attach", "processId": str(program.pid)},
                      {program.path: [line]})
    client = adapter.client
    stop = client.wait_stopped()
    assert client.top_frame(stop["threadId"])["line"] == line
    assert client.wait_event("process")["body"]["systemProcessId"] == program.pid
    client.ok("disconnect")
    assert adapter.wait() == 0
    program.wait_for(lambda line: line.startswith("tick"), len(program.lines))


def test_the_adapter_explains_a_process_it_cannot_attach_to(sessions):
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        adapter = Adapter(sessions)
        adapter.initialize()
        response = adapter.client.request("attach", {"processId": sleeper.pid}, timeout=60)
        assert not response["success"]
        assert f"process {sleeper.pid} (" in response["message"] and "not a CPython" in response["message"]
    finally:
        sleeper.kill()
        sleeper.wait()


def test_clear_errors_for_processes_pydbg_cannot_attach_to(sessions):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    result = pydbg_pid(gone.pid)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == f"pydbg: no process has id {gone.pid}\n"

    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        result = pydbg_pid(sleeper.pid)
        assert result.returncode == 1
        assert re.fullmatch(rf"pydbg: process {sleeper.pid} \(\S*sleep\) is not a CPython 3.12 or newer: "
                            r"it has no Py_Version symbol\n", result.stderr), result.stderr
    finally:
        sleeper.kill()
        sleeper.wait()

    # Debian's own Python, 3.11 on these machines.
    old = RunningProgram(sessions, "import time\nprint('ready', flush=True)\ntime.sleep(60)\n",
                         python="/usr/bin/python3.11")
    result = pydbg_pid(old.pid)
    assert result.returncode == 1
    assert result.stderr.endswith("runs Python 3.11: pydbg needs Python 3.12 or newer\n"), result.stderr

    # A process another debugger holds: gdb attached, running a shell command that takes a while.
    holder = subprocess.Popen(["gdb", "-nx", "-batch", "-p", str(old.pid), "-ex", "shell sleep 30"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 15
        while "TracerPid:\t0" in open(f"/proc/{old.pid}/status").read():
            assert time.monotonic() < deadline, "gdb never attached"
            time.sleep(0.05)
        result = pydbg_pid(old.pid)
        assert result.returncode == 1
        assert f"is already being debugged or traced by process {holder.pid} (gdb): detach that first" \
            in result.stderr, result.stderr
    finally:
        holder.kill()
        holder.wait()

    # No gdb on the PATH.
    result = subprocess.run([console_script("pydbg"), "--pid", str(old.pid)], capture_output=True,
                            text=True, timeout=60, env=dict(os.environ, PATH="/nonexistent"))
    assert result.returncode == 1
    assert result.stderr == ("pydbg: gdb is needed to attach to Python 3.12 and 3.13 processes, and it is not "
                             "installed (on Debian or Ubuntu: apt-get install gdb)\n"), result.stderr

    assert pydbg_pid("x").stderr == "pydbg: --pid needs a process id, got 'x'\n"
    assert "takes no program" in pydbg_pid(os.getpid(), "app.py").stderr


def test_a_main_thread_that_runs_no_python_code_is_a_timeout_and_the_late_bootstrap_does_nothing(sessions):
    program = RunningProgram(sessions, """
    import select, sys
    print("ready", flush=True)
    select.select([], [], [], 17)  # in C, past pydbg's 15 s
    print("pydbg loaded:", "pydbg" in sys.modules, flush=True)
    """)
    result = pydbg_pid(program.pid)
    assert result.returncode == 1
    assert "ran no Python code within 15s of the start of the attach" in result.stderr and "blocked" in result.stderr, result.stderr
    # The bootstrap runs once the main thread is back in Python, sees it is too late, and leaves.
    assert program.wait_for(lambda line: line.startswith("pydbg loaded:"), timeout=10) == "pydbg loaded: False"
    assert program.process.wait(timeout=10) == 0


def test_a_target_named_python3_14_goes_through_pep_768_with_its_own_interpreter(sessions, tmp_path):
    """3.14 cannot be installed here. A 3.12/3.13 binary copied under the name python3.14 takes
    the 3.14 path up to the call: pydbg runs that binary to call sys.remote_exec, which this
    version lacks, and says so; no gdb touches the process."""
    fake = tmp_path / "python3.14"
    fake.write_bytes(open(os.path.realpath(BASE_PYTHON), "rb").read())
    fake.chmod(0o755)
    home = sys.base_prefix
    program = RunningProgram(sessions, LOOP, python=str(fake), env={"PYTHONHOME": home})
    result = pydbg_pid(program.pid)
    assert result.returncode == 1
    assert result.stderr == (f"pydbg: sys.remote_exec could not reach process {program.pid} ({fake}): "
                             "AttributeError: module 'sys' has no attribute 'remote_exec'\n"), result.stderr
    assert "TracerPid:\t0" in open(f"/proc/{program.pid}/status").read()
    program.wait_for(lambda line: line.startswith("tick"), len(program.lines))


def test_an_injection_leaves_no_files_behind(sessions, tmp_path):
    program = RunningProgram(sessions, LOOP)
    temporary = tmp_path / "tmp"
    temporary.mkdir()
    result = subprocess.run([console_script("pydbg"), "--pid", str(program.pid), "--listen", "127.0.0.1:0"],
                            capture_output=True, text=True, timeout=60, env=dict(os.environ, TMPDIR=str(temporary)))
    assert result.returncode == 0, result.stderr
    assert os.listdir(temporary) == []
