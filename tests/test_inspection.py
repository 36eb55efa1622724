"""First inspection: stack traces with paging, scopes, variables with evaluateName, evaluate."""

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
    page = client.ok("variables", {"variablesReference": big["variablesReference"], "start": 500, "count": 3})
    assert [(v["name"], v["value"]) for v in page["variables"]] == [("500", "500"), ("501", "501"), ("502", "502")]


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
