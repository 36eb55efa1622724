"""Faults a debugger must survive: clients that stall, send garbage or lie about sizes, code that
never returns, signals while stopped, and programs that end in odd ways while threads are stopped.
(Other faults have tests next to the feature they hit: test_protocol.py, test_inspection.py,
test_subprocesses.py, test_security.py.)"""

import os
import random
import signal
import time

import pytest

from conftest import line_of
from dap_client import DapClient
from test_adapter import Adapter

# Runs until the file named by its first argument exists.
WAITING = """
import os, sys, time
deadline = time.monotonic() + 30
while not os.path.exists(sys.argv[1]) and time.monotonic() < deadline:
    time.sleep(0.01)
print("finished", time.monotonic() < deadline)  # stop here
"""


def start_waiting(sessions, pydbg_args=("--wait-for-client",)):
    path = sessions.program(WAITING)
    flag = sessions.tmp_path / "finish"
    return path, flag, sessions.start([path, str(flag)], pydbg_args=pydbg_args)


def closed_by_server(client, timeout):
    deadline = time.monotonic() + timeout
    while not client.closed and time.monotonic() < deadline:
        time.sleep(0.05)
    return client.closed


def peak_rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmHWM:"))


def finish_waiting(client, path, flag, debuggee):
    client.ok("setBreakpoints", {"source": {"path": path}, "breakpoints": [{"line": line_of(path, "# stop here")}]})
    flag.write_text("")
    client.ok("continue", {"threadId": client.wait_stopped()["threadId"]})
    assert debuggee.wait() == 0 and b"finished True" in debuggee.stdout


# ------------------------------------------------------------------------------------ clients

def test_a_half_written_message_then_silence_frees_the_port_for_the_next_client(sessions):
    path, flag, debuggee = start_waiting(sessions, pydbg_args=())
    stalled = sessions.client(debuggee)
    stalled.send_raw(b'Content-Length: 200\r\n\r\n{"seq": 1, "type": "requ')
    started = time.monotonic()
    assert closed_by_server(stalled, timeout=10), "the stalled client still holds the connection"
    assert 4 < time.monotonic() - started < 9
    assert debuggee.process.poll() is None
    client = sessions.client(debuggee)
    client.handshake()
    finish_waiting(client, path, flag, debuggee)


def test_a_content_length_of_2_gb_is_refused_without_allocating_it(sessions):
    path, flag, debuggee = start_waiting(sessions, pydbg_args=())
    client = sessions.client(debuggee)
    client.handshake()
    before = peak_rss_kb(debuggee.process.pid)
    client.send_raw(b"Content-Length: 2147483648\r\n\r\n")
    assert client.ok("threads")["threads"]
    client.wait_output("exceeds the limit", category="console")
    # A length under the limit, never sent in full: nothing is reserved for it either.
    client.send_raw(b"Content-Length: 60000000\r\n\r\n{")
    time.sleep(0.5)
    assert peak_rss_kb(debuggee.process.pid) - before < 20_000
    client.close()
    client = sessions.client(debuggee)  # the cut-short message ended that connection
    client.handshake()
    finish_waiting(client, path, flag, debuggee)


def test_garbage_bytes_then_a_request_is_answered(sessions):
    path, flag, debuggee = start_waiting(sessions, pydbg_args=())
    client = sessions.client(debuggee)
    client.handshake()
    client.send_raw(random.Random(7).randbytes(64 * 1024) + b"\r\n\r\n")
    client.send_raw(b"Content-Length: 7\r\n\r\nnotjson\r\n\r\n")
    assert client.ok("threads")["threads"]
    finish_waiting(client, path, flag, debuggee)


def test_a_client_that_never_gives_the_token_is_dropped_and_the_next_is_admitted(sessions):
    path, flag, debuggee = start_waiting(sessions, pydbg_args=("--access-token", "s3cret"))
    silent = DapClient.connect(debuggee.port)
    sessions.clients.append(silent)
    started = time.monotonic()
    assert closed_by_server(silent, timeout=15), "the silent client still holds the connection"
    assert 8 < time.monotonic() - started < 14
    client = sessions.client(debuggee)
    client.handshake(attach_args={"accessToken": "s3cret"})
    finish_waiting(client, path, flag, debuggee)


# ------------------------------------------------------------------------------------ evaluation

ENDLESS = "sum(1 for _ in iter(int, 1))"  # iter(int, 1) never ends: int() is 0


@pytest.mark.parametrize("through", ["core", "adapter"])
def test_cancel_ends_an_evaluate_that_never_returns(sessions, through):
    source = """
    value = 41
    value += 1  # stop here
    print("value", value)
    """
    if through == "core":
        client = sessions.launch(source, breakpoints=[line_of(sessions.program(source), "# stop here")])
        debuggee_wait = client.debuggee.wait
    else:
        path = sessions.program(source)
        adapter = Adapter(sessions)
        client = adapter.client
        assert adapter.launch({"program": path}, breakpoints={path: [line_of(path, "# stop here")]})["success"]
        debuggee_wait = None
    assert client.received[0]["body"]["supportsCancelRequest"] is True
    frame_id = client.top_frame(client.wait_stopped()["threadId"])["id"]
    # A request that is already answered, or never was, cancels nothing.
    assert client.request("cancel", {"requestId": 99999})["success"] is True
    seq = client.start_request("evaluate", {"expression": ENDLESS, "frameId": frame_id, "context": "repl"})
    time.sleep(0.3)
    assert client.request("cancel", {"requestId": seq})["success"] is True
    response = client.wait_response(seq, timeout=5)
    assert response["success"] is False and response["message"] == "cancelled"
    # The thread is still stopped and usable, and no interrupt is left over for the program.
    assert client.ok("evaluate", {"expression": "value * 2", "frameId": frame_id})["result"] == "82"
    client.ok("continue", {"threadId": 1})
    if debuggee_wait:
        assert debuggee_wait() == 0
    assert client.wait_event("exited")["body"]["exitCode"] == 0
    assert "value 42" in client.output()


def test_a_repr_that_recurses_forever_is_shown_not_fatal(sessions):
    source = """
    class Loop:
        def __repr__(self):
            return repr(self)

    thing = Loop()
    done = True  # stop here
    """
    client = sessions.launch(source, breakpoints=[line_of(sessions.program(source), "# stop here")])
    frame_id = client.top_frame(client.wait_stopped()["threadId"])["id"]
    shown = client.locals_of(frame_id)["thing"]["value"]
    assert "RecursionError" in shown
    assert "RecursionError" in client.request("evaluate", {"expression": "repr(thing)", "frameId": frame_id,
                                                           "context": "repl"})["message"]
    assert client.ok("evaluate", {"expression": "1 + 1", "frameId": frame_id})["result"] == "2"
    client.ok("continue", {"threadId": 1})
    assert client.debuggee.wait() == 0


# ------------------------------------------------------------------------------------ process

STOPPED_MAIN = """
import signal, sys
if sys.argv[1] == "handler":
    signal.signal(signal.SIGTERM, lambda *_: (print("handled SIGTERM"), sys.exit(3)))
x = 1  # stop here
print("resumed")
"""


@pytest.mark.parametrize("signum, handler, expected_code", [
    (signal.SIGTERM, "default", -signal.SIGTERM),
    (signal.SIGTERM, "handler", 3),
    (signal.SIGINT, "default", 130),
])
def test_a_signal_while_stopped_takes_effect_as_the_program_resumes(sessions, signum, handler, expected_code):
    """A default SIGTERM ends the process at once. A Python handler, and SIGINT's
    KeyboardInterrupt, run on the main thread: they take effect when it resumes, as Python itself
    would run them at its next instruction, and the stop stays inspectable until then."""
    path = sessions.program(STOPPED_MAIN)
    client = sessions.launch(STOPPED_MAIN, breakpoints=[line_of(path, "# stop here")], args=(handler,),
                             before_done=lambda c: c.ok("setExceptionBreakpoints", {"filters": []}))
    frame_id = client.top_frame(client.wait_stopped()["threadId"])["id"]
    os.kill(client.debuggee.process.pid, signum)
    time.sleep(0.3)
    if expected_code < 0:
        assert client.debuggee.wait(timeout=5) == expected_code
        return
    assert client.debuggee.process.poll() is None
    assert client.ok("evaluate", {"expression": "len(sys.argv)", "frameId": frame_id})["result"] == "2"
    client.ok("continue", {"threadId": 1})
    assert client.debuggee.wait(timeout=10) == expected_code
    assert b"resumed" not in client.debuggee.stdout


def test_os_exit_while_another_thread_is_stopped(sessions):
    source = """
    import os, threading, time
    def worker():
        x = 1  # worker stop
        time.sleep(30)
    threading.Thread(target=worker, daemon=True).start()
    time.sleep(0.3)
    os._exit(5)
    """
    path = sessions.program(source)
    client = sessions.launch(source, breakpoints=[line_of(path, "# worker stop")])
    worker = client.wait_stopped()["threadId"]
    assert worker != 1 and client.top_frame(worker)["name"] == "worker"
    # The main thread goes on alone, and ends the process while the worker is stopped.
    client.ok("continue", {"threadId": 1, "singleThread": True})
    assert client.debuggee.wait(timeout=5) == 5
    assert closed_by_server(client, timeout=5)


def test_the_program_ends_while_a_daemon_thread_is_stopped(sessions):
    source = """
    import threading, time
    def daemon():
        while True:
            tick = 1  # daemon stop
            time.sleep(0.01)
    threading.Thread(target=daemon, daemon=True).start()
    time.sleep(0.3)
    print("main ends")
    """
    path = sessions.program(source)
    client = sessions.launch(source, breakpoints=[line_of(path, "# daemon stop")])
    daemon = client.wait_stopped()["threadId"]
    assert daemon != 1
    client.ok("continue", {"threadId": 1, "singleThread": True})
    # The interpreter shuts down with the daemon thread parked in pydbg: it must not hang.
    assert client.debuggee.wait(timeout=10) == 0
    assert b"main ends" in client.debuggee.stdout
    assert client.wait_event("exited")["body"]["exitCode"] == 0


def test_an_atexit_handler_stops_at_its_breakpoint(sessions):
    source = """
    import atexit
    def goodbye():
        words = "goodbye"  # atexit stop
        print(words)
    atexit.register(goodbye)
    print("main done")
    """
    path = sessions.program(source)
    client = sessions.launch(source, breakpoints=[line_of(path, "# atexit stop")])
    stop = client.wait_stopped()
    assert client.top_frame(stop["threadId"])["name"] == "goodbye"
    client.wait_output("main done", "stdout")  # events may trail the exit
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 0
    assert client.wait_event("exited")["body"]["exitCode"] == 0
    assert client.debuggee.stdout.decode().split() == ["main", "done", "goodbye"]


CYTHON_MODULE = """
cdef class Counter:
    cdef public int count
    def __init__(self, int start):
        self.count = start

def apply_twice(callback, int value):
    cdef int once = callback(value)
    return callback(once)
"""


def test_cython_code_calls_back_into_a_stop_and_its_objects_are_inspected(sessions):
    """Compiled code has no Python frame: the stack goes from the callback straight to the
    Python code that called into the extension, and extension types show their attributes."""
    import subprocess

    from dap_client import console_script

    module = sessions.tmp_path / "fastmod.pyx"
    module.write_text(CYTHON_MODULE)
    built = subprocess.run([console_script("cythonize"), "-i", "-q", str(module)], cwd=sessions.tmp_path,
                           capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    source = """
    import fastmod
    counter = fastmod.Counter(5)

    def double(n):
        result = n * 2  # callback stop
        return result

    print("total", fastmod.apply_twice(double, 3))
    """
    path = sessions.program(source)
    client = sessions.launch(source, breakpoints=[line_of(path, "# callback stop")])
    seen = []
    for _ in range(2):
        stop = client.wait_stopped()
        frames = client.ok("stackTrace", {"threadId": stop["threadId"]})["stackFrames"]
        assert [f["name"] for f in frames[:2]] == ["double", "<module>"]
        seen.append(client.locals_of(frames[0]["id"])["n"]["value"])
        module_frame = frames[1]["id"]
        counter = client.locals_of(module_frame)["counter"]
        assert "fastmod.Counter" in counter["type"] or "Counter" in counter["value"]
        fields = client.ok("variables", {"variablesReference": counter["variablesReference"]})["variables"]
        assert any(v["name"] == "count" and v["value"] == "5" for v in fields)
        assert client.ok("evaluate", {"expression": "fastmod.apply_twice(lambda v: v + 1, counter.count)",
                                      "frameId": module_frame, "context": "repl"})["result"] == "7"
        client.ok("continue", {"threadId": stop["threadId"]})
    assert seen == ["3", "6"]
    assert client.debuggee.wait() == 0
    client.wait_output("total 12", "stdout")  # events may trail the exit


def test_an_evaluate_without_a_frame_holds_up_nothing_and_can_be_cancelled(sessions):
    """Without a frameId the evaluate runs on one of pydbg's threads: other requests that need
    Python (setBreakpoints, cancel) are still served while it runs."""
    path, flag, debuggee = start_waiting(sessions, pydbg_args=())
    client = sessions.client(debuggee)
    client.handshake()
    seq = client.start_request("evaluate", {"expression": ENDLESS, "context": "repl"})
    time.sleep(0.3)
    set_at = client.ok("setBreakpoints", {"source": {"path": path},
                                          "breakpoints": [{"line": line_of(path, "# stop here")}]}, timeout=5)
    assert set_at["breakpoints"][0]["verified"] is True
    assert client.request("cancel", {"requestId": seq}, timeout=5)["success"] is True
    response = client.wait_response(seq, timeout=5)
    assert response["success"] is False and response["message"] == "cancelled"
    flag.write_text("")
    client.ok("continue", {"threadId": client.wait_stopped()["threadId"]})
    assert debuggee.wait() == 0 and b"finished True" in debuggee.stdout
