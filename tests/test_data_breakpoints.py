"""Data breakpoints (issue 16): a local variable of a live function frame, a global, a module
attribute, a dict item. A write stops at the line after it, in the frame that wrote, with the old
and new value; a local's watch ends with its frame."""

from conftest import line_of

COUNTER = """
import sys, threading

def count_up(n):
    total = None  # start
    for i in range(n):  # loop
        total = (total or 0) + i  # write
        marker = i  # after write
    return total  # end

def main():
    print("result", count_up(5))
    # What pydbg left on count_up once the watch ended: nothing.
    print("events", sys.monitoring.get_local_events(0, count_up.__code__))

if __name__ == "__main__":
    if "thread" in sys.argv:
        worker = threading.Thread(target=main, name="worker")
        worker.start()
        worker.join()
    else:
        main()
"""


def watch_total(client, **options):
    """Stopped at `# start`: watches `total` from the Locals scope, returns (stop, breakpoint)."""
    stop = client.wait_stopped()
    frame = client.ok("stackTrace", {"threadId": stop["threadId"]})["stackFrames"][0]
    scopes = client.ok("scopes", {"frameId": frame["id"]})["scopes"]
    info = client.ok("dataBreakpointInfo", {"variablesReference": scopes[0]["variablesReference"], "name": "total"})
    assert info["dataId"] and info["accessTypes"] == ["write"], info
    assert "total" in info["description"]
    placed = client.ok("setDataBreakpoints", {"breakpoints": [{"dataId": info["dataId"], **options}]})["breakpoints"]
    assert len(placed) == 1 and placed[0]["verified"], placed
    client.ok("setBreakpoints", {"source": {"path": client.path}, "breakpoints": []})
    return stop, placed[0]


def next_data_stop(client, thread):
    client.ok("continue", {"threadId": thread})
    stop = client.wait_stopped()
    frame = client.ok("stackTrace", {"threadId": stop["threadId"]})["stackFrames"][0]
    return stop, frame


def test_capability_is_announced(sessions):
    client = sessions.launch("pass\n")
    assert client.received[0]["body"]["supportsDataBreakpoints"] is True


def test_a_watched_local_stops_after_each_change_then_ends_with_its_frame(sessions):
    client = sessions.launch(COUNTER, breakpoints=[line_of_source(COUNTER, "# start")])
    stop, placed = watch_total(client)
    thread = stop["threadId"]
    seen = []
    for _ in range(6):
        data_stop, frame = next_data_stop(client, thread)
        assert data_stop["reason"] == "data breakpoint"
        assert data_stop["hitBreakpointIds"] == [placed["id"]]
        assert frame["name"] == "count_up"
        seen.append((data_stop["description"], frame["line"]))
    after_write = line_of(client.path, "# after write")
    # The stop at `# start` came before `total` was bound. When i is 0, `total` is written
    # with an equal value: no change.
    assert seen == [
        ("total: (unbound) → None", line_of(client.path, "# loop")),
        ("total: None → 0", after_write),
        ("total: 0 → 1", after_write),
        ("total: 1 → 3", after_write),
        ("total: 3 → 6", after_write),
        ("total: 6 → 10", after_write),
    ]
    client.ok("continue", {"threadId": thread})
    ended = client.wait_event("breakpoint", lambda b: b["breakpoint"].get("id") == placed["id"])
    assert ended["body"]["reason"] == "changed" and ended["body"]["breakpoint"]["verified"] is False
    assert "returned" in ended["body"]["breakpoint"]["message"]
    assert client.debuggee.wait() == 0
    assert "result 10" in client.output("stdout")
    assert "events 0" in client.output("stdout")


def test_condition_and_hit_condition(sessions):
    client = sessions.launch(COUNTER, breakpoints=[line_of_source(COUNTER, "# start")])
    stop, _ = watch_total(client, condition="(total or 0) > 2", hitCondition="2")
    data_stop, _ = next_data_stop(client, stop["threadId"])
    # Changes with total > 2: 1 -> 3 (the first), 3 -> 6 (the second: the hit condition's).
    assert data_stop["description"] == "total: 3 → 6"
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 0
    assert len(client.events("stopped")) == 2


def test_the_debuggers_own_write_does_not_stop(sessions):
    client = sessions.launch(COUNTER, breakpoints=[line_of_source(COUNTER, "# start")])
    stop, _ = watch_total(client)
    data_stop, frame = next_data_stop(client, stop["threadId"])
    assert data_stop["description"] == "total: (unbound) → None"
    scopes = client.ok("scopes", {"frameId": frame["id"]})["scopes"]
    client.ok("setVariable", {"variablesReference": scopes[0]["variablesReference"], "name": "total", "value": "100"})
    data_stop, _ = next_data_stop(client, stop["threadId"])
    # Not 0 -> 100: that write was the debugger's. The program's next one is.
    assert data_stop["description"] == "total: 100 → 101"


def test_removed_watch_stops_no_more_and_leaves_no_events(sessions):
    client = sessions.launch(COUNTER, breakpoints=[line_of_source(COUNTER, "# start")])
    stop, _ = watch_total(client)
    next_data_stop(client, stop["threadId"])
    assert client.ok("setDataBreakpoints", {"breakpoints": []})["breakpoints"] == []
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 0
    assert len(client.events("stopped")) == 2
    assert "events 0" in client.output("stdout")


def test_a_watch_in_another_thread_stops_that_thread(sessions):
    client = sessions.launch(COUNTER, breakpoints=[line_of_source(COUNTER, "# start")], args=["thread"])
    stop, _ = watch_total(client)
    data_stop, frame = next_data_stop(client, stop["threadId"])
    assert data_stop["threadId"] == stop["threadId"]
    threads = {t["id"]: t["name"] for t in client.ok("threads")["threads"]}
    assert threads[data_stop["threadId"]] == "worker"
    assert data_stop["description"] == "total: (unbound) → None"


def test_what_cannot_be_watched_gets_a_null_data_id_and_a_reason(sessions):
    client = sessions.launch(COUNTER, breakpoints=[line_of_source(COUNTER, "# start")])
    stop = client.wait_stopped()
    frame = client.ok("stackTrace", {"threadId": stop["threadId"]})["stackFrames"][0]
    scopes = client.ok("scopes", {"frameId": frame["id"]})["scopes"]
    locals_ref = scopes[0]["variablesReference"]
    info = client.ok("dataBreakpointInfo", {"variablesReference": locals_ref, "name": "nosuch"})
    assert info["dataId"] is None and "cannot watch `nosuch`" in info["description"]
    info = client.ok("dataBreakpointInfo", {"frameId": frame["id"], "name": "nosuch"})
    assert info["dataId"] is None and "nosuch" in info["description"]
    # An expression naming a local works as the variable does.
    info = client.ok("dataBreakpointInfo", {"frameId": frame["id"], "name": "n"})
    assert info["dataId"]
    # Bad input: a clear error, and the session goes on.
    response = client.request("dataBreakpointInfo", {"variablesReference": 999999, "name": "x"})
    assert not response["success"] and "999999" in response["message"]
    placed = client.ok("setDataBreakpoints", {"breakpoints": [
        {"dataId": "local:424242:x"}, {"dataId": info["dataId"], "accessType": "read"}]})["breakpoints"]
    assert [p["verified"] for p in placed] == [False, False]
    assert "dataBreakpointInfo" in placed[0]["message"] and "writes only" in placed[1]["message"]
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 0




GLOBALS = """
import sys, threading
import helpers

counter = 0
config = {"port": 80}

def bump():
    global counter
    counter += 1  # bump
    return counter  # after bump

def worker():
    config["port"] = 8080  # thread write
    done = True  # after thread write

def main():
    bump()
    bump()
    writer = threading.Thread(target=worker, name="writer")
    writer.start()
    writer.join()
    helpers.level = 5  # module write
    del config["port"]  # delete
    print("done", counter, helpers.level)  # after delete

main()  # stop here
"""


def launch_globals(sessions):
    sessions.program("level = 1\n", name="helpers.py")
    return sessions.launch(GLOBALS, breakpoints=[line_of_source(GLOBALS, "# stop here")])


def module_scope(client):
    """Stopped at `# stop here`: the thread, and the Globals scope's variables by name."""
    stop = client.wait_stopped()
    frame = client.ok("stackTrace", {"threadId": stop["threadId"]})["stackFrames"][0]
    scopes = client.ok("scopes", {"frameId": frame["id"]})["scopes"]
    globals_ref = next(s for s in scopes if s["name"] == "Globals")["variablesReference"]
    variables = client.ok("variables", {"variablesReference": globals_ref})["variables"]
    return stop["threadId"], globals_ref, {v["name"]: v for v in variables}


def watch(client, reference, name, **options):
    info = client.ok("dataBreakpointInfo", {"variablesReference": reference, "name": name})
    assert info["dataId"], info
    placed = client.ok("setDataBreakpoints", {"breakpoints": [{"dataId": info["dataId"], **options}]})["breakpoints"]
    assert placed[0]["verified"], placed
    client.ok("setBreakpoints", {"source": {"path": client.path}, "breakpoints": []})
    return placed[0]["id"]


def test_a_global_written_by_a_function_stops_in_that_function(sessions):
    client = launch_globals(sessions)
    thread, globals_ref, _ = module_scope(client)
    watch_id = watch(client, globals_ref, "counter")
    for description in ["counter: 0 → 1", "counter: 1 → 2"]:
        stop, frame = next_data_stop(client, thread)
        assert (stop["reason"], stop["hitBreakpointIds"], stop["description"]) == (
            "data breakpoint", [watch_id], description)
        assert (frame["name"], frame["line"]) == ("bump", line_of(client.path, "# after bump"))
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0
    assert "done 2 5" in client.output("stdout")
    assert len(client.events("stopped")) == 3


def test_a_global_with_a_condition_and_the_debuggers_own_write(sessions):
    client = launch_globals(sessions)
    thread, globals_ref, _ = module_scope(client)
    watch(client, globals_ref, "counter", condition="counter >= 1")
    stop, frame = next_data_stop(client, thread)
    assert stop["description"] == "counter: 0 → 1"
    scopes = client.ok("scopes", {"frameId": frame["id"]})["scopes"]
    globals_now = next(s for s in scopes if s["name"] == "Globals")["variablesReference"]
    client.ok("setVariable", {"variablesReference": globals_now, "name": "counter", "value": "50"})
    stop, frame = next_data_stop(client, thread)
    # Not 1 -> 50: that write was the debugger's.
    assert stop["description"] == "counter: 50 → 51"
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0
    assert "done 51 5" in client.output("stdout")


def test_a_dict_item_written_by_another_thread_then_deleted(sessions):
    client = launch_globals(sessions)
    thread, _, variables = module_scope(client)
    items = client.ok("variables", {"variablesReference": variables["config"]["variablesReference"]})["variables"]
    port = next(v for v in items if v["name"] == "'port'")
    watch(client, variables["config"]["variablesReference"], port["name"])
    stop, frame = next_data_stop(client, thread)
    threads = {t["id"]: t["name"] for t in client.ok("threads")["threads"]}
    assert threads[stop["threadId"]] == "writer"
    assert stop["description"] == "config['port']: 80 → 8080"
    assert (frame["name"], frame["line"]) == ("worker", line_of(client.path, "# after thread write"))
    stop, frame = next_data_stop(client, stop["threadId"])
    assert stop["description"] == "config['port']: 8080 → (missing)"
    assert frame["line"] == line_of(client.path, "# after delete")
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 0


def test_a_module_attribute_and_removal(sessions):
    client = launch_globals(sessions)
    thread, _, variables = module_scope(client)
    watch(client, variables["helpers"]["variablesReference"], "level")
    stop, frame = next_data_stop(client, thread)
    assert stop["description"] == "helpers.level: 1 → 5"
    assert frame["line"] == line_of(client.path, "# delete")
    # Removed: the rest runs to its end without another stop.
    assert client.ok("setDataBreakpoints", {"breakpoints": []})["breakpoints"] == []
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0
    assert len(client.events("stopped")) == 2


def line_of_source(source, marker):
    """The line of `marker` in `source` as launch writes it (dedented, leading newline dropped)."""
    lines = source.lstrip("\n").splitlines()
    return next(number for number, text in enumerate(lines, 1) if marker in text)


ATTRIBUTES = """
import threading, traceback
from dataclasses import dataclass

class Plain:
    def __init__(self):
        self.count = 0

@dataclass
class Point:
    x: int
    y: int

class Slotted:
    __slots__ = ("size",)

    def __init__(self):
        self.size = 1

def grow(box):
    box.size = 2  # slot write
    return box  # after slot write

def main():
    plain, point, slotted, numbers = Plain(), Point(1, 2), Slotted(), [1, 2]

    def move():
        point.y = 20  # thread write
        return point  # after thread write

    print("start")  # stop here
    plain.count += 1  # plain write
    point.x = 10  # point write
    grow(slotted)
    try:
        slotted.colour = "red"  # not one of its slots
    except AttributeError:
        print("traceback shows pydbg:", "pydbg" in traceback.format_exc())
    writer = threading.Thread(target=move, name="writer")
    writer.start()
    writer.join()
    del plain.count  # delete
    print("types", type(plain) is Plain, type(point) is Point, type(slotted) is Slotted, isinstance(plain, Plain))  # end
    print(repr(point), type(point).__qualname__)

    class Later(type(point)):  # derived from the private class while point is watched
        pass

    later = Later(0, 0)
    later.x = 5
    print("derived", later.x)

main()
"""


def attributes_session(sessions):
    """Stopped at `# stop here`: the client, the thread and main's locals by name."""
    client, thread, local, _ = stopped_in_main(sessions, ATTRIBUTES)
    return client, thread, local


def stopped_in_main(sessions, source):
    """Stopped at `# stop here` in `source`: the client, the thread, the locals by name and the frame."""
    client = sessions.launch(source, breakpoints=[line_of_source(source, "# stop here")])
    stop = client.wait_stopped()
    frame = client.ok("stackTrace", {"threadId": stop["threadId"]})["stackFrames"][0]
    scopes = client.ok("scopes", {"frameId": frame["id"]})["scopes"]
    variables = client.ok("variables", {"variablesReference": scopes[0]["variablesReference"]})["variables"]
    return client, stop["threadId"], {v["name"]: v for v in variables}, frame


def watch_many(client, locals_by_name, wanted):
    data_ids = []
    for owner, name in wanted:
        info = client.ok("dataBreakpointInfo",
                         {"variablesReference": locals_by_name[owner]["variablesReference"], "name": name})
        assert info["dataId"] and info["description"] == f"`{owner}.{name}` changes", info
        data_ids.append(info["dataId"])
    placed = client.ok("setDataBreakpoints", {"breakpoints": [{"dataId": d} for d in data_ids]})["breakpoints"]
    assert all(p["verified"] for p in placed), placed
    client.ok("setBreakpoints", {"source": {"path": client.path}, "breakpoints": []})


def test_attributes_of_a_plain_object_a_dataclass_and_a_slots_object(sessions):
    client, thread, local = attributes_session(sessions)
    watch_many(client, local, [("plain", "count"), ("point", "x"), ("slotted", "size")])
    expected = [
        ("plain.count: 0 → 1", "main", "# point write"),
        ("point.x: 1 → 10", "main", "grow(slotted)"),
        ("slotted.size: 1 → 2", "grow", "# after slot write"),
        ("plain.count: 1 → (unset)", "main", "# end"),
    ]
    for description, function, marker in expected:
        stop, frame = next_data_stop(client, thread)
        assert (stop["reason"], stop["description"]) == ("data breakpoint", description)
        assert (frame["name"], frame["line"]) == (function, line_of(client.path, marker))
    # Removed: each object has its own class back.
    assert client.ok("setDataBreakpoints", {"breakpoints": []})["breakpoints"] == []
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0
    out = client.output("stdout")
    assert "types True True True True" in out
    assert "Point(x=10, y=20) Point" in out
    # The program's own error from a watched object's write: no frame of pydbg's in it.
    assert "traceback shows pydbg: False" in out


def test_an_attribute_written_by_another_thread_while_watched_keeps_the_class_name(sessions):
    client, thread, local = attributes_session(sessions)
    watch_many(client, local, [("point", "y")])
    stop, frame = next_data_stop(client, thread)
    threads = {t["id"]: t["name"] for t in client.ok("threads")["threads"]}
    assert threads[stop["threadId"]] == "writer"
    assert stop["description"] == "point.y: 2 → 20"
    assert (frame["name"], frame["line"]) == ("main.<locals>.move", line_of(client.path, "# after thread write"))
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 0
    # Still watched at the end: `type(point) is Point` is False, its name and repr are Point's.
    out = client.output("stdout")
    assert "types True False True True" in out and "Point(x=10, y=20) Point" in out
    # A class derived from the private one writes through the original's __setattr__.
    assert "derived 5" in out


def test_the_debuggers_own_attribute_write_does_not_stop(sessions):
    client, thread, local = attributes_session(sessions)
    watch_many(client, local, [("point", "x")])
    client.ok("setVariable", {"variablesReference": local["point"]["variablesReference"], "name": "x", "value": "5"})
    stop, _ = next_data_stop(client, thread)
    assert stop["description"] == "point.x: 5 → 10"


def test_expressions_name_what_they_watch(sessions):
    client, thread, local = attributes_session(sessions)
    frame = client.ok("stackTrace", {"threadId": thread})["stackFrames"][0]

    def info(expression):
        return client.ok("dataBreakpointInfo", {"frameId": frame["id"], "name": expression})

    watched = info("point.x")
    assert watched["dataId"] and watched["description"] == "`point.x` changes"
    assert info("plain")["dataId"]
    # Calls are not read-only, a syntax error is reported, a list's item is named by an int.
    assert info("len(numbers)")["dataId"] is None
    broken = info("point.(")
    assert broken["dataId"] is None and "SyntaxError" in broken["description"]
    assert info("numbers[0]")["description"] == "`numbers[0]` changes"
    assert info("numbers['a']")["dataId"] is None
    missing = info("nowhere.x")
    assert missing["dataId"] is None and "NameError" in missing["description"]
    placed = client.ok("setDataBreakpoints", {"breakpoints": [{"dataId": watched["dataId"]}]})["breakpoints"]
    assert placed[0]["verified"]
    client.ok("setBreakpoints", {"source": {"path": client.path}, "breakpoints": []})
    stop, _ = next_data_stop(client, thread)
    assert stop["description"] == "point.x: 1 → 10"


def test_a_dict_item_named_by_an_expression(sessions):
    client = launch_globals(sessions)
    thread, _, _ = module_scope(client)
    frame = client.ok("stackTrace", {"threadId": thread})["stackFrames"][0]
    info = client.ok("dataBreakpointInfo", {"frameId": frame["id"], "name": 'config["port"]'})
    assert info["dataId"], info
    client.ok("setDataBreakpoints", {"breakpoints": [{"dataId": info["dataId"]}]})
    client.ok("setBreakpoints", {"source": {"path": client.path}, "breakpoints": []})
    stop, _ = next_data_stop(client, thread)
    assert stop["description"] == 'config["port"]: 80 → 8080'


UNEQUAL = """
class Stubborn:
    def __eq__(self, other):
        raise RuntimeError("no comparing me")

    def __repr__(self):
        raise RuntimeError("no showing me")

def churn():
    value = Stubborn()  # start
    value = Stubborn()  # second
    return "survived"  # after second

print(churn())
"""


def test_a_raising_eq_and_repr_never_reach_the_program(sessions):
    client = sessions.launch(UNEQUAL, breakpoints=[line_of_source(UNEQUAL, "# second")])
    stop = client.wait_stopped()
    frame = client.ok("stackTrace", {"threadId": stop["threadId"]})["stackFrames"][0]
    info = client.ok("dataBreakpointInfo", {"frameId": frame["id"], "name": "value"})
    client.ok("setDataBreakpoints", {"breakpoints": [{"dataId": info["dataId"]}]})
    data_stop, frame = next_data_stop(client, stop["threadId"])
    # __eq__ raised: counted as a change. __repr__ raised: the type's name shows instead.
    assert data_stop["description"] == "value: <Stubborn object> → <Stubborn object>"
    assert frame["line"] == line_of(client.path, "# after second")
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 0
    assert "survived" in client.output("stdout")


def test_a_returned_calls_local_is_refused_when_sent_again(sessions):
    after_call = line_of_source(COUNTER, 'print("events"')
    client = sessions.launch(COUNTER, breakpoints=[line_of_source(COUNTER, "# start"), after_call])
    stop = client.wait_stopped()
    frame = client.ok("stackTrace", {"threadId": stop["threadId"]})["stackFrames"][0]
    data_id = client.ok("dataBreakpointInfo", {"frameId": frame["id"], "name": "total"})["dataId"]
    client.ok("setDataBreakpoints", {"breakpoints": [{"dataId": data_id, "hitCondition": "1000"}]})
    client.ok("continue", {"threadId": stop["threadId"]})
    stop = client.wait_stopped()
    assert stop["reason"] == "breakpoint"  # in main: count_up has returned, its watch ended
    assert client.events("breakpoint")
    # A client sends the whole set again, with the ended watch's dataId.
    again = client.ok("setDataBreakpoints", {"breakpoints": [{"dataId": data_id}]})["breakpoints"]
    assert again[0]["verified"] is False and "returned" in again[0]["message"]
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 0


def test_the_debuggers_own_writes_do_not_count_as_hits(sessions):
    client = launch_globals(sessions)
    thread, globals_ref, _ = module_scope(client)
    watch(client, globals_ref, "counter", hitCondition="2")
    client.ok("setVariable", {"variablesReference": globals_ref, "name": "counter", "value": "50"})
    stop, _ = next_data_stop(client, thread)
    # Hits: 50 -> 51, then 51 -> 52, the second. The debugger's 0 -> 50 is none.
    assert stop["description"] == "counter: 51 → 52"


def test_a_watched_write_from_a_finalizer_run_by_a_step_stops_after_the_step(sessions):
    # The second make() replaces the first's recorded return value, the only reference left to
    # it: its __del__ runs while the step holds its plan, and writes a watched global.
    source = """
    class Noisy:
        def __del__(self):
            global deleted
            deleted += 1

    def make():
        return Noisy()

    deleted = 0
    make(); make()  # call twice
    print("deleted", deleted)  # next line
    """
    path = sessions.program(source)
    client = sessions.launch(source, breakpoints=[line_of(path, "# call twice")])
    thread = client.wait_stopped()["threadId"]
    frame = client.top_frame(thread)
    info = client.ok("dataBreakpointInfo", {"frameId": frame["id"], "name": "deleted"})
    placed = client.ok("setDataBreakpoints", {"breakpoints": [{"dataId": info["dataId"]}]})["breakpoints"]
    assert placed[0]["verified"], placed
    client.ok("next", {"threadId": thread})
    stop = client.wait_stopped(timeout=10)
    assert stop["reason"] == "data breakpoint" and stop["description"] == "deleted: 0 → 1", stop
    assert client.top_frame(thread)["line"] == line_of(path, "# next line")
    client.ok("setDataBreakpoints", {"breakpoints": []})
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait(timeout=10) == 0


LISTS = """
import threading, traceback

class Row(list):
    pass

def fill(data):
    data[1] = "one"  # item write
    return data  # after item write

def main():
    data, row = [0, 1, 2, 3], Row([5, 6])

    def change_row():
        row[0] = 50  # thread write
        return row  # after thread write

    print("start")  # stop here
    data.append(4)  # append
    data[2] = 2  # same value
    fill(data)
    data.insert(0, -1)  # insert
    data.sort(key=str)  # sort
    print("sorted")  # after sort
    try:
        data.remove("absent")
    except ValueError:
        print("traceback shows pydbg:", "pydbg" in traceback.format_exc())
    print("while watched", type(data) is list, isinstance(data, list), type(row) is Row, data)
    writer = threading.Thread(target=change_row, name="writer")
    writer.start()
    writer.join()
    del data[:]  # clear
    print("types", type(data) is list, type(row) is Row, type(data).__name__)  # end

main()
"""


def test_list_items_by_index_from_the_end_and_of_a_list_subclass(sessions):
    client, thread, local, frame = stopped_in_main(sessions, LISTS)
    by_row = client.ok("dataBreakpointInfo", {"variablesReference": local["data"]["variablesReference"], "name": "1"})
    assert by_row["dataId"] and by_row["description"] == "`data[1]` changes", by_row
    last = client.ok("dataBreakpointInfo", {"frameId": frame["id"], "name": "data[-1]"})
    first_of_row = client.ok("dataBreakpointInfo", {"frameId": frame["id"], "name": "row[0]"})
    data_ids = [by_row["dataId"], last["dataId"], first_of_row["dataId"]]
    placed = client.ok("setDataBreakpoints", {"breakpoints": [{"dataId": d} for d in data_ids]})["breakpoints"]
    assert all(p["verified"] for p in placed), placed
    client.ok("setBreakpoints", {"source": {"path": client.path}, "breakpoints": []})
    expected = [
        ("data[-1]: 3 → 4", "main", "# same value"),
        ("data[1]: 1 → 'one'", "fill", "# after item write"),
        ("data[1]: 'one' → 0", "main", "# sort"),
        ("data[-1]: 4 → 'one'", "main", "# after sort"),
        ("row[0]: 5 → 50", "main.<locals>.change_row", "# after thread write"),
        ("data[1]: 0 → (missing)", "main", "# end"),
    ]
    for description, function, marker in expected:
        stop, top = next_data_stop(client, thread)
        assert (stop["reason"], stop["description"]) == ("data breakpoint", description)
        assert (top["name"], top["line"]) == (function, line_of(client.path, marker))
        thread = stop["threadId"]
    # Removed: each list has its own class back.
    assert client.ok("setDataBreakpoints", {"breakpoints": []})["breakpoints"] == []
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0
    out = client.output("stdout")
    assert "traceback shows pydbg: False" in out
    assert "while watched False True False [-1, 0, 2, 3, 4, 'one']" in out
    assert "types True True list" in out


def test_the_debuggers_own_item_write_does_not_stop(sessions):
    client, thread, local, frame = stopped_in_main(sessions, LISTS)
    info = client.ok("dataBreakpointInfo", {"frameId": frame["id"], "name": "data[0]"})
    assert client.ok("setDataBreakpoints", {"breakpoints": [{"dataId": info["dataId"]}]})["breakpoints"][0]["verified"]
    client.ok("setVariable", {"variablesReference": local["data"]["variablesReference"], "name": "0", "value": "7"})
    client.ok("evaluate", {"expression": "data.append(9)", "frameId": frame["id"], "context": "repl"})
    client.ok("setBreakpoints", {"source": {"path": client.path}, "breakpoints": []})
    # The program's first change of data[0] is the insert: 7 → -1.
    stop, top = next_data_stop(client, thread)
    assert stop["description"] == "data[0]: 7 → -1"
    assert top["line"] == line_of(client.path, "# sort")
    # Left watched to the end: the program exits normally, the list still hooked.
    stop, top = next_data_stop(client, thread)
    assert stop["description"] == "data[0]: -1 → (missing)"
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0
    assert "while watched False True True [-1, 2, 3, 4, 7, 9, 'one']" in client.output("stdout")


CLOSURES = """
import sys, threading

def counter():
    total = None  # start
    total = 0  # first
    def bump(by):
        nonlocal total
        total += by  # nested write
        return total  # after nested write
    def shadow():
        total = "own"  # a variable of its own
        return total
    bump(1)  # bump once
    bump(0)  # no change
    shadow()
    worker = threading.Thread(target=bump, args=(2,), name="bumper")
    worker.start()
    worker.join()
    total = 10  # own write
    print("done", total)  # after own write
    return bump

bump = counter()
# What pydbg left on the nested function once the watch ended: nothing.
print("events", sys.monitoring.get_local_events(0, bump.__code__))
"""


def test_a_local_written_by_nested_functions_as_nonlocal(sessions):
    client = sessions.launch(CLOSURES, breakpoints=[line_of_source(CLOSURES, "# start")])
    stop, _ = watch_total(client)
    thread = stop["threadId"]
    expected = [
        ("total: (unbound) → None", "counter", "# first", "MainThread"),
        ("total: None → 0", "counter", "def bump", "MainThread"),
        ("total: 0 → 1", "counter.<locals>.bump", "# after nested write", "MainThread"),
        # bump(0) writes the same value, shadow() a variable of its own: no stop.
        ("total: 1 → 3", "counter.<locals>.bump", "# after nested write", "bumper"),
        ("total: 3 → 10", "counter", "# after own write", "MainThread"),
    ]
    for description, function, marker, thread_name in expected:
        stop, frame = next_data_stop(client, thread)
        assert (stop["reason"], stop["description"]) == ("data breakpoint", description)
        assert (frame["name"], frame["line"]) == (function, line_of(client.path, marker))
        threads = {t["id"]: t["name"] for t in client.ok("threads")["threads"]}
        assert threads[stop["threadId"]] == thread_name
        thread = stop["threadId"]
    client.ok("continue", {"threadId": thread})
    ended = client.wait_event("breakpoint")["body"]["breakpoint"]
    assert ended["verified"] is False and "returned" in ended["message"]
    assert client.debuggee.wait() == 0
    client.wait_output("events 0", "stdout")


LIST_EDGES = """
def halfway():
    yield 1
    raise ValueError("halfway")

def main():
    data = [0]
    print("start")  # stop here
    append = data.append  # looked up while hooked
    print("introspection", data.append.__name__, "list.append" in repr(data.append),
          data.append.__doc__ == list.append.__doc__)
    try:
        data.extend(halfway())  # a write that raises after it wrote
    except ValueError:
        print("caught")  # handler
    try:
        data.__setattr__()
    except TypeError as e:
        print("setattr error", type(e).__name__, "WritingMethod" in str(e))
    print("unwatch")  # unwatch here
    append(7)
    print("after", data, type(data) is list)

main()
"""


def test_a_watched_lists_methods_read_as_the_originals_and_outlive_the_watch(sessions):
    client, thread, _, frame = stopped_in_main(sessions, LIST_EDGES)
    info = client.ok("dataBreakpointInfo", {"frameId": frame["id"], "name": "data[-1]"})
    assert client.ok("setDataBreakpoints", {"breakpoints": [{"dataId": info["dataId"]}]})["breakpoints"][0]["verified"]
    unwatch = line_of(client.path, "# unwatch here")
    client.ok("setBreakpoints", {"source": {"path": client.path}, "breakpoints": [{"line": unwatch}]})
    # The extend that raised had appended 1 first.
    stop, top = next_data_stop(client, thread)
    assert stop["description"] == "data[-1]: 0 → 1"
    assert top["line"] in (line_of(client.path, "except ValueError"), line_of(client.path, "# handler")), top
    stop, top = next_data_stop(client, thread)
    assert stop["reason"] == "breakpoint" and top["line"] == unwatch
    client.ok("setDataBreakpoints", {"breakpoints": []})
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0
    out = client.output("stdout")
    assert "introspection append True True" in out
    assert "setattr error TypeError False" in out
    # `append` was the hooked method; called once the list has its class back, it still appends.
    assert "after [0, 1, 7] True" in out


def test_hostile_sets_of_data_breakpoints(sessions):
    client, thread, local, frame = stopped_in_main(sessions, LISTS)

    def info(expression):
        return client.ok("dataBreakpointInfo", {"frameId": frame["id"], "name": expression})

    first = info("data[1]")["dataId"]
    # Offers beyond 256 forget the oldest one no breakpoint uses: `first` is forgotten.
    for _ in range(300):
        info("data[0]")
    kept = info("data[-1]")["dataId"]
    # Indexes that are no int, or too big for one, and wrong types: reasons, not failures.
    assert info("data['x']")["dataId"] is None
    huge = info("data[1000000000000000000000000000000]")
    assert huge["dataId"] is None and "Overflow" in huge["description"], huge
    assert info("data[True]")["dataId"] is None
    wrong = client.request("setDataBreakpoints", {"breakpoints": [{"dataId": 7}]})
    assert not wrong["success"] and wrong["message"]
    # The same dataId twice: two breakpoints; a change stops once, naming the first.
    placed = client.ok("setDataBreakpoints", {"breakpoints": [
        {"dataId": first}, {"dataId": kept}, {"dataId": kept, "hitCondition": "2"}]})["breakpoints"]
    assert [p["verified"] for p in placed] == [False, True, True], placed
    assert "dataBreakpointInfo" in placed[0]["message"]
    client.ok("setBreakpoints", {"source": {"path": client.path}, "breakpoints": []})
    stop, _ = next_data_stop(client, thread)
    assert stop["description"] == "data[-1]: 3 → 4" and stop["hitBreakpointIds"] == [placed[1]["id"]], stop
    client.ok("setDataBreakpoints", {"breakpoints": []})
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0
