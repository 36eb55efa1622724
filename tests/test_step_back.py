"""Step back: recording what the program did, and walking it backwards and forwards again."""

import threading

from conftest import line_of

RECORD = {"record": True}


def stop_at(sessions, source, marker, attach_args=RECORD, **kwargs):
    """Launches `source` recording the user's code, stopped at the line holding `marker`."""
    path = sessions.program(source)
    client = sessions.launch(source, breakpoints=[line_of(path, marker)], attach_args=attach_args, **kwargs)
    stop = client.wait_stopped()
    return client, stop["threadId"]


def move(client, thread, command):
    """Runs a step command and returns the stopped event and the top frame it shows."""
    after = client.event_count()
    client.ok(command, {"threadId": thread})
    stop = client.wait_stopped(after=after)
    assert stop["threadId"] == thread
    return stop, client.ok("stackTrace", {"threadId": thread})["stackFrames"]


def value_of(client, frame, name):
    return client.locals_of(frame["id"])[name]["value"]


LOOP = """
def total(n):
    acc = 0
    for i in range(n):
        acc += square(i)  # add
    return acc  # done

def square(x):
    y = x * x  # square body
    return y

print(total(4))  # call
"""


def test_step_back_through_a_loop_shows_earlier_values(sessions):
    client, thread = stop_at(sessions, LOOP, "# done")
    assert client.capabilities["supportsStepBack"] is True
    add = line_of(client.path, "# add")
    frames = client.ok("stackTrace", {"threadId": thread})["stackFrames"]
    assert value_of(client, frames[0], "acc") == "14" and value_of(client, frames[0], "i") == "3"

    # Back over the loop header, then into the last call of square (its return line).
    stop, frames = move(client, thread, "stepBack")
    assert stop["reason"] == "step" and "1 line back" in stop["description"]
    assert frames[0]["line"] == line_of(client.path, "for i in") and frames[0]["name"].startswith("total [1 line back")
    assert frames[0]["presentationHint"] == "subtle"
    # Into the last call of square, at its return, with its caller under it.
    stop, frames = move(client, thread, "stepBack")
    assert [f["name"].split(" [")[0] for f in frames[:3]] == ["square", "total", "<module>"]
    assert frames[0]["line"] == line_of(client.path, "return y") and value_of(client, frames[0], "y") == "9"
    assert frames[1]["line"] == add and frames[2]["line"] == line_of(client.path, "# call")
    stop, frames = move(client, thread, "stepBack")
    assert frames[0]["line"] == line_of(client.path, "# square body")
    assert "y" not in client.locals_of(frames[0]["id"]) and value_of(client, frames[0], "x") == "3"
    # Out of the call: the line event at `add` comes before its work, so acc is as it was before.
    stop, frames = move(client, thread, "stepBack")
    assert frames[0]["line"] == add
    assert value_of(client, frames[0], "acc") == "5" and value_of(client, frames[0], "i") == "3"
    # Further back: the iteration before.
    for _ in range(4):
        stop, frames = move(client, thread, "stepBack")
    assert frames[0]["name"].startswith("total") and frames[0]["line"] == add
    assert value_of(client, frames[0], "i") == "2" and value_of(client, frames[0], "acc") == "1"
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0
