"""What pydbg leaves behind: once breakpoints are removed or the client disconnects, no
sys.monitoring event stays on for pydbg's tool."""

import os

from conftest import line_of

REPORTS_EVENTS = """
import os, sys, time

def hot(n):
    total = 0
    for i in range(n):
        total += i  # hot line
    return total

hot(10)
flag = sys.argv[1]
deadline = time.monotonic() + 20
while not os.path.exists(flag) and time.monotonic() < deadline:
    hot(100)
    time.sleep(0.01)
tool = sys.monitoring.DEBUGGER_ID
print("global", sys.monitoring.get_events(tool), "local", sys.monitoring.get_local_events(tool, hot.__code__))
"""


def run_until_stopped(sessions, tmp_path, attach_args=None):
    flag = str(tmp_path / "go")
    path = sessions.program(REPORTS_EVENTS)
    client = sessions.launch(REPORTS_EVENTS, breakpoints=[line_of(path, "# hot line")], args=[flag],
                             attach_args=attach_args)
    thread = client.wait_stopped()["threadId"]
    return client, thread, flag


def test_removing_breakpoints_turns_every_event_off(sessions, tmp_path):
    client, thread, flag = run_until_stopped(sessions, tmp_path)
    client.ok("next", {"threadId": thread})  # leaves step instrumentation behind, too
    client.wait_stopped()
    client.ok("setBreakpoints", {"source": {"path": client.path}, "breakpoints": []})
    client.ok("continue", {"threadId": thread})
    open(flag, "w").close()
    assert client.debuggee.wait() == 0
    assert "global 0 local 0" in client.output("stdout")


def test_disconnect_leaves_the_program_running_with_no_events(sessions, tmp_path):
    client, thread, flag = run_until_stopped(sessions, tmp_path)
    client.ok("disconnect", {})
    open(flag, "w").close()
    assert client.debuggee.wait() == 0
    assert b"global 0 local 0" in client.debuggee.stdout


def test_recording_turned_off_leaves_no_event_on(sessions, tmp_path):
    client, thread, flag = run_until_stopped(sessions, tmp_path, attach_args={"record": True})
    after = client.event_count()
    client.ok("stepBack", {"threadId": thread})
    assert client.wait_stopped(after=after)["description"] == "1 line before the stop"
    assert client.ok("evaluate", {"expression": ".record off", "context": "repl"})["result"] == "recording is off"
    client.ok("setBreakpoints", {"source": {"path": client.path}, "breakpoints": []})
    client.ok("continue", {"threadId": thread})
    open(flag, "w").close()
    assert client.debuggee.wait() == 0
    assert "global 0 local 0" in client.output("stdout")


def test_recording_only_a_file_never_run_arms_nothing_in_the_program(sessions, tmp_path):
    never = tmp_path / "never_run.py"
    never.write_text("def unused():\n    return 1\n")
    client, thread, flag = run_until_stopped(sessions, tmp_path, attach_args={"record": [str(never)]})
    response = client.request("stepBack", {"threadId": thread})
    assert not response["success"] and "nothing has been recorded" in response["message"]
    client.ok("setBreakpoints", {"source": {"path": client.path}, "breakpoints": []})
    client.ok("continue", {"threadId": thread})
    open(flag, "w").close()
    assert client.debuggee.wait() == 0
    # Only PY_START (1) stays on, to find the file's code should it ever run; hot has no event.
    assert "global 1 local 0" in client.output("stdout")
