"""restartFrame: the frame a thread is stopped in runs its body again from its first line. Only
the position moves; the tests check that values are not rewound, and every refusal."""

from conftest import line_of
from test_stepping import stop_at

WORK = """
calls = []

def work(n):
    calls.append(n)  # first line
    doubled = n * 2
    return doubled  # stop here

print("result", work(5))
print("calls", calls)
"""


def test_the_top_frame_restarts_at_its_first_line_and_keeps_its_values(sessions):
    client, thread = stop_at(sessions, WORK, "# stop here")
    frames = client.ok("stackTrace", {"threadId": thread})["stackFrames"]
    assert [f.get("canRestart") for f in frames[:2]] == [True, False], frames
    client.ok("restartFrame", {"frameId": frames[0]["id"]})
    stop = client.wait_stopped()
    assert stop["reason"] == "restart" and stop["threadId"] == thread, stop
    top = client.top_frame(thread)
    assert (top["name"], top["line"]) == ("work", line_of(client.path, "# first line"))
    local_vars = client.locals_of(top["id"])
    assert local_vars["n"]["value"] == "5" and local_vars["doubled"]["value"] == "10", "locals are not rewound"
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0
    out = client.output("stdout")
    assert "result 10" in out and "calls [5, 5]" in out, "the body ran twice"


def test_a_restarted_frame_can_be_stepped_and_restarted_again(sessions):
    client, thread = stop_at(sessions, WORK, "# stop here")
    for _ in range(2):
        client.ok("restartFrame", {"frameId": client.top_frame(thread)["id"]})
        assert client.wait_stopped()["reason"] == "restart"
        client.ok("next", {"threadId": thread})
        client.wait_stopped()
        assert client.top_frame(thread)["line"] == line_of(client.path, "# first line") + 1
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0
    assert "calls [5, 5, 5]" in client.output("stdout")


def test_frames_that_cannot_restart_say_why_and_nothing_moves(sessions):
    client, thread = stop_at(sessions, WORK, "# stop here")
    stop_line = line_of(client.path, "# stop here")
    frames = client.ok("stackTrace", {"threadId": thread})["stackFrames"]
    refused = client.request("restartFrame", {"frameId": frames[1]["id"]})
    assert refused["success"] is False and "top of the stack" in refused["message"], refused
    refused = client.request("restartFrame", {"frameId": 10 ** 6})
    assert refused["success"] is False and "no frame" in refused["message"], refused
    assert client.top_frame(thread)["line"] == stop_line

    # Mid-line, after an instruction step: CPython moves a frame only from a line's start.
    client.ok("next", {"threadId": thread, "granularity": "instruction"})
    client.wait_stopped()
    top = client.ok("stackTrace", {"threadId": thread})["stackFrames"][0]
    assert top["canRestart"] is False
    refused = client.request("restartFrame", {"frameId": top["id"]})
    assert refused["success"] is False and "mid-line" in refused["message"], refused
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0
    assert "calls [5]" in client.output("stdout")


def test_a_generator_cannot_restart(sessions):
    client, thread = stop_at(sessions, """
    def numbers():
        yield 1
        yield 2  # stop here

    print(list(numbers()))
    """, "# stop here")
    top = client.ok("stackTrace", {"threadId": thread})["stackFrames"][0]
    assert top["name"] == "numbers" and top["canRestart"] is False
    refused = client.request("restartFrame", {"frameId": top["id"]})
    assert refused["success"] is False and "generator" in refused["message"], refused
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0
    assert "[1, 2]" in client.output("stdout")


def test_a_restart_leaves_a_with_block_without_its_exit(sessions):
    """CPython lets a frame jump out of `with` and `try` blocks, without running `__exit__` or
    `finally` (docs/bytecode.md)."""
    client, thread = stop_at(sessions, """
    import contextlib

    exits = []

    @contextlib.contextmanager
    def tracked():
        yield
        exits.append("exit")

    def work():
        first = 1
        with tracked():
            later = 2  # stop here
        return first + later

    print("sum", work(), "exits", exits)
    """, "# stop here")
    client.ok("restartFrame", {"frameId": client.top_frame(thread)["id"]})
    assert client.wait_stopped()["reason"] == "restart"
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0
    assert "sum 3 exits ['exit']" in client.output("stdout"), "the skipped block's __exit__ never ran"


def test_cpythons_warning_about_a_jump_goes_to_the_console_not_the_programs_stderr(sessions):
    client, thread = stop_at(sessions, """
    def work():
        x = 1  # stop here
        y = 2
        return (x, y)  # target

    print(work())
    """, "# stop here")
    target = line_of(client.path, "# target")
    goto = client.ok("gotoTargets", {"source": {"path": client.path}, "line": target})["targets"][0]
    client.ok("goto", {"threadId": thread, "targetId": goto["id"]})
    assert client.wait_stopped()["reason"] == "goto"
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0
    assert "(None, None)" in client.output("stdout")
    assert "assigning None to 2 unbound locals" in client.output("console")
    assert "RuntimeWarning" not in client.debuggee.stderr.decode()
