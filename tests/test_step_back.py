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
    assert stop["reason"] == "step" and stop["description"] == "1 line before the stop"
    assert frames[0]["line"] == line_of(client.path, "for i in") and frames[0]["name"].startswith("total [1 line back")
    # Not `subtle`: VS Code would fold the whole stack away.
    assert "presentationHint" not in frames[0]
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


def test_forward_again_replays_the_past_then_goes_on_live(sessions):
    client, thread = stop_at(sessions, LOOP, "# done")
    add, body = line_of(client.path, "# add"), line_of(client.path, "# square body")
    for _ in range(4):
        stop, frames = move(client, thread, "stepBack")
    # At `add` of the last iteration, 4 lines back: stepIn replays into square.
    assert frames[0]["line"] == add and stop["description"] == "4 lines before the stop"
    stop, frames = move(client, thread, "stepIn")
    assert frames[0]["name"].startswith("square [") and frames[0]["line"] == body
    stop, frames = move(client, thread, "stepOut")
    assert frames[0]["name"].startswith("total [") and frames[0]["line"] == line_of(client.path, "for i in")
    # next from the last line of the past reaches the stop itself: live again.
    stop, frames = move(client, thread, "next")
    assert stop["description"].startswith("Back at the stop")
    assert frames[0]["name"] == "total" and frames[0]["line"] == line_of(client.path, "# done")
    assert "presentationHint" not in frames[0]
    # Now a live step: the program moves.
    stop, frames = move(client, thread, "next")
    assert frames[0]["name"] == "<module>" and frames[0]["line"] == line_of(client.path, "# call")
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0
    assert "14" in client.output("stdout")


BREAKPOINTS = """
def work(n):
    out = []
    for i in range(n):
        out.append(i * 2)  # hit
        last = i
    return out  # end

work(3)
"""


def test_reverse_continue_goes_to_earlier_breakpoint_hits_and_continue_replays_them(sessions):
    path = sessions.program(BREAKPOINTS)
    hit, end = line_of(path, "# hit"), line_of(path, "# end")
    client = sessions.launch(BREAKPOINTS, breakpoints=[end], attach_args=RECORD)
    thread = client.wait_stopped()["threadId"]
    # A breakpoint set now: its earlier hits are in the history.
    client.ok("setBreakpoints", {"source": {"path": path}, "breakpoints": [{"line": hit}, {"line": end}]})
    stop, frames = move(client, thread, "reverseContinue")
    assert stop["reason"] == "step" and frames[0]["line"] == hit
    assert value_of(client, frames[0], "i") == "2" and value_of(client, frames[0], "last") == "1"
    stop, frames = move(client, thread, "reverseContinue")
    assert frames[0]["line"] == hit and value_of(client, frames[0], "i") == "1"
    stop, frames = move(client, thread, "reverseContinue")
    assert frames[0]["line"] == hit and value_of(client, frames[0], "i") == "0"
    assert "last" not in client.locals_of(frames[0]["id"])
    # No earlier hit: the start of the history, and the console says how far back it goes.
    stop, frames = move(client, thread, "reverseContinue")
    assert frames[0]["name"].startswith("<module> [") and frames[0]["line"] == 1
    client.wait_output("as far back as the history goes, 1", category="console")
    assert "the recording began there" in client.output("console")
    # Continue replays forward to the next recorded hit, then past the last one to the stop and on.
    stop, frames = move(client, thread, "continue")
    assert frames[0]["line"] == hit and value_of(client, frames[0], "i") == "0"
    client.ok("setBreakpoints", {"source": {"path": path}, "breakpoints": []})
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0


def test_evaluate_reads_the_past_and_nothing_changes_it(sessions):
    client, thread = stop_at(sessions, BREAKPOINTS, "# end")
    for _ in range(3):
        stop, frames = move(client, thread, "stepBack")
    past = frames[0]
    assert past["line"] == line_of(client.path, "# hit") and value_of(client, past, "i") == "2"
    # Expressions see the recorded values; a list, never rebound since, is shown as of the stop.
    answer = client.ok("evaluate", {"expression": "i * 10 + last", "frameId": past["id"], "context": "watch"})
    assert answer["result"] == "21"
    locals_ = client.locals_of(past["id"])
    assert locals_["out"]["value"] == "[0, 2, 4] (as of the stop)"
    assert "readOnly" in locals_["i"]["presentationHint"]["attributes"]
    # Everything that would change the program is refused, with why.
    refused = [
        ("evaluate", {"expression": "i = 99", "frameId": past["id"], "context": "repl"}),
        ("setExpression", {"expression": "i", "value": "99", "frameId": past["id"]}),
        ("setVariable", {"variablesReference": next(s for s in client.ok("scopes", {"frameId": past["id"]})["scopes"])
                         ["variablesReference"], "name": "i", "value": "99"}),
        ("restartFrame", {"frameId": past["id"]}),
        ("evaluate", {"expression": "import os", "context": "repl"}),
    ]
    targets = client.ok("gotoTargets", {"source": {"path": client.path}, "line": line_of(client.path, "out = []")})
    refused.append(("goto", {"threadId": thread, "targetId": targets["targets"][0]["id"]}))
    for command, arguments in refused:
        response = client.request(command, arguments)
        assert not response["success"], command
        assert "does not change the past" in response["message"] or "cannot be changed" in response["message"], \
            (command, response["message"])
    # Forward to the stop: the live values never changed.
    for _ in range(3):
        stop, frames = move(client, thread, "next")
    assert stop["description"].startswith("Back at the stop")
    live = client.locals_of(frames[0]["id"])
    assert live["i"]["value"] == "2" and live["last"]["value"] == "2"
    assert client.ok("evaluate", {"expression": "last = 5", "frameId": frames[0]["id"], "context": "repl"})
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0


THREADS = """
import threading, time

finished = []
stop = False

def count(n):
    total = 0
    for k in range(n):
        total += k * n  # count
    finished.append(n)  # finished
    while not stop:  # spin
        pass
    return total

workers = [threading.Thread(target=count, args=(m,), name=f"w{m}") for m in (3, 5)]
for w in workers:
    w.start()
while len(finished) < 2:
    time.sleep(0.01)
stop = True  # release
for w in workers:
    w.join()
"""


def test_each_thread_steps_back_through_its_own_history(sessions):
    path = sessions.program(THREADS)
    client = sessions.launch(THREADS, breakpoints=[line_of(path, "# release")], attach_args=RECORD)
    main = client.wait_stopped()["threadId"]
    client.ok("setBreakpoints", {"source": {"path": path}, "breakpoints": [{"line": line_of(path, "# finished")}]})
    workers = {t["name"]: t["id"] for t in client.ok("threads")["threads"] if t["name"] in ("w3", "w5")}
    spin = line_of(path, "# spin")
    for name, thread in workers.items():
        assert client.top_frame(thread)["line"] in (spin, spin + 1)
    # Each worker goes back to its own `finished` line, with its own values.
    stop, frames = move(client, workers["w3"], "reverseContinue")
    assert frames[0]["line"] == line_of(path, "# finished") and frames[0]["name"].startswith("count [")
    assert value_of(client, frames[0], "total") == "9" and value_of(client, frames[0], "k") == "2"
    # The other worker is still at its stop, until it is moved itself.
    assert client.top_frame(workers["w5"])["name"] == "count"
    stop, frames = move(client, workers["w5"], "reverseContinue")
    assert value_of(client, frames[0], "total") == "50" and value_of(client, frames[0], "k") == "4"
    # Back past the loop's last test, to its last addition.
    move(client, workers["w5"], "stepBack")
    stop, frames = move(client, workers["w5"], "stepBack")
    assert frames[0]["line"] == line_of(path, "# count") and value_of(client, frames[0], "total") == "30"
    # w3 kept its place.
    w3 = client.ok("stackTrace", {"threadId": workers["w3"]})["stackFrames"][0]
    assert w3["line"] == line_of(path, "# finished") and value_of(client, w3, "total") == "9"
    # The main thread has its own history too.
    stop, frames = move(client, main, "stepBack")
    assert frames[0]["name"].startswith("<module> [") and frames[0]["line"] in (line_of(path, "time.sleep"), line_of(path, "while len"))
    # A live continue leaves the past on every thread.
    client.ok("setBreakpoints", {"source": {"path": path}, "breakpoints": []})
    client.ok("continue", {"threadId": main})
    assert client.debuggee.wait() == 0


WRAPPING = """
def spin(n):
    x = 0
    for i in range(n):
        x = i
    return x  # end

spin(1000)
"""


def test_a_full_buffer_drops_the_oldest_history_and_says_so(sessions):
    client, thread = stop_at(sessions, WRAPPING, "# end", attach_args={"record": True, "recordLimit": 100})
    stop, frames = move(client, thread, "reverseContinue")
    assert frames[0]["name"].startswith("spin [")
    client.wait_output("as far back as the history goes", category="console")
    assert "older events were dropped when the history was full" in client.output("console")
    # 100 events are two lines an iteration: about the last 50 iterations are left.
    assert 940 <= int(value_of(client, frames[0], "i")) < 1000
    assert int(stop["description"].split()[0]) <= 100
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0


def test_recording_is_off_unless_asked_and_the_console_turns_it_on_and_off(sessions):
    source = """
    import time

    def tick(n):
        return n + 1  # tick

    n = 0
    while n < 3:
        n = tick(n)  # loop
    time.sleep(0)  # first stop
    for _ in range(2):
        n = tick(n)
    print(n)  # second stop
    """
    path = sessions.program(source)
    client = sessions.launch(source, breakpoints=[line_of(path, "# first stop")])
    thread = client.wait_stopped()["threadId"]
    response = client.request("stepBack", {"threadId": thread})
    assert not response["success"] and "recording is off" in response["message"]
    frame = client.top_frame(thread)
    answer = client.ok("evaluate", {"expression": ".record on", "frameId": frame["id"], "context": "repl"})
    assert answer["result"].startswith("recording the user's code")
    client.ok("setBreakpoints", {"source": {"path": path}, "breakpoints": [{"line": line_of(path, "# second stop")}]})
    move(client, thread, "continue")
    # Only what ran since `.record on` was recorded: back to the loop after the first stop.
    stop, frames = move(client, thread, "reverseContinue")
    client.wait_output("as far back as the history goes", category="console")
    assert frames[0]["line"] == line_of(path, "for _ in") and value_of(client, frames[0], "n") == "3"
    stop, frames = move(client, thread, "stepIn")
    stop, frames = move(client, thread, "stepIn")
    assert frames[0]["name"].startswith("tick [") and value_of(client, frames[0], "n") == "3"
    after = client.event_count()
    answer = client.ok("evaluate", {"expression": ".record off", "context": "repl"})
    assert answer["result"] == "recording is off"
    # The history is gone: the thread is shown at its stop again.
    assert client.wait_stopped(after=after)["description"].startswith("Back at the stop")
    assert "presentationHint" not in client.top_frame(thread)
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0


def test_bad_requests_and_settings_get_clear_errors(sessions):
    client, thread = stop_at(sessions, LOOP, "# done")
    for arguments, wanted in [({"threadId": 999}, "there is no thread 999"), ({}, "there is no thread 0")]:
        response = client.request("stepBack", arguments)
        assert not response["success"] and wanted in response["message"], response
    for arguments, wanted in [({}, "record needs `on`"), ({"on": "yes"}, "invalid type"),
                              ({"on": True, "limit": 5}, "at least 100"),
                              ({"on": True, "include": ["not a module!"]}, "is not a file, a folder, a glob")]:
        response = client.request("record", arguments)
        assert not response["success"] and wanted in response["message"], (arguments, response)
    response = client.request("evaluate", {"expression": ".record sometimes", "context": "repl"})
    assert not response["success"] and response["message"].startswith("usage: .record on")
    # The recording in place is untouched by the refused changes: still the user's code.
    assert client.ok("evaluate", {"expression": ".record", "context": "repl"})["result"].startswith(
        "recording the user's code, keeping up to 1000000 events per thread")
    stop, frames = move(client, thread, "stepBack")
    assert frames[0]["name"] == "total [1 line back]"
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0


def test_attach_refuses_a_record_setting_it_cannot_read(sessions):
    source = "print('never debugged')\n"
    for attach, wanted in [({"record": 5}, "true, false, or a list"), ({"record": True, "recordLimit": 10}, "at least 100"),
                           ({"record": ["pkg..mod"]}, "is not a file, a folder, a glob or a module name")]:
        path = sessions.program(source)
        debuggee = sessions.start([path])
        client = sessions.client(debuggee)
        client.ok("initialize", {"clientID": "tests", "adapterID": "pydbg"})
        response = client.request("attach", attach)
        assert not response["success"] and wanted in response["message"], (attach, response)
        client.ok("disconnect", {"terminateDebuggee": True})


UNWINDING = """
class Loud:
    def __repr__(self):
        raise RuntimeError("no repr for you")

def fail(n):
    marker = Loud()
    raise ValueError(n)  # raise

def gen():
    for k in range(2):
        yield k  # yield

def main():
    seen = []
    try:
        fail(1)
    except ValueError:
        handled = True  # handled
    for k in gen():
        seen = seen + [k]
    thing = Loud()
    thing = 7  # rebound
    return seen  # end

main()
"""


def test_the_past_across_exceptions_generators_and_hostile_reprs(sessions):
    client, thread = stop_at(sessions, UNWINDING, "# end")
    path = client.path
    # Back to the rebinding: `thing` was a Loud then, shown by its recorded text (no repr runs).
    stop, frames = move(client, thread, "stepBack")
    assert frames[0]["line"] == line_of(path, "# rebound")
    assert client.locals_of(frames[0]["id"])["thing"]["value"].startswith("<Loud object at 0x")
    # Back into the generator's last resumption, then to the handler: the unwound call to fail
    # is not on the stack there.
    client.ok("setBreakpoints", {"source": {"path": path}, "breakpoints": [
        {"line": line_of(path, "# yield")}, {"line": line_of(path, "# handled")}, {"line": line_of(path, "# end")}]})
    stop, frames = move(client, thread, "reverseContinue")
    assert frames[0]["name"] == frames[0]["name"].split(" [")[0] + f" [{stop['description'].split()[0]} lines back]"
    assert frames[0]["name"].startswith("gen [") and frames[0]["line"] == line_of(path, "# yield")
    assert client.locals_of(frames[0]["id"])["k"]["value"] == "1"
    assert [f["name"].split(" [")[0] for f in frames[:3]] == ["gen", "main", "<module>"]
    move(client, thread, "reverseContinue")
    stop, frames = move(client, thread, "reverseContinue")
    assert frames[0]["line"] == line_of(path, "# handled")
    assert [f["name"].split(" [")[0] for f in frames[:2]] == ["main", "<module>"]
    # Back past the `except` line: inside fail, just before it raised; its Loud local is text.
    stop, frames = move(client, thread, "stepBack")
    assert frames[0]["name"].startswith("main [") and frames[0]["line"] == line_of(path, "except ValueError")
    stop, frames = move(client, thread, "stepBack")
    assert frames[0]["name"].startswith("fail [") and frames[0]["line"] == line_of(path, "# raise")
    assert client.locals_of(frames[0]["id"])["marker"]["value"].startswith("<Loud object at 0x")
    client.ok("setBreakpoints", {"source": {"path": path}, "breakpoints": []})
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0
    assert "no repr for you" not in client.output("stderr")


CELLS = """
def outer():
    count = 0
    def bump():
        nonlocal count
        count += 1
    bump()
    bump()  # second bump
    x = 1
    y = x + 1  # set here
    z = y  # after
    return z  # end

print(outer())
"""


def test_the_past_sees_writes_by_inner_functions_and_by_the_debugger(sessions):
    """A line reads only the locals its previous line stores to, plus cells (which inner functions
    write), plus everything after a stop (when the debugger may have written)."""
    path = sessions.program(CELLS)
    client = sessions.launch(CELLS, breakpoints=[line_of(path, "# set here"), line_of(path, "# end")],
                             attach_args=RECORD)
    thread = client.wait_stopped()["threadId"]
    frame = client.top_frame(thread)
    scope = client.ok("scopes", {"frameId": frame["id"]})["scopes"][0]["variablesReference"]
    client.ok("setVariable", {"variablesReference": scope, "name": "x", "value": "10"})
    stop, frames = move(client, thread, "continue")
    assert stop["reason"] == "breakpoint" and value_of(client, frames[0], "y") == "11"
    # The debugger's write shows from the line after the stop it was made in; no line stores x.
    stop, frames = move(client, thread, "stepBack")
    assert frames[0]["line"] == line_of(path, "# after")
    assert value_of(client, frames[0], "x") == "10" and value_of(client, frames[0], "y") == "11"
    stop, frames = move(client, thread, "stepBack")
    assert frames[0]["line"] == line_of(path, "# set here")
    assert value_of(client, frames[0], "x") == "1" and "y" not in client.locals_of(frames[0]["id"])
    stop, frames = move(client, thread, "stepBack")
    assert frames[0]["line"] == line_of(path, "x = 1") and value_of(client, frames[0], "count") == "2"
    stop, frames = move(client, thread, "stepBack")
    # Inside the second bump, before its addition; then the line that called it, and the first.
    assert frames[0]["name"].startswith("outer.<locals>.bump [") and value_of(client, frames[0], "count") == "1"
    stop, frames = move(client, thread, "stepBack")
    assert frames[0]["line"] == line_of(path, "# second bump") and value_of(client, frames[0], "count") == "1"
    stop, frames = move(client, thread, "stepBack")
    assert frames[0]["name"].startswith("outer.<locals>.bump [") and value_of(client, frames[0], "count") == "0"
    client.ok("setBreakpoints", {"source": {"path": path}, "breakpoints": []})
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0
    assert "11" in client.output("stdout")


REBOUND = """
def lists():
    x = [1]
    x = [2]
    x = [3]
    return x  # end

lists()
"""


def test_a_rebound_list_shows_as_recorded_not_as_a_later_list(sessions):
    """Each list is freed when x is rebound, and the next list may take its address: only a
    value never rebound since is shown live."""
    client, thread = stop_at(sessions, REBOUND, "# end")
    shown = []
    for _ in range(3):
        stop, frames = move(client, thread, "stepBack")
        shown.append(client.locals_of(frames[0]["id"]).get("x", {}).get("value"))
    assert shown == ["[2]", "[1]", None]
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0


MIDWAY = """
def work(n):
    early = n * 2
    later = early + 1  # turn recording on here
    last = later + 1
    return last  # end

print(work(5))
"""


def test_recording_turned_on_mid_call_knows_the_locals_bound_before(sessions):
    path = sessions.program(MIDWAY)
    client = sessions.launch(MIDWAY, breakpoints=[line_of(path, "# turn recording on here"), line_of(path, "# end")])
    thread = client.wait_stopped()["threadId"]
    frame = client.top_frame(thread)
    client.ok("evaluate", {"expression": ".record on", "frameId": frame["id"], "context": "repl"})
    stop, frames = move(client, thread, "continue")
    assert stop["reason"] == "breakpoint"
    # The first line recorded is the one after the stop (recording began during it). Its call
    # started before recording, so all its locals are read, not only its arguments.
    stop, frames = move(client, thread, "stepBack")
    assert frames[0]["line"] == line_of(path, "last = later + 1")
    locals_ = client.locals_of(frames[0]["id"])
    assert (locals_["n"]["value"], locals_["early"]["value"], locals_["later"]["value"]) == ("5", "10", "11")
    stop, frames = move(client, thread, "stepBack")
    assert frames[0]["line"] == line_of(path, "last = later + 1")
    client.wait_output("as far back as the history goes", category="console")
    client.ok("setBreakpoints", {"source": {"path": path}, "breakpoints": []})
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0
