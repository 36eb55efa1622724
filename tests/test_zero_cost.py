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


def run_until_stopped(sessions, tmp_path):
    flag = str(tmp_path / "go")
    path = sessions.program(REPORTS_EVENTS)
    client = sessions.launch(REPORTS_EVENTS, breakpoints=[line_of(path, "# hot line")], args=[flag])
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
