"""The Python API (`pydbg.listen`, `connect`, `wait_for_client`, `is_client_connected`,
`breakpoint`) and the built-in `breakpoint()`, in programs run by plain `python`."""

import os
import socket
import subprocess
import sys

from conftest import line_of
from dap_client import DapClient


class ApiProgram:
    """A program run as `python app.py` that starts pydbg itself and prints `port N` first."""

    def __init__(self, sessions, source, env=None):
        self.path = sessions.program(source)
        self.process = subprocess.Popen([sys.executable, self.path], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        stdin=subprocess.DEVNULL, env=dict(os.environ, PYTHONUNBUFFERED="1", **(env or {})))
        sessions.debuggees.append(self)

    def client(self, sessions):
        self.printed_first = []
        while not (line := self.process.stdout.readline().decode()).startswith("port "):
            assert line, f"the program ended before listening: {self.process.stderr.read()}"
            self.printed_first.append(line)
        client = DapClient.connect(int(line.split()[1]))
        sessions.clients.append(client)
        return client

    def finish(self, timeout=15):
        out, err = self.process.communicate(timeout=timeout)
        return self.process.returncode, out.decode(), err.decode()

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


LISTENING_PROGRAM = """
import pydbg
print("connected before:", pydbg.is_client_connected())
host, port = pydbg.listen(("127.0.0.1", 0))
print("port", port)
pydbg.wait_for_client()
print("connected after:", pydbg.is_client_connected())
total = 41
breakpoint()  # builtin
total += 1
pydbg.breakpoint()  # api
print("total", total)
"""


def test_listen_wait_and_breakpoint_calls_stop_in_the_caller(sessions):
    program = ApiProgram(sessions, LISTENING_PROGRAM)
    client = program.client(sessions)
    client.handshake()
    stop = client.wait_stopped()
    assert stop["reason"] == "breakpoint"
    frame = client.top_frame(stop["threadId"])
    assert (frame["source"]["path"], frame["line"]) == (program.path, line_of(program.path, "# builtin"))
    assert client.locals_of(frame["id"])["total"]["value"] == "41"

    client.ok("next", {"threadId": stop["threadId"]})
    stop = client.wait_stopped()
    assert client.top_frame(stop["threadId"])["line"] == line_of(program.path, "total += 1")

    client.ok("continue", {"threadId": stop["threadId"]})
    stop = client.wait_stopped()
    frame = client.top_frame(stop["threadId"])
    assert frame["line"] == line_of(program.path, "# api")
    assert client.locals_of(frame["id"])["total"]["value"] == "42"

    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.wait_event("exited")["body"]["exitCode"] == 0
    code, out, err = program.finish()
    assert code == 0, err
    out = "".join(program.printed_first) + out
    assert "connected before: False" in out and "connected after: True" in out and "total 42" in out
    assert err == ""


def test_breakpoint_calls_do_nothing_without_a_client(sessions):
    program = ApiProgram(sessions, """
    import pydbg
    pydbg.breakpoint()          # before listen: nothing to stop in
    host, port = pydbg.listen(0)
    print("port", port, "on", host)
    breakpoint()                # nobody attached
    print("done")
    """)
    code, out, err = program.finish()
    assert code == 0, err
    assert "on 127.0.0.1" in out and "done" in out


def test_pythonbreakpoint_0_turns_the_builtin_off_but_not_pydbg_breakpoint(sessions):
    program = ApiProgram(sessions, LISTENING_PROGRAM, env={"PYTHONBREAKPOINT": "0"})
    client = program.client(sessions)
    client.handshake()
    stop = client.wait_stopped()
    assert client.top_frame(stop["threadId"])["line"] == line_of(program.path, "# api")
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.wait_event("exited")["body"]["exitCode"] == 0
    assert len(client.events("stopped")) == 1


def test_misuse_gets_clear_errors(sessions):
    program = ApiProgram(sessions, """
    import pydbg
    for call in (lambda: pydbg.wait_for_client(), lambda: pydbg.listen("5678"), lambda: pydbg.listen(70000)):
        try:
            call()
        except Exception as e:
            print(type(e).__name__, e)
    host, port = pydbg.listen(0)
    try:
        pydbg.listen(0)
    except RuntimeError as e:
        print("second:", e)
    try:
        pydbg.connect(("127.0.0.1", port))
    except RuntimeError as e:
        print("connect:", e)
    """)
    code, out, err = program.finish()
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "RuntimeError pydbg.wait_for_client(): call pydbg.listen() or pydbg.connect() first"
    assert lines[1].startswith("TypeError pydbg.listen() takes a port or a (host, port) pair")
    assert lines[2] == "ValueError pydbg.listen(): port 70000 is out of range (0-65535)"
    assert lines[3].startswith("second: pydbg.listen(): pydbg is already listening on 127.0.0.1:")
    assert lines[4].startswith("connect: pydbg.connect(): pydbg is already listening on")


def test_a_busy_port_is_an_error_and_listen_can_be_tried_again(sessions):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen(1)
        busy_port = busy.getsockname()[1]
        program = ApiProgram(sessions, f"""
        import pydbg
        try:
            pydbg.listen({busy_port})
        except RuntimeError as e:
            print("busy:", e)
        host, port = pydbg.listen(0)
        print("then", port > 0)
        """)
        code, out, err = program.finish()
    assert code == 0, err
    assert out.startswith(f"busy: pydbg.listen(): cannot listen on 127.0.0.1:{busy_port}")
    assert "then True" in out


def test_connect_dials_the_client_and_uncaught_exceptions_stop(sessions):
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(15)
        program = ApiProgram(sessions, f"""
        import pydbg
        pydbg.connect(("127.0.0.1", {server.getsockname()[1]}))
        pydbg.wait_for_client()
        def fail(n):
            raise ValueError(n)  # raises
        fail(3)
        """)
        connection, _ = server.accept()
    client = DapClient(connection)
    sessions.clients.append(client)
    client.handshake()
    stop = client.wait_stopped()
    assert stop["reason"] == "exception"
    frame = client.top_frame(stop["threadId"])
    assert frame["line"] == line_of(program.path, "# raises")
    assert client.locals_of(frame["id"])["n"]["value"] == "3"
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.wait_event("exited")["body"]["exitCode"] == 1
    code, out, err = program.finish()
    assert code == 1 and "ValueError: 3" in err
