"""Inspection: stack traces with paging, scopes, variables (paging, presentation, safety),
evaluate."""

import time

from conftest import line_of


def test_stack_trace_paging_and_total_frames(sessions):
    source = """
    def down(n):
        if n == 0:
            return "bottom"  # bottom
        return down(n - 1)

    down(30)
    """
    path = sessions.program(source)
    client = sessions.launch(source, breakpoints=[line_of(path, "# bottom")])
    thread = client.wait_stopped()["threadId"]
    whole = client.ok("stackTrace", {"threadId": thread})
    assert whole["totalFrames"] == 32  # 31 frames of down, plus <module>
    assert [f["name"] for f in whole["stackFrames"]][-1] == "<module>"
    page = client.ok("stackTrace", {"threadId": thread, "startFrame": 5, "levels": 10})
    assert page["totalFrames"] == 32
    assert [f["line"] for f in page["stackFrames"]] == [f["line"] for f in whole["stackFrames"][5:15]]
    beyond = client.ok("stackTrace", {"threadId": thread, "startFrame": 40, "levels": 10})
    assert beyond["stackFrames"] == []


def test_scopes_and_variables_with_evaluate_names_that_evaluate_back(sessions):
    source = """
    class Point:
        def __init__(self):
            self.x = 1
            self.y = [10, 20]

    GLOBAL_FLAG = True

    def show():
        data = {"key": [1, 2, {"deep": "value"}], 3: "three"}
        point = Point()
        pair = (1, "two")
        here = 1  # stop
        return data

    show()
    """
    path = sessions.program(source)
    client = sessions.launch(source, breakpoints=[line_of(path, "# stop")])
    thread = client.wait_stopped()["threadId"]
    frame_id = client.top_frame(thread)["id"]
    scopes = client.ok("scopes", {"frameId": frame_id})["scopes"]
    assert [s["name"] for s in scopes] == ["Locals", "Globals"]
    globals_ref = scopes[1]["variablesReference"]
    global_names = {v["name"] for v in client.ok("variables", {"variablesReference": globals_ref})["variables"]}
    assert {"GLOBAL_FLAG", "Point", "show"} <= global_names and "__builtins__" not in global_names

    local_vars = client.locals_of(frame_id)
    assert local_vars["pair"]["type"] == "tuple" and local_vars["pair"]["value"] == "(1, 'two')"

    # Walk data -> 'key' -> 2 -> 'deep', and check each evaluateName evaluates to the same value.
    walked = []
    ref = local_vars["data"]["variablesReference"]
    for key in ("'key'", "2", "'deep'"):
        children = {v["name"]: v for v in client.ok("variables", {"variablesReference": ref})["variables"]}
        child = children[key]
        walked.append(child["evaluateName"])
        value = client.ok("evaluate", {"expression": child["evaluateName"], "frameId": frame_id,
                                       "context": "watch"})["result"]
        assert value == child["value"]
        ref = child["variablesReference"]
    assert walked == ["data['key']", "data['key'][2]", "data['key'][2]['deep']"]
    assert ref == 0  # a string has no children

    point = {v["name"]: v for v in client.ok(
        "variables", {"variablesReference": local_vars["point"]["variablesReference"]})["variables"]}
    assert point["x"]["evaluateName"] == "point.x" and point["y"]["value"] == "[10, 20]"


def test_variables_paging(sessions):
    source = """
    big = list(range(1000))
    here = 1  # stop
    """
    path = sessions.program(source)
    client = sessions.launch(source, breakpoints=[line_of(path, "# stop")])
    thread = client.wait_stopped()["threadId"]
    big = client.locals_of(client.top_frame(thread)["id"])["big"]
    assert big["indexedVariables"] == 1000
    page = client.ok("variables", {"variablesReference": big["variablesReference"], "filter": "indexed",
                                   "start": 500, "count": 3})
    assert [(v["name"], v["value"], v["evaluateName"]) for v in page["variables"]] == [
        ("500", "500", "big[500]"), ("501", "501", "big[501]"), ("502", "502", "big[502]")]


def test_evaluate_results_and_errors(sessions):
    source = """
    def f():
        numbers = [1, 2, 3]
        here = 1  # stop

    f()
    """
    path = sessions.program(source)
    client = sessions.launch(source, breakpoints=[line_of(path, "# stop")])
    thread = client.wait_stopped()["threadId"]
    frame_id = client.top_frame(thread)["id"]
    result = client.ok("evaluate", {"expression": "sum(numbers) * 2", "frameId": frame_id, "context": "watch"})
    assert (result["result"], result["type"], result["variablesReference"]) == ("12", "int", 0)
    structured = client.ok("evaluate", {"expression": "numbers", "frameId": frame_id, "context": "hover"})
    assert structured["variablesReference"] > 0
    failed = client.request("evaluate", {"expression": "numbers[10]", "frameId": frame_id, "context": "watch"})
    assert failed["success"] is False and "IndexError" in failed["message"]
    syntax = client.request("evaluate", {"expression": "1 +", "frameId": frame_id, "context": "watch"})
    assert syntax["success"] is False and "SyntaxError" in syntax["message"]
    # The REPL also runs statements.
    assert client.ok("evaluate", {"expression": "import math", "frameId": frame_id, "context": "repl"})["result"] == ""
    assert client.ok("evaluate", {"expression": "math.sqrt(16)", "frameId": frame_id, "context": "repl"})["result"] == "4.0"
    unknown = client.request("evaluate", {"expression": "1", "frameId": 424242})
    assert unknown["success"] is False


def test_a_repr_that_raises_is_shown_not_fatal(sessions):
    source = """
    class Broken:
        def __repr__(self):
            raise ValueError("no repr for you")

    thing = Broken()
    here = 1  # stop
    print("still fine")
    """
    path = sessions.program(source)
    client = sessions.launch(source, breakpoints=[line_of(path, "# stop")])
    thread = client.wait_stopped()["threadId"]
    shown = client.locals_of(client.top_frame(thread)["id"])["thing"]["value"]
    assert shown == "<repr raised ValueError: no repr for you>"
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0
    assert "still fine" in client.output("stdout")


def test_schema_check_catches_a_bad_message():
    """The schema check that runs after every test can fail."""
    from conftest import schema_errors
    good = {"seq": 1, "type": "event", "event": "stopped", "body": {"reason": "breakpoint", "threadId": 1}}
    bad = {"seq": 2, "type": "event", "event": "stopped", "body": {"threadId": "one"}}
    assert schema_errors([good]) == []
    assert len(schema_errors([bad])) >= 1


def children(client, reference, **kwargs):
    return {v["name"]: v for v in client.ok("variables", {"variablesReference": reference, **kwargs})["variables"]}


def test_huge_containers_page_fast_and_never_build_a_full_repr(sessions):
    source = """
    import time
    huge = list(range(10_000_000))
    table = {i: str(i) for i in range(200_000)}
    text = "x" * 5_000_000
    here = 1  # stop
    """
    path = sessions.program(source)
    client = sessions.launch(source, breakpoints=[line_of(path, "# stop")])
    thread = client.wait_stopped(timeout=60)["threadId"]
    local_vars = client.locals_of(client.top_frame(thread)["id"])
    huge = local_vars["huge"]
    assert huge["indexedVariables"] == 10_000_000
    assert huge["value"].startswith("[0, 1, 2, 3") and huge["value"].endswith(", ...]") and len(huge["value"]) < 700
    started = time.monotonic()
    page = client.ok("variables", {"variablesReference": huge["variablesReference"], "filter": "indexed",
                                   "start": 9_999_990, "count": 10})["variables"]
    assert [v["value"] for v in page] == [str(n) for n in range(9_999_990, 10_000_000)]
    table = local_vars["table"]
    assert table["indexedVariables"] == 200_000
    entries = client.ok("variables", {"variablesReference": table["variablesReference"], "filter": "indexed",
                                      "start": 100, "count": 2})["variables"]
    assert [(v["name"], v["value"], v["evaluateName"]) for v in entries] == [
        ("100", "'100'", "table[100]"), ("101", "'101'", "table[101]")]
    assert time.monotonic() - started < 5
    assert local_vars["text"]["value"].endswith("... (5000000 characters)") and len(local_vars["text"]["value"]) < 700


def test_objects_show_groups_len_and_special_kinds(sessions):
    source = """
    import collections, dataclasses, enum

    @dataclasses.dataclass
    class Config:
        name: str
        retries: int = 3
        _secret: str = "hidden"

        def describe(self):
            return self.name

    class Color(enum.Enum):
        RED = 1

    Point = collections.namedtuple("Point", "x y")

    class Slotted:
        __slots__ = ("a", "b")
        def __init__(self):
            self.a = 1

    class Broken:
        def __getattr__(self, name):
            raise RuntimeError("broken getattr")
        def __repr__(self):
            return "<Broken>"

    def gen():
        yield 1

    config = Config("svc")
    color = Color.RED
    point = Point(1, 2)
    slotted = Slotted()
    broken = Broken()
    generator = gen()
    loop = [1]
    loop.append(loop)
    numbers = collections.deque([5, 6, 7])
    here = 1  # stop
    """
    path = sessions.program(source)
    client = sessions.launch(source, breakpoints=[line_of(path, "# stop")])
    thread = client.wait_stopped()["threadId"]
    local_vars = client.locals_of(client.top_frame(thread)["id"])

    config = children(client, local_vars["config"]["variablesReference"])
    assert config["name"]["value"] == "'svc'" and config["retries"]["value"] == "3"
    assert config["_secret"]["value"] == "'hidden'"  # protected members are inline by default
    assert "describe" not in config and "function variables" in config and "special variables" in config
    functions = children(client, config["function variables"]["variablesReference"])
    assert "describe" in functions and functions["describe"]["evaluateName"] == "config.describe"

    assert children(client, local_vars["color"]["variablesReference"])["name"]["value"] == "'RED'"
    point = children(client, local_vars["point"]["variablesReference"])
    assert point["x"]["value"] == "1" and point["y"]["evaluateName"] == "point.y"
    slotted = children(client, local_vars["slotted"]["variablesReference"])
    assert slotted["a"]["value"] == "1"
    broken = children(client, local_vars["broken"]["variablesReference"])
    assert local_vars["broken"]["value"] == "<Broken>" and "special variables" in broken
    assert children(client, local_vars["generator"]["variablesReference"])["(state)"]["value"] == "'GEN_CREATED'"
    assert local_vars["loop"]["value"] == "[1, [...]]"
    deque = children(client, local_vars["numbers"]["variablesReference"], filter="indexed", start=1, count=2)
    assert [v["value"] for v in deque.values()] == ["6", "7"]
    assert children(client, local_vars["numbers"]["variablesReference"], filter="named")["len()"]["value"] == "3"


def test_variable_presentation_hides_and_inlines(sessions):
    source = """
    class Thing:
        def method(self):
            pass
        def __init__(self):
            self._private = 1
            self.public = 2

    thing = Thing()
    here = 1  # stop
    """
    path = sessions.program(source)
    client = sessions.launch(source, breakpoints=[line_of(path, "# stop")],
                             attach_args={"variablePresentation": {"special": "hide", "function": "inline",
                                                                   "protected": "hide"}})
    thread = client.wait_stopped()["threadId"]
    thing = children(client, client.locals_of(client.top_frame(thread)["id"])["thing"]["variablesReference"])
    assert "method" in thing and "public" in thing
    assert "_private" not in thing and "special variables" not in thing and "__init__" not in thing


def test_hex_format(sessions):
    source = """
    value = 255
    values = [16, 32]
    here = 1  # stop
    """
    path = sessions.program(source)
    client = sessions.launch(source, breakpoints=[line_of(path, "# stop")])
    thread = client.wait_stopped()["threadId"]
    frame_id = client.top_frame(thread)["id"]
    scopes = client.ok("scopes", {"frameId": frame_id})["scopes"]
    local_vars = children(client, scopes[0]["variablesReference"], format={"hex": True})
    assert local_vars["value"]["value"] == "0xff" and local_vars["values"]["value"] == "[0x10, 0x20]"
    result = client.ok("evaluate", {"expression": "value", "frameId": frame_id, "format": {"hex": True}})
    assert result["result"] == "0xff"


def test_clipboard_context_copies_the_whole_value(sessions):
    source = """
    text = "x" * 5000
    here = 1  # stop
    """
    path = sessions.program(source)
    client = sessions.launch(source, breakpoints=[line_of(path, "# stop")])
    thread = client.wait_stopped()["threadId"]
    frame_id = client.top_frame(thread)["id"]
    capabilities = next(m for m in client.received if m.get("command") == "initialize")["body"]
    assert capabilities["supportsClipboardContext"] and capabilities["supportsValueFormattingOptions"]
    shown = client.ok("evaluate", {"expression": "text", "frameId": frame_id, "context": "watch"})["result"]
    copied = client.ok("evaluate", {"expression": "text", "frameId": frame_id, "context": "clipboard"})["result"]
    assert len(shown) < 5000 and copied == repr("x" * 5000)


def test_a_repr_that_never_returns_times_out_and_the_thread_stays_usable(sessions):
    source = """
    import time

    class Slow:
        def __repr__(self):
            while True:
                time.sleep(0.01)

    slow = Slow()
    fine = 42
    here = 1  # stop
    print("after", fine)
    """
    path = sessions.program(source)
    client = sessions.launch(source, breakpoints=[line_of(path, "# stop")], attach_args={"reprTimeout": 0.5})
    thread = client.wait_stopped()["threadId"]
    frame_id = client.top_frame(thread)["id"]
    started = time.monotonic()
    local_vars = client.locals_of(frame_id)
    assert local_vars["slow"]["value"] == "<repr timed out after 0.5s>"
    assert time.monotonic() - started < 5
    # While a repr runs, the session still answers.
    slow_request = client.start_request("evaluate", {"expression": "slow", "frameId": frame_id, "context": "watch"})
    assert client.ok("threads")["threads"]
    assert client.wait_response(slow_request)["body"]["result"] == "<repr timed out after 0.5s>"
    assert client.ok("evaluate", {"expression": "fine + 1", "frameId": frame_id})["result"] == "43"
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0
    assert "after 42" in client.output("stdout")


def test_numpy_arrays_show_shape_dtype_and_pages(sessions):
    source = """
    import numpy as np
    grid = np.arange(12, dtype=np.int32).reshape(3, 4)
    here = 1  # stop
    """
    path = sessions.program(source)
    client = sessions.launch(source, breakpoints=[line_of(path, "# stop")])
    thread = client.wait_stopped()["threadId"]
    grid = client.locals_of(client.top_frame(thread)["id"])["grid"]
    assert grid["type"] == "ndarray" and grid["indexedVariables"] == 3
    named = children(client, grid["variablesReference"], filter="named")
    assert named["shape"]["value"] == "(3, 4)" and named["dtype"]["value"] == "dtype('int32')"
    rows = client.ok("variables", {"variablesReference": grid["variablesReference"], "filter": "indexed",
                                   "start": 1, "count": 2})["variables"]
    assert [(r["name"], r["evaluateName"]) for r in rows] == [("1", "grid[1]"), ("2", "grid[2]")]
    assert rows[0]["value"] == "array([4, 5, 6, 7], dtype=int32)"


def test_modules_lists_imported_modules_with_their_files_in_pages(sessions):
    client = sessions.launch("""
    import json
    import sys
    sys.modules["not_a_module"] = object()
    print("ready")  # stop
    """, breakpoints=[4])
    client.wait_stopped()
    everything = client.ok("modules", {})
    names = [m["name"] for m in everything["modules"]]
    assert names == sorted(names) and everything["totalModules"] == len(names)
    json_module = next(m for m in everything["modules"] if m["name"] == "json")
    assert json_module["path"].endswith("json/__init__.py")
    assert "path" not in next(m for m in everything["modules"] if m["name"] == "not_a_module")
    page = client.ok("modules", {"startModule": 2, "moduleCount": 3})
    assert page["modules"] == everything["modules"][2:5] and page["totalModules"] == len(names)
    client.ok("continue", {"threadId": 1})
