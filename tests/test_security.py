"""Who can reach a debug port, and what they get: loopback by default, a warning on any other
address, and the access token (`--access-token`, PYDBG_ACCESS_TOKEN, `pydbg.listen(access_token=)`,
the adapter's `accessToken`). See docs/security.md."""

import os
import socket
import subprocess
import sys
import time

import pytest

from conftest import line_of
from dap_client import DapClient, free_port
from test_adapter import Adapter
from test_python_api import ApiProgram

TOKEN = "correct-horse-battery-staple"

# Runs until the file named by its first argument exists, so a refused client can be shown to
# leave it running.
WAITING_PROGRAM = """
import os, sys, time
deadline = time.monotonic() + 30
rounds = 0
while not os.path.exists(sys.argv[1]) and time.monotonic() < deadline:
    rounds += 1
    time.sleep(0.01)
value = "admitted"  # stop here
print("token in environment:", "PYDBG_ACCESS_TOKEN" in os.environ)
print("finished", rounds > 0)
"""

INITIALIZE = {"clientID": "pydbg-tests", "adapterID": "pydbg", "linesStartAt1": True, "columnsStartAt1": True,
              "pathFormat": "path"}


def listening_state(port):
    """The local address (hex, as /proc/net/tcp shows it) of the socket listening on `port`."""
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for row in f.readlines()[1:]:
                local, state = row.split()[1], row.split()[3]
                address, port_hex = local.rsplit(":", 1)
                if int(port_hex, 16) == port and state == "0A":
                    return address
    return None


def is_closed_by_server(client, timeout=5):
    deadline = time.monotonic() + timeout
    while not client.closed and time.monotonic() < deadline:
        time.sleep(0.02)
    return client.closed


def start_waiting(sessions, pydbg_args=(), env=None):
    path = sessions.program(WAITING_PROGRAM)
    flag = sessions.tmp_path / "finish"
    debuggee = sessions.start([path, str(flag)], pydbg_args=pydbg_args, env=env)
    return path, flag, debuggee


def admitted_session(sessions, debuggee, path, attach_args):
    client = sessions.client(debuggee)
    client.handshake({path: [line_of(path, "# stop here")]}, attach_args=attach_args)
    return client


def test_listen_binds_loopback_by_default_and_says_nothing(sessions):
    path, flag, debuggee = start_waiting(sessions)
    client = admitted_session(sessions, debuggee, path, {})
    assert listening_state(debuggee.port) == "0100007F"  # 127.0.0.1
    flag.write_text("")
    client.ok("continue", {"threadId": client.wait_stopped()["threadId"]})
    assert debuggee.wait() == 0
    assert debuggee.stderr == b""


@pytest.mark.parametrize("token", [None, TOKEN])
def test_listening_on_every_address_warns_once(sessions, token):
    pydbg_args = ["--listen", f"0.0.0.0:{free_port()}"]
    if token:
        pydbg_args += ["--access-token", token]
    path, flag, debuggee = start_waiting(sessions, pydbg_args=pydbg_args)
    debuggee.port = int(pydbg_args[1].rsplit(":", 1)[1])
    client = admitted_session(sessions, debuggee, path, {"accessToken": token} if token else {})
    assert listening_state(debuggee.port) == "00000000"
    flag.write_text("")
    client.ok("continue", {"threadId": client.wait_stopped()["threadId"]})
    assert debuggee.wait() == 0
    warnings = debuggee.stderr.decode().splitlines()
    assert len(warnings) == 1 and warnings[0].startswith("pydbg: warning: listening on 0.0.0.0:")
    assert "SSH tunnel" in warnings[0]
    if token:
        assert "unencrypted" in warnings[0] and token not in warnings[0]
    else:
        assert "run any code as this user" in warnings[0] and "access token" in warnings[0]


@pytest.mark.parametrize("first_request, expected", [
    ("threads", "before the access token"),
    ("attach-without", "requires an access token"),
    ("attach-wrong", "access token is wrong"),
    ("launch-wrong", "access token is wrong"),
    ("garbage", None),
])
def test_a_client_without_the_token_is_refused_and_the_next_one_is_admitted(sessions, first_request, expected):
    path, flag, debuggee = start_waiting(sessions, pydbg_args=["--access-token", TOKEN])
    intruder = sessions.client(debuggee)
    assert intruder.ok("initialize", INITIALIZE)["supportsConfigurationDoneRequest"] is True
    intruder.wait_event("initialized")
    if first_request == "garbage":
        intruder.send_raw(b"Content-Length: 5\r\n\r\nhello")
    else:
        command, _, token = first_request.partition("-")
        arguments = {"accessToken": "wrong-token"} if token == "wrong" else {}
        response = intruder.request(command, arguments)
        assert response["success"] is False and expected in response["message"]
    assert is_closed_by_server(intruder)
    # The intruder saw the initialize exchange and its refusal, and nothing of the program.
    assert [e["event"] for e in intruder._events] == ["initialized"]
    assert debuggee.process.poll() is None, "the program keeps running"

    client = admitted_session(sessions, debuggee, path, {"accessToken": TOKEN})
    flag.write_text("")
    stop = client.wait_stopped()
    frame = client.top_frame(stop["threadId"])
    assert frame["line"] == line_of(path, "# stop here")
    assert int(client.locals_of(frame["id"])["rounds"]["value"]) > 0
    client.ok("continue", {"threadId": stop["threadId"]})
    assert debuggee.wait() == 0
    assert b"finished True" in debuggee.stdout


def test_the_token_from_the_environment_is_hidden_from_the_program_and_the_log(sessions, tmp_path):
    log_dir = tmp_path / "logs"
    path, flag, debuggee = start_waiting(sessions, pydbg_args=["--log-dir", str(log_dir)],
                                         env={"PYDBG_ACCESS_TOKEN": TOKEN, "PYDBG_LOG": "debug"})
    refused = sessions.client(debuggee)
    refused.ok("initialize", INITIALIZE)
    assert "wrong" in refused.request("attach", {"accessToken": TOKEN + "x"})["message"]
    assert is_closed_by_server(refused)
    client = admitted_session(sessions, debuggee, path, {"accessToken": TOKEN})
    flag.write_text("")
    client.ok("continue", {"threadId": client.wait_stopped()["threadId"]})
    assert debuggee.wait() == 0
    assert b"token in environment: False" in debuggee.stdout
    log = "".join(p.read_text() for p in log_dir.iterdir())
    assert '"attach"' in log or "attach" in log, "the wire log was written"
    assert TOKEN not in log and "<redacted>" in log


def test_the_python_api_takes_an_access_token(sessions):
    program = ApiProgram(sessions, f"""
    import pydbg
    host, port = pydbg.listen(("127.0.0.1", 0), access_token={TOKEN!r})
    print("port", port)
    pydbg.wait_for_client()
    pydbg.breakpoint()
    print("done")
    """)
    port_line = program.process.stdout.readline().decode()
    refused = DapClient.connect(int(port_line.split()[1]))
    sessions.clients.append(refused)
    assert refused.request("attach", {})["success"] is False
    assert is_closed_by_server(refused)
    client = DapClient.connect(int(port_line.split()[1]))
    sessions.clients.append(client)
    client.handshake(attach_args={"accessToken": TOKEN})
    client.ok("continue", {"threadId": client.wait_stopped()["threadId"]})
    code, out, err = program.finish()
    assert code == 0 and "done" in out and err == ""


def test_the_adapter_passes_the_token_through(sessions):
    path, flag, debuggee = start_waiting(sessions, env={"PYDBG_ACCESS_TOKEN": TOKEN})
    adapter = Adapter(sessions)
    client = adapter.client
    adapter.handshake("attach", {"type": "pydbg", "request": "attach", "connect": {"port": debuggee.port},
                                 "accessToken": TOKEN}, {path: [line_of(path, "# stop here")]})
    flag.write_text("")
    client.ok("continue", {"threadId": client.wait_stopped()["threadId"]})
    assert client.wait_event("exited")["body"]["exitCode"] == 0


def test_the_adapter_reports_a_wrong_token(sessions):
    path, flag, debuggee = start_waiting(sessions, env={"PYDBG_ACCESS_TOKEN": TOKEN})
    adapter = Adapter(sessions)
    client = adapter.client
    adapter.initialize()
    response = client.request("attach", {"type": "pydbg", "request": "attach", "connect": {"port": debuggee.port},
                                         "accessToken": "guess"})
    assert response["success"] is False and "access token is wrong" in response["message"]
    assert debuggee.process.poll() is None
    flag.write_text("")
    assert debuggee.wait() == 0


def test_connect_mode_sends_nothing_before_initialize(sessions):
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]
    path = sessions.program("""
    import threading, time
    print("output before any client spoke")
    threading.Thread(target=time.sleep, args=(0.1,)).start()
    time.sleep(3)
    """)
    process = subprocess.Popen([os.path.join(os.path.dirname(sys.executable), "pydbg"), "--connect",
                                f"127.0.0.1:{port}", path], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        server.settimeout(10)
        connection, _ = server.accept()
        connection.settimeout(0.8)
        with pytest.raises(socket.timeout):
            data = connection.recv(1)
            raise AssertionError(f"pydbg spoke first: {data!r}")
        client = DapClient(connection)
        connection.settimeout(None)
        assert client.ok("initialize", INITIALIZE)["supportsConfigurationDoneRequest"] is True
        assert client.received[0]["type"] == "response"
        client.close()
    finally:
        server.close()
        process.kill()
        process.communicate()


def test_clients_on_the_port_cannot_break_an_admitted_session(sessions):
    """A second connection waits (one client at a time) and its garbage reaches nobody."""
    path, flag, debuggee = start_waiting(sessions, pydbg_args=["--access-token", TOKEN])
    client = admitted_session(sessions, debuggee, path, {"accessToken": TOKEN})
    hostile = socket.create_connection(("127.0.0.1", debuggee.port))
    hostile.sendall(b"Content-Length: 99999999999\r\n\r\n" + os.urandom(256))
    flag.write_text("")
    stop = client.wait_stopped()
    client.ok("continue", {"threadId": stop["threadId"]})
    assert debuggee.wait() == 0
    hostile.close()
