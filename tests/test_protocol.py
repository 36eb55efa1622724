"""Protocol robustness: what pydbg does with odd, broken or badly timed input from a real client
over a real socket, and how the session and the program end."""

import json
import os
import socket
import struct
import time

import pytest

from conftest import line_of
from dap_client import DapClient

# A program that stays alive (about 10 s) so that the session is live while a test talks to it.
WAITING = """
import time
print("waiting", flush=True)
for i in range(200):
    time.sleep(0.05)  # loop
print("done waiting")
"""

# A program with a breakpoint target inside a loop that keeps running for a while.
LOOPING = """
import time
count = 0
for i in range(200):
    count += 1  # stop here
    time.sleep(0.05)
print("loop finished", count)
"""

# A short program: it prints a few lines, stops once, then prints more and exits with code 5.
SHORT = """
import sys
total = 0
for i in range(5):
    print("before", i)
print("reached the stop")
total = 10  # stop here
for i in range(5):
    print("after", i)
print("finished total=%d" % total)
sys.exit(5)
"""

INIT_ARGS = {"clientID": "pydbg-tests", "adapterID": "pydbg", "linesStartAt1": True, "columnsStartAt1": True,
             "pathFormat": "path"}


def frame(body):
    data = body if isinstance(body, bytes) else json.dumps(body).encode()
    return b"Content-Length: %d\r\n\r\n" % len(data) + data


def stop_at(sessions, source, marker="# stop here", **kwargs):
    """Launches `source` with a breakpoint on the line holding `marker` and waits for the stop."""
    path = sessions.program(source)
    line = line_of(path, marker)
    client = sessions.launch(source, breakpoints=[line], **kwargs)
    stopped = client.wait_stopped()
    assert stopped["reason"] == "breakpoint", stopped
    assert client.top_frame(stopped["threadId"])["line"] == line
    return client, stopped["threadId"], line


def run_to_exit(client, expected_code):
    """Continues through the stop on the uncaught SystemExit (a non-zero exit counts as uncaught,
    as in debugpy) and checks the exit code the client is told."""
    stop = client.wait_stopped()
    assert stop["reason"] == "exception" and "SystemExit" in stop["text"], stop
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.wait_event("exited")["body"]["exitCode"] == expected_code


def manual_session(sessions, source):
    path = sessions.program(source)
    debuggee = sessions.start([path])
    client = sessions.client(debuggee)
    client.path = path
    client.debuggee = debuggee
    return client


def vanish(client, abort=False):
    """Drops the connection the way a crashed or killed client would: a FIN, or with `abort` a
    reset (RST). DapClient.close() alone is not enough: while its reader thread is blocked in
    recv() the kernel keeps the connection open."""
    if abort:
        client.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.sock.shutdown(socket.SHUT_RD)  # wakes the reader thread; sends nothing
        client._reader.join(timeout=5)
        client.sock.close()  # with linger 0: a reset
    else:
        client.sock.shutdown(socket.SHUT_RDWR)
        client.sock.close()


def threads_ok(client):
    threads = client.ok("threads")["threads"]
    assert isinstance(threads, list) and threads, threads
    return threads


# ------------------------------------------------------------------ bad input


def test_unknown_command_fails_and_connection_stays_up(sessions):
    client = sessions.launch(WAITING)
    response = client.request("frobnicateTheWidget", {"x": 1})
    assert response["success"] is False
    assert response["command"] == "frobnicateTheWidget"
    assert "frobnicateTheWidget" in response["message"]
    threads_ok(client)


def test_malformed_json_with_recoverable_seq_gets_error_response(sessions):
    client = sessions.launch(WAITING)
    client.send_raw(frame(b'{"seq": 9001, "type": "request", "command": "threads", "arguments": {'))
    response = client.wait_response(9001)
    assert response["success"] is False
    assert response["request_seq"] == 9001
    assert response.get("message")
    threads_ok(client)


@pytest.mark.parametrize("header, mentioned", [
    (b"Content-Length: abc\r\n\r\n", "abc"),
    (b"X-Nothing-Useful: 1\r\n\r\n", "Content-Length"),
], ids=["not-a-number", "no-content-length"])
def test_bad_header_block_is_reported_and_reading_resumes(sessions, header, mentioned):
    client = sessions.launch(WAITING)
    before = client.event_count()
    client.send_raw(header)
    event = client.wait_event("output", after=before, predicate=lambda body: mentioned in body.get("output", ""))
    assert event["body"].get("category") in (None, "console", "important")
    threads_ok(client)


def test_bad_header_then_request_in_the_same_write(sessions):
    client = sessions.launch(WAITING)
    before = client.event_count()
    request = {"seq": 7001, "type": "request", "command": "threads"}
    client.send_raw(b"Content-Length: abc\r\n\r\n" + frame(request))
    response = client.wait_response(7001)
    assert response["success"] is True
    assert response["body"]["threads"]
    client.wait_event("output", after=before, predicate=lambda body: "Content-Length" in body.get("output", ""))


@pytest.mark.parametrize("message", [
    {"seq": 8001, "type": "request"},
    {"seq": 8001, "type": "request", "command": 42},
    {"seq": 8001, "type": "banana", "command": "threads"},
], ids=["no-command", "command-not-a-string", "unknown-type"])
def test_invalid_message_with_seq_gets_error_response(sessions, message):
    client = sessions.launch(WAITING)
    client.send(message)
    response = client.wait_response(8001)
    assert response["success"] is False
    assert response.get("message")
    threads_ok(client)


def test_unreadable_body_without_seq_is_reported(sessions):
    client = sessions.launch(WAITING)
    before = client.event_count()
    client.send_raw(frame(b"\xff\xfe not json at all"))
    event = client.wait_event("output", after=before, predicate=lambda body: "unreadable" in body.get("output", ""))
    assert "malformed JSON" in event["body"]["output"]
    threads_ok(client)


def test_pipelined_requests_in_one_write_all_answered_in_order(sessions):
    client = sessions.launch(WAITING)
    seqs = list(range(6001, 6011))
    client.send_raw(b"".join(frame({"seq": seq, "type": "request", "command": "threads"}) for seq in seqs))
    responses = [client.wait_response(seq) for seq in seqs]
    assert all(r["success"] for r in responses)
    assert [r["seq"] for r in responses] == sorted(r["seq"] for r in responses)


def test_request_split_into_small_pieces(sessions):
    client = sessions.launch(WAITING)
    client.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    data = frame({"seq": 6101, "type": "request", "command": "threads"})
    for i in range(0, len(data), 3):
        client.send_raw(data[i:i + 3])
    assert client.wait_response(6101)["success"] is True


def test_large_request_body(sessions):
    client = sessions.launch(WAITING)
    padding = "x" * (4 * 1024 * 1024)
    response = client.request("threads", {"padding": padding})
    assert response["success"] is True
    threads_ok(client)


@pytest.mark.parametrize("command, arguments", [
    ("setBreakpoints", lambda path: {"source": {"path": path}, "breakpoints": "nope"}),
    ("setBreakpoints", lambda path: {"source": {"path": path}, "breakpoints": [{"line": "seven"}]}),
    ("stackTrace", lambda path: {"threadId": "1"}),
    ("continue", lambda path: {"threadId": "main"}),
    ("setFunctionBreakpoints", lambda path: {"breakpoints": {"name": "f"}}),
], ids=["breakpoints-string", "line-string", "stackTrace-threadId-string", "continue-threadId-string",
        "function-breakpoints-object"])
def test_wrong_argument_type_is_an_error_response(sessions, command, arguments):
    client = sessions.launch(WAITING)
    response = client.request(command, arguments(client.path))
    assert response["success"] is False, response
    assert "invalid arguments" in response["message"], response["message"]
    threads_ok(client)


def test_unknown_fields_in_arguments_are_ignored(sessions):
    client, thread, line = stop_at(sessions, SHORT)
    body = client.ok("setBreakpoints", {"source": {"path": client.path, "bogusSourceField": [1, 2]},
                                        "breakpoints": [{"line": line, "someFutureField": {"a": 1}}],
                                        "sourceModified": False, "notInTheSpec": True})
    assert [bp["verified"] for bp in body["breakpoints"]] == [True]
    assert client.ok("threads", {"unexpected": "yes"})["threads"]
    frames = client.ok("stackTrace", {"threadId": thread, "format": {"line": True}, "extra": None})["stackFrames"]
    assert frames[0]["line"] == line
    client.ok("continue", {"threadId": thread, "whatever": 1})
    run_to_exit(client, 5)


def test_requests_without_arguments_key_succeed(sessions):
    client = manual_session(sessions, WAITING)
    client.ok("initialize", INIT_ARGS)
    client.ok("attach", {})
    client.send({"seq": 501, "type": "request", "command": "configurationDone"})
    assert client.wait_response(501)["success"] is True
    client.send({"seq": 502, "type": "request", "command": "threads"})
    response = client.wait_response(502)
    assert response["success"] is True, response
    assert response["body"]["threads"]
    # configurationDone really took effect: the program, held by --wait-for-client, now runs.
    client.wait_output("waiting", category="stdout")


# ------------------------------------------------------------------ handshake


def test_initialize_capabilities_and_initialized_after_response(sessions):
    client = manual_session(sessions, WAITING)
    seq = client.start_request("initialize", INIT_ARGS)
    response = client.wait_response(seq)
    assert response["success"] is True
    capabilities = response["body"]
    for name in ("supportsConfigurationDoneRequest", "supportsConditionalBreakpoints",
                 "supportsHitConditionalBreakpoints", "supportsLogPoints", "supportsFunctionBreakpoints"):
        assert capabilities.get(name) is True, (name, capabilities)
    event = client.wait_event("initialized")
    received = list(client.received)
    assert received.index(response) < received.index(event)
    assert response["seq"] < event["seq"]
    client.ok("attach", {})
    client.ok("configurationDone")
    client.wait_output("waiting")


def test_launch_is_refused_with_a_hint_to_attach(sessions):
    client = manual_session(sessions, WAITING)
    client.ok("initialize", INIT_ARGS)
    client.wait_event("initialized")
    response = client.request("launch", {"program": client.path, "noDebug": False})
    assert response["success"] is False
    assert "attach" in response["message"], response["message"]
    # The session is still usable as an attach session.
    client.ok("attach", {})
    client.ok("configurationDone")
    client.wait_output("waiting")


def test_attach_before_initialized_event_is_awaited(sessions):
    path = sessions.program(SHORT)
    line = line_of(path, "# stop here")
    client = manual_session(sessions, SHORT)
    init_seq = client.start_request("initialize", INIT_ARGS)
    attach_seq = client.start_request("attach", {})
    assert client.wait_response(init_seq)["success"] is True
    assert client.wait_response(attach_seq)["success"] is True
    client.wait_event("initialized")
    body = client.ok("setBreakpoints", {"source": {"path": path}, "breakpoints": [{"line": line}]})
    assert body["breakpoints"][0]["verified"] is True
    client.ok("configurationDone")
    stopped = client.wait_stopped()
    assert stopped["reason"] == "breakpoint"
    assert client.top_frame(stopped["threadId"])["line"] == line
    client.ok("continue", {"threadId": stopped["threadId"]})
    run_to_exit(client, 5)


# ------------------------------------------------------------------ ending sessions


@pytest.mark.parametrize("abort", [False, True], ids=["fin", "reset"])
def test_client_vanishing_while_stopped_lets_program_finish(sessions, abort):
    client, thread, line = stop_at(sessions, SHORT)
    vanish(client, abort)
    code = client.debuggee.wait(timeout=5)
    out = client.debuggee.stdout.decode()
    assert code == 5, (code, client.debuggee.stderr.decode())
    assert out.splitlines() == [f"before {i}" for i in range(5)] + ["reached the stop"] + \
        [f"after {i}" for i in range(5)] + ["finished total=10"], out


def test_disconnect_while_stopped_lets_program_continue(sessions):
    program = SHORT.replace("sys.exit(5)", "sys.exit(0)")
    client, thread, line = stop_at(sessions, program)
    response = client.request("disconnect", {})
    assert response["success"] is True
    code = client.debuggee.wait(timeout=5)
    out = client.debuggee.stdout.decode()
    assert code == 0, (code, client.debuggee.stderr.decode())
    assert out.splitlines() == [f"before {i}" for i in range(5)] + ["reached the stop"] + \
        [f"after {i}" for i in range(5)] + ["finished total=10"], out
    assert "Traceback" not in client.debuggee.stderr.decode()


def test_disconnect_with_terminate_debuggee_ends_program(sessions):
    client, thread, line = stop_at(sessions, LOOPING)
    start = time.monotonic()
    response = client.request("disconnect", {"terminateDebuggee": True})
    assert response["success"] is True
    client.debuggee.wait(timeout=5)
    assert time.monotonic() - start < 5
    assert "loop finished" not in client.debuggee.stdout.decode()
    # Ending the program on request is not a crash: no KeyboardInterrupt traceback.
    assert "Traceback" not in client.debuggee.stderr.decode(), client.debuggee.stderr.decode()


@pytest.mark.parametrize("sigint_ignored", [False, True], ids=["sigint-default", "sigint-ignored"])
def test_terminate_ends_a_sleeping_program(sessions, sigint_ignored):
    client = sessions.launch("""
        import time
        print("sleeping", flush=True)
        while True:
            time.sleep(60)
    """, sigint_ignored=sigint_ignored)
    client.wait_output("sleeping", category="stdout")
    start = time.monotonic()
    assert client.request("terminate", {})["success"] is True
    exited = client.wait_event("exited", timeout=5)
    terminated = client.wait_event("terminated", timeout=5)
    events = [e for e in client.received if e.get("type") == "event"]
    assert events.index(exited) < events.index(terminated)
    code = client.debuggee.wait(timeout=5)
    assert time.monotonic() - start < 2.5, "interrupted at once, not ended by the fallback after 3 s"
    assert exited["body"]["exitCode"] == code == 130
    assert "Traceback" not in client.debuggee.stderr.decode(), client.debuggee.stderr.decode()


@pytest.mark.parametrize("sigint_ignored", [False, True], ids=["sigint-default", "sigint-ignored"])
def test_terminate_while_stopped_before_a_blocking_call_interrupts_it(sessions, sigint_ignored):
    """The stop releases the main thread into `time.sleep(60)`: the interrupt must still land,
    and `finally` blocks run, as with Ctrl-C, even in a program that inherited SIGINT ignored
    (whose SIGINT stays ignored)."""
    client = sessions.launch("""
        import signal, time
        print("sigint ignored:", signal.getsignal(signal.SIGINT) == signal.SIG_IGN, flush=True)
        try:
            print("ready", flush=True)  # stop
            time.sleep(60)
        finally:
            print("finally ran", flush=True)
    """, breakpoints=[4], sigint_ignored=sigint_ignored)
    client.wait_stopped()
    start = time.monotonic()
    assert client.request("terminate", {})["success"] is True
    code = client.debuggee.wait(timeout=10)
    assert time.monotonic() - start < 2.5, "interrupted at once, not ended by the fallback after 3 s"
    assert code == 130
    assert f"sigint ignored: {sigint_ignored}\n" in client.debuggee.stdout.decode()
    assert "finally ran" in client.debuggee.stdout.decode()
    assert "Traceback" not in client.debuggee.stderr.decode(), client.debuggee.stderr.decode()


def test_second_client_can_attach_after_disconnect(sessions):
    client, thread, line = stop_at(sessions, LOOPING)
    first_count = client.locals_of(client.top_frame(thread)["id"])["count"]["value"]
    assert client.request("disconnect", {})["success"] is True
    debuggee = client.debuggee
    assert debuggee.process.poll() is None, "the program ended instead of running on"

    second = sessions.client(debuggee)
    second.handshake({client.path: [line]})
    stopped = second.wait_stopped()
    assert stopped["reason"] == "breakpoint"
    top = second.top_frame(stopped["threadId"])
    assert top["line"] == line
    count = int(second.locals_of(top["id"])["count"]["value"])
    assert count > int(first_count), "the program should have run on between the two sessions"
    assert second.request("disconnect", {"terminateDebuggee": True})["success"] is True
    debuggee.wait(timeout=5)



def test_attach_names_the_debugpy_attributes_it_ignores_and_refuses_sudo(sessions):
    client = sessions.launch(WAITING, attach_args={"gevent": True, "django": False})
    warning = client.wait_event("output", lambda body: 'ignoring "gevent"' in body.get("output", ""))
    assert warning["body"]["category"] == "console"
    assert 'ignoring "django"' not in client.output("console")
    assert client.request("disconnect", {"terminateDebuggee": True})["success"] is True
    client.debuggee.wait(timeout=10)

    debuggee = sessions.start([sessions.program(WAITING)])
    refused = sessions.client(debuggee)
    refused.ok("initialize", {"clientID": "pydbg-tests", "adapterID": "pydbg"})
    answer = refused.request("attach", {"sudo": True})
    assert answer["success"] is False and '"sudo" is not supported' in answer["message"], answer
    assert refused.request("disconnect", {"terminateDebuggee": True})["success"] is True
    debuggee.wait(timeout=10)

# A loop whose one object takes 0.3 s to repr.
SLOW_REPR_LOOP = """
import time
class Slow:
    def __repr__(self):
        time.sleep(0.3)
        return "slow but shown"
slow = Slow()
count = 0
for i in range(400):
    count += 1  # stop here
    time.sleep(0.05)
"""


def test_a_second_client_has_its_own_settings_and_numbers(sessions):
    """What a client chose at attach (reprTimeout, variablePresentation, pathMappings) and the
    numbers it was handed (variablesReference) end with its session; the next client starts
    from the defaults."""
    path = sessions.program(SLOW_REPR_LOOP)
    line = line_of(path, "# stop here")
    folder, name = os.path.split(path)
    first = sessions.launch(SLOW_REPR_LOOP, breakpoints=[line], attach_args={
        "reprTimeout": 0.1,
        "variablePresentation": {"all": "hide"},
        "pathMappings": [{"localRoot": "/client/side", "remoteRoot": folder}],
    })
    thread = first.wait_stopped()["threadId"]
    top = first.top_frame(thread)
    assert top["source"]["path"] == "/client/side/" + name
    first_locals = first.locals_of(top["id"])
    assert first_locals["slow"]["value"] == "<repr timed out after 0.1s>"
    slow_reference = first_locals["slow"]["variablesReference"]
    members = [v["name"] for v in first.ok("variables", {"variablesReference": slow_reference})["variables"]]
    assert "special variables" not in members, members
    assert first.request("disconnect", {})["success"] is True

    second = sessions.client(first.debuggee)
    second.handshake({path: [line]})
    thread = second.wait_stopped()["threadId"]
    stale = second.request("variables", {"variablesReference": slow_reference})
    assert stale["success"] is False and "variablesReference" in stale["message"], stale
    top = second.top_frame(thread)
    assert top["source"]["path"] == path
    second_locals = second.locals_of(top["id"])
    assert second_locals["slow"]["value"] == "slow but shown"
    slow_reference = second_locals["slow"]["variablesReference"]
    members = [v["name"] for v in second.ok("variables", {"variablesReference": slow_reference})["variables"]]
    assert "special variables" in members, members
    assert second.request("disconnect", {"terminateDebuggee": True})["success"] is True
    first.debuggee.wait(timeout=5)


# ------------------------------------------------------------------ output and exit


def test_interleaved_stdout_and_stderr_arrive_in_order(sessions):
    client = sessions.launch("""
        import sys
        for i in range(50):
            if i % 2 == 0:
                print(f"line {i}")
            else:
                print(f"line {i}", file=sys.stderr)
    """)
    client.wait_event("exited")
    events = [e["body"] for e in client.events("output") if e["body"].get("category") in ("stdout", "stderr")]
    text = "".join(body["output"] for body in events)
    assert text == "".join(f"line {i}\n" for i in range(50))
    assert client.output("stdout") == "".join(f"line {i}\n" for i in range(0, 50, 2))
    assert client.output("stderr") == "".join(f"line {i}\n" for i in range(1, 50, 2))
    # Each line came in the stream it was written to.
    for body in events:
        if body["output"].startswith("line "):
            number = int(body["output"].split()[1])
            assert body["category"] == ("stdout" if number % 2 == 0 else "stderr"), body
    assert client.debuggee.wait(timeout=5) == 0
    # The real streams still get everything too.
    assert client.debuggee.stdout.decode() == client.output("stdout")
    assert client.debuggee.stderr.decode() == client.output("stderr")


def test_exited_event_carries_exit_code(sessions):
    client = sessions.launch("""
        import sys
        print("bye")
        sys.exit(3)
    """)
    run_to_exit(client, 3)
    exited = client.wait_event("exited")
    terminated = client.wait_event("terminated")
    events = [e for e in client.received if e.get("type") == "event"]
    assert events.index(exited) < events.index(terminated)
    assert client.debuggee.wait(timeout=5) == 3


def test_connection_closed_by_client_without_any_request(sessions):
    """A client that connects and leaves at once must not hold up a --wait-for-client program
    forever once a later client configures it."""
    path = sessions.program(SHORT)
    debuggee = sessions.start([path])
    vanish(DapClient.connect(debuggee.port))
    client = sessions.client(debuggee)
    client.handshake()
    run_to_exit(client, 5)
    assert debuggee.wait(timeout=5) == 5
