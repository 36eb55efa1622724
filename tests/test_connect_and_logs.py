"""`--connect` (the debuggee dials the client) and pydbg's own logs."""

import os
import socket
import subprocess
import sys

import pytest

from conftest import line_of
from dap_client import DapClient


def test_connect_dials_a_listening_client(sessions):
    path = sessions.program("""
    value = 41
    value += 1  # stop
    print("value", value)
    """)
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        server.settimeout(15)
        port = server.getsockname()[1]
        process = subprocess.Popen([sys.executable, "-m", "pydbg", "--connect", f"127.0.0.1:{port}",
                                    "--wait-for-client", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            connection, _ = server.accept()
            client = DapClient(connection)
            sessions.clients.append(client)
            client.handshake({path: [line_of(path, "# stop")]})
            stop = client.wait_stopped()
            frame = client.top_frame(stop["threadId"])
            assert client.locals_of(frame["id"])["value"]["value"] == "41"
            client.ok("continue", {"threadId": stop["threadId"]})
            assert client.wait_event("exited")["body"]["exitCode"] == 0
            out, err = process.communicate(timeout=15)
            assert process.returncode == 0 and b"value 42" in out and err == b""
        finally:
            if process.poll() is None:
                process.kill()


def test_connect_to_nobody_is_one_clear_line(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: nobody listens here
    program = tmp_path / "app.py"
    program.write_text("pass\n")
    result = subprocess.run([sys.executable, "-m", "pydbg", "--connect", f"127.0.0.1:{port}", str(program)],
                            capture_output=True, text=True, timeout=15)
    assert result.returncode != 0
    assert result.stderr.count("\n") == 1 and f"127.0.0.1:{port}" in result.stderr
    assert "Traceback" not in result.stderr


def test_log_dir_writes_a_log_and_prints_nothing(sessions, tmp_path):
    logs = tmp_path / "logs"
    path = sessions.program("x = 1  # stop\n")
    debuggee = sessions.start([path], pydbg_args=("--wait-for-client", "--log-dir", str(logs)))
    client = sessions.client(debuggee)
    client.handshake({path: [1]})
    client.ok("continue", {"threadId": client.wait_stopped()["threadId"]})
    assert debuggee.wait() == 0
    assert debuggee.stdout == b"" and debuggee.stderr == b""
    (log,) = os.listdir(logs)
    assert log == f"pydbg-{debuggee.process.pid}.log"
    text = (logs / log).read_text()
    assert "client connected" in text and "parked" in text


def test_nothing_is_printed_without_logging(sessions):
    path = sessions.program("x = 1  # stop\n")
    debuggee = sessions.start([path])
    client = sessions.client(debuggee)
    client.handshake({path: [1]})
    client.ok("continue", {"threadId": client.wait_stopped()["threadId"]})
    assert debuggee.wait() == 0
    assert debuggee.stdout == b"" and debuggee.stderr == b""


def test_stop_on_entry_and_the_process_event_name(sessions):
    path = sessions.program("""
    import sys
    value = 1
    """)
    debuggee = sessions.start([path])
    client = sessions.client(debuggee)
    client.handshake(attach_args={"stopOnEntry": True})
    stop = client.wait_stopped()
    assert stop["reason"] == "entry" and client.top_frame(stop["threadId"])["line"] == 1
    assert client.wait_event("process")["body"]["name"] == path
    client.ok("continue", {"threadId": stop["threadId"]})
    assert debuggee.wait() == 0


@pytest.mark.parametrize("sigint_ignored", [False, True], ids=["sigint-default", "sigint-ignored"])
def test_terminate_while_the_program_waits_for_configuration(sessions, sigint_ignored):
    path = sessions.program("print('never runs')\n")
    debuggee = sessions.start([path], sigint_ignored=sigint_ignored)
    client = sessions.client(debuggee)
    client.ok("initialize", {"adapterID": "pydbg"})
    client.ok("attach", {})
    client.ok("terminate")
    assert client.wait_event("exited")["body"]["exitCode"] == 130
    assert debuggee.wait(timeout=5) == 130
    assert b"never runs" not in debuggee.stdout and b"Traceback" not in debuggee.stderr


def test_redirect_output_false_keeps_program_output_out_of_events(sessions):
    path = sessions.program("""
    import sys
    print("to stdout")
    print("to stderr", file=sys.stderr)
    """)
    debuggee = sessions.start([path])
    client = sessions.client(debuggee)
    client.handshake(attach_args={"redirectOutput": False})
    assert client.wait_event("exited")["body"]["exitCode"] == 0
    assert client.output("stdout") == "" and client.output("stderr") == ""
    debuggee.wait()
    assert b"to stdout" in debuggee.stdout and b"to stderr" in debuggee.stderr
