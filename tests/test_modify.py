"""Changing a stopped program: setVariable, setExpression, REPL assignments; and return values,
hovers, and completions."""

import json
import time

from conftest import line_of

PROGRAM = """
class Box:
    def __init__(self):
        self.size = 1

SETTING = "old"

def slow():
    while True:
        pass

def work():
    count = 1
    box = Box()
    table = {"key": 1}
    items = [1, 2, 3]
    here = 1  # stop
    print("result", count, box.size, table["key"], items[1], SETTING)

work()
"""


def stopped(sessions, source=PROGRAM, marker="# stop", **kwargs):
    path = sessions.program(source)
    client = sessions.launch(source, breakpoints=[line_of(path, marker)], **kwargs)
    thread = client.wait_stopped()["threadId"]
    frame_id = client.top_frame(thread)["id"]
    return client, thread, frame_id


def refs(client, frame_id):
    scopes = client.ok("scopes", {"frameId": frame_id})["scopes"]
    return scopes[0]["variablesReference"], scopes[1]["variablesReference"]


def test_set_variable_everywhere_and_the_program_uses_the_values(sessions):
    client, thread, frame_id = stopped(sessions)
    locals_ref, globals_ref = refs(client, frame_id)
    changed = client.ok("setVariable", {"variablesReference": locals_ref, "name": "count", "value": "count + 41"})
    assert (changed["value"], changed["type"]) == ("42", "int")
    assert client.locals_of(frame_id)["count"]["value"] == "42"
    client.ok("setVariable", {"variablesReference": globals_ref, "name": "SETTING", "value": "'new'"})
    local_vars = client.locals_of(frame_id)
    client.ok("setVariable", {"variablesReference": local_vars["box"]["variablesReference"], "name": "size",
                              "value": "7"})
    client.ok("setVariable", {"variablesReference": local_vars["table"]["variablesReference"], "name": "'key'",
                              "value": "9"})
    client.ok("setVariable", {"variablesReference": local_vars["items"]["variablesReference"], "name": "1",
                              "value": "20"})
    bad = client.request("setVariable", {"variablesReference": locals_ref, "name": "count", "value": "1 +"})
    assert bad["success"] is False and "SyntaxError" in bad["message"]
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0
    assert "result 42 7 9 20 new" in client.output("stdout")


def test_set_expression_and_repl_assignments_persist(sessions):
    client, thread, frame_id = stopped(sessions)
    result = client.ok("setExpression", {"expression": "box.size", "value": "3 * 5", "frameId": frame_id})
    assert result["value"] == "15"
    refused = client.request("setExpression", {"expression": "count + 1", "value": "2", "frameId": frame_id})
    assert refused["success"] is False and "cannot assign" in refused["message"]
    client.ok("evaluate", {"expression": "count = 100", "frameId": frame_id, "context": "repl"})
    client.ok("evaluate", {"expression": "items.append(4)", "frameId": frame_id, "context": "repl"})
    assert client.locals_of(frame_id)["count"]["value"] == "100"
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0
    assert "result 100 15 1 2 old" in client.output("stdout")


def test_hover_evaluates_what_the_user_selected(sessions):
    # VS Code sends a hover for the name under the mouse or for the text the user selected.
    client, thread, frame_id = stopped(sessions)

    def hover(expression):
        return client.request("evaluate", {"expression": expression, "frameId": frame_id, "context": "hover"})

    assert hover("table['key']")["body"]["result"] == "1"
    assert hover("len(items)")["body"]["result"] == "3"
    assert hover("count + 1")["body"]["result"] == "2"
    assert hover("[x * 2 for x in items]")["body"]["result"] == "[2, 4, 6]"
    missing = hover("undefined_name_xyz")
    assert missing["success"] is False
    assert missing["message"] == "NameError: name 'undefined_name_xyz' is not defined"
    assert json.dumps(missing).count("is not defined") == 1, "the error's text once"
    assert hover("count = 5")["success"] is False, "no statements"
    assert hover("(count := 5)")["success"] is True
    assert client.locals_of(frame_id)["count"]["value"] == "1", "a hover writes nothing back"
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0
    assert "result 1 1 1 2 old" in client.output("stdout")


def test_hovers_and_watches_that_never_return_are_cut_off(sessions):
    client, thread, frame_id = stopped(sessions, attach_args={"reprTimeout": 0.5})
    for context in ("hover", "watch"):
        started = time.monotonic()
        response = client.request("evaluate", {"expression": "slow()", "frameId": frame_id, "context": context})
        assert response["success"] is False and response["message"] == "timed out after 0.5s", response
        assert time.monotonic() - started < 5
    assert client.ok("evaluate", {"expression": "len(items)", "frameId": frame_id, "context": "watch"})["result"] == "3"
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0


def test_return_value_after_stepping_over_a_return(sessions):
    source = """
    def compute():
        result = 6 * 7
        return result  # return line

    def main():
        value = compute()  # call
        return value

    main()
    """
    client, thread, frame_id = stopped(sessions, source, "# return line")
    client.ok("setBreakpoints", {"source": {"path": client.path}, "breakpoints": []})
    client.ok("next", {"threadId": thread})
    client.wait_stopped()
    frame = client.top_frame(thread)
    assert frame["name"] == "main"
    local_vars = client.locals_of(frame["id"])
    assert local_vars["(return) compute"]["value"] == "42"
    client.ok("next", {"threadId": thread})
    client.wait_stopped()
    assert "(return) compute" not in client.locals_of(client.top_frame(thread)["id"])


def test_stepping_over_a_line_shows_what_its_calls_returned(sessions):
    source = """
    def compute(n):
        return n * n

    def label(n):
        return f"#{n}"

    def main():
        r = compute(3) + len(label(7))  # call
        after = r  # next line
        return after

    main()
    """
    client, thread, frame_id = stopped(sessions, source, "# call")
    client.ok("next", {"threadId": thread})
    client.wait_stopped()
    frame = client.top_frame(thread)
    assert frame["line"] == line_of(client.path, "# next line")
    names = list(client.locals_of(frame["id"]))
    assert names[:2] == ["(return) compute", "(return) label"], names
    local_vars = client.locals_of(frame["id"])
    assert (local_vars["(return) compute"]["value"], local_vars["(return) label"]["value"]) == ("9", "'#7'")
    client.ok("next", {"threadId": thread})
    client.wait_stopped()
    assert not any(n.startswith("(return)") for n in client.locals_of(client.top_frame(thread)["id"]))


def test_return_value_can_be_turned_off(sessions):
    source = """
    def compute():
        return 42  # return line

    compute()
    x = compute()  # call
    y = 1
    """
    client, thread, frame_id = stopped(sessions, source, "# return line", attach_args={"showReturnValue": False})
    client.ok("setBreakpoints", {"source": {"path": client.path}, "breakpoints": []})
    client.ok("stepOut", {"threadId": thread})
    client.wait_stopped()
    assert not any(name.startswith("(return)") for name in client.locals_of(client.top_frame(thread)["id"]))
    client.ok("next", {"threadId": thread})
    client.wait_stopped()
    assert client.top_frame(thread)["line"] == line_of(client.path, "# call")
    client.ok("next", {"threadId": thread})
    client.wait_stopped()
    assert not any(name.startswith("(return)") for name in client.locals_of(client.top_frame(thread)["id"]))


def test_completions(sessions):
    client, thread, frame_id = stopped(sessions)
    capabilities = client.received[0]["body"]
    assert capabilities["supportsCompletionsRequest"] and "." in capabilities["completionTriggerCharacters"]

    def labels(text, column=None):
        body = client.ok("completions", {"text": text, "column": column or len(text) + 1, "frameId": frame_id})
        return [t["label"] for t in body["targets"]], body["targets"]

    names, targets = labels("co")
    assert "count" in names and "compile" in names and "continue" in names
    assert targets[0]["start"] == 1 and targets[0]["length"] == 2
    attributes, targets = labels("x = box.si")
    assert attributes == ["size"] and targets[0]["start"] == 9
    keys, _ = labels("table[")
    assert keys == ["'key'"]
    methods, _ = labels("items.")
    assert "append" in methods and "__len__" not in methods
    nothing, _ = labels("box.size().")
    assert nothing == []


def test_await_in_the_repl_inside_a_running_coroutine(sessions):
    source = """
    import asyncio

    async def double(n):
        await asyncio.sleep(0.01)
        return n * 2

    async def main():
        base = 21
        here = 1  # stop
        print("base", base)

    asyncio.run(main())
    """
    client, thread, frame_id = stopped(sessions, source)
    result = client.ok("evaluate", {"expression": "await double(base)", "frameId": frame_id, "context": "repl"})
    assert result["result"] == "42"
    client.ok("evaluate", {"expression": "base = await double(base)", "frameId": frame_id, "context": "repl"})
    failed = client.request("evaluate", {"expression": "await missing()", "frameId": frame_id, "context": "repl"})
    assert failed["success"] is False and "NameError" in failed["message"]
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0
    assert "base 42" in client.output("stdout")
