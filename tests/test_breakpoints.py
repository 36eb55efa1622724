"""Line and function breakpoints: resolution, conditions, hit counts, logpoints, and the places
a breakpoint must work (module body, functions, late imports, nested code, running loops)."""

import os
import time

from conftest import line_of

LOOP = """
import sys
total = 0
for i in range(10):
    total += i  # loop body
print("total", total)
"""
BODY = 4  # the loop body's line in LOOP


def test_breakpoint_in_module_body_stops_with_locals(sessions):
    client = sessions.launch(LOOP, breakpoints=[BODY])
    stop = client.wait_stopped()
    assert stop["reason"] == "breakpoint"
    assert stop["hitBreakpointIds"] == [client.breakpoint_results[0]["id"]]
    frame = client.top_frame(stop["threadId"])
    assert (frame["name"], frame["line"], frame["source"]["path"]) == ("<module>", BODY, client.path)
    # In a module body, locals are the globals.
    assert client.locals_of(frame["id"])["i"]["value"] == "0"


def test_blank_and_comment_lines_move_to_next_code_line(sessions):
    source = """
    def f():

        # a comment
        return 42  # target

    f()
    """
    client = sessions.launch(source, breakpoints=[2, 3])
    target = line_of(client.path, "# target")
    assert [(b["verified"], b["line"]) for b in client.breakpoint_results] == [(True, target), (True, target)]
    stop = client.wait_stopped()
    assert client.top_frame(stop["threadId"])["line"] == target


def test_line_past_the_end_is_unverified_with_message(sessions):
    client = sessions.launch("x = 1\n", breakpoints=[50])
    (bp,) = client.breakpoint_results
    assert bp["verified"] is False
    assert "50" in bp["message"]
    assert client.debuggee.wait() == 0


def test_missing_file_is_unverified_with_message(sessions, tmp_path):
    answers = []
    sessions.launch("x = 1\n", before_done=lambda c: answers.append(c.ok(
        "setBreakpoints", {"source": {"path": str(tmp_path / "nope.py")}, "breakpoints": [{"line": 1}]})))
    (bp,) = answers[0]["breakpoints"]
    assert bp["verified"] is False and "nope.py" in bp["message"]


def test_condition(sessions):
    client = sessions.launch(LOOP, breakpoints=[{"line": BODY, "condition": "i == 7"}])
    stop = client.wait_stopped()
    frame = client.top_frame(stop["threadId"])
    assert client.locals_of(frame["id"])["i"]["value"] == "7"
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 0
    assert len(client.events("stopped")) == 1


def test_conditions_in_functions_read_locals_cells_globals_builtins_and_nested_scopes(sessions):
    """In a function, a condition is called as a function of the frame's locals it reads: each
    kind of name must resolve as it would in the frame, a local bound later falls back to the
    general path, and a generator expression in the condition sees the frame's locals."""
    source = """
    LIMIT = 3

    def outer(items):
        seen = []
        def inner(i):
            seen.append(i)
            late = 0  # body
            late = i
            return late
        for i in items:
            inner(i)
        return seen

    outer([1, 5, 9])
    """
    body = 7  # the line of `late = 0`
    # a local, a cell of the enclosing function (seen), a global and a builtin
    client = sessions.launch(source, breakpoints=[
        {"line": body, "condition": "i > LIMIT and len(seen) == 2 and abs(i) == i"}])
    stop = client.wait_stopped()
    assert client.locals_of(client.top_frame(stop["threadId"])["id"])["i"]["value"] == "5"
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 0 and len(client.events("stopped")) == 1
    assert "raised" not in client.output("console")

    # A local not bound yet: NameError on the general path too, reported once, and true.
    client = sessions.launch(source, breakpoints=[{"line": body, "condition": "late > 100"}])
    values = []
    for _ in range(3):
        stop = client.wait_stopped()
        values.append(client.locals_of(client.top_frame(stop["threadId"])["id"])["i"]["value"])
        client.ok("continue", {"threadId": stop["threadId"]})
    assert values == ["1", "5", "9"] and client.output("console").count("NameError") == 1
    assert client.debuggee.wait() == 0

    # A generator expression in the condition sees the frame's locals.
    client = sessions.launch(source, breakpoints=[{"line": body, "condition": "any(v > 8 for v in [i, len(seen)])"}])
    stop = client.wait_stopped()
    assert client.locals_of(client.top_frame(stop["threadId"])["id"])["i"]["value"] == "9"
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 0 and len(client.events("stopped")) == 1
    assert "raised" not in client.output("console")


def test_a_condition_that_looks_at_its_scope_sees_the_frames(sessions):
    source = """
    def f(i):
        x = i * 2
        return x  # here

    for i in range(4):
        f(i)
    """
    client = sessions.launch(source, breakpoints=[
        {"line": 3, "condition": "'x' in locals() and eval('x') == 4 and 'i' in dir()"}])
    stop = client.wait_stopped()
    assert client.locals_of(client.top_frame(stop["threadId"])["id"])["i"]["value"] == "2"
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 0 and len(client.events("stopped")) == 1


def test_a_condition_reads_the_globals_its_code_runs_with_each_time(sessions):
    source = """
    import types
    LIMIT = 3

    def check(i):
        return i  # check

    check(5)
    other = types.FunctionType(check.__code__, {"LIMIT": 100})
    other(50)
    other(200)
    """
    client = sessions.launch(source, breakpoints=[{"line": 5, "condition": "i > LIMIT"}])  # return i
    seen = []
    for _ in range(2):
        stop = client.wait_stopped()
        seen.append(client.locals_of(client.top_frame(stop["threadId"])["id"])["i"]["value"])
        client.ok("continue", {"threadId": stop["threadId"]})
    assert seen == ["5", "200"]
    assert client.debuggee.wait() == 0 and len(client.events("stopped")) == 2


def test_condition_that_raises_is_reported_once_and_counts_as_true(sessions):
    client = sessions.launch(LOOP, breakpoints=[{"line": BODY, "condition": "undefined_name > 1"}])
    for _ in range(2):
        client.ok("continue", {"threadId": client.wait_stopped()["threadId"]})
    stop = client.wait_stopped()  # the third hit: the program is stopped again
    client.ok("setBreakpoints", {"source": {"path": client.path}, "breakpoints": []})
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 0
    assert client.output().count("NameError") == 1


def test_invalid_condition_is_unverified(sessions):
    client = sessions.launch(LOOP, breakpoints=[{"line": BODY, "condition": "i ==="}])
    (bp,) = client.breakpoint_results
    assert bp["verified"] is False and "SyntaxError" in bp["message"]


def test_hit_conditions(sessions):
    for hit_condition, expected in [("3", ["2"]), ("==3", ["2"]), (">=9", ["8", "9"]), ("%4", ["3", "7"])]:
        client = sessions.launch(LOOP, breakpoints=[{"line": BODY, "hitCondition": hit_condition}])
        seen = []
        while len(seen) < len(expected):
            stop = client.wait_stopped()
            frame = client.top_frame(stop["threadId"])
            seen.append(client.locals_of(frame["id"])["i"]["value"])
            client.ok("continue", {"threadId": stop["threadId"]})
        assert seen == expected, hit_condition
        assert client.debuggee.wait() == 0
        assert len(client.events("stopped")) == len(expected)


def test_invalid_hit_condition_is_unverified(sessions):
    client = sessions.launch(LOOP, breakpoints=[{"line": BODY, "hitCondition": "often"}])
    assert client.breakpoint_results[0]["verified"] is False
    assert "hit condition" in client.breakpoint_results[0]["message"]


def test_logpoint_logs_without_stopping(sessions):
    client = sessions.launch(LOOP, breakpoints=[{"line": BODY, "logMessage": "i={i} twice={i * 2} {{literal}}"}])
    assert client.debuggee.wait() == 0
    assert client.events("stopped") == []
    logged = client.output("console")
    assert "i=0 twice=0 {literal}\n" in logged and "i=9 twice=18 {literal}\n" in logged


def test_function_nested_lambda_and_comprehension(sessions):
    source = """
    def outer():
        def inner(x):
            return x + 1  # inner body
        square = lambda v: v * v  # lambda body
        values = [inner(n) for n in range(3)]  # comprehension
        gen = list(square(n) for n in values)  # genexpr
        return gen

    print(outer())
    """
    path = sessions.program(source)
    lines = [line_of(path, m) for m in ("# inner body", "# lambda body", "# comprehension", "# genexpr")]
    debuggee = sessions.start([path])
    client = sessions.client(debuggee)
    client.handshake({path: lines})
    hits = set()
    while len(hits) < 6:
        stop = client.wait_stopped()
        frame = client.top_frame(stop["threadId"])
        hits.add((frame["name"], frame["line"]))
        client.ok("continue", {"threadId": stop["threadId"]})
    assert hits == {
        ("outer.<locals>.inner", lines[0]),
        ("outer", lines[1]),  # the assignment of the lambda
        ("outer.<locals>.<lambda>", lines[1]),  # the lambda's own body, on the same line
        ("outer", lines[2]),  # list comprehensions are inlined (PEP 709)
        ("outer", lines[3]),
        ("outer.<locals>.<genexpr>", lines[3]),
    }


def test_module_imported_after_configuration_done(sessions):
    sessions.program("""
    def work(n):
        return n * 3  # in helper
    """, name="helper.py")
    helper = str(sessions.tmp_path / "helper.py")
    client = sessions.launch("""
    import time
    time.sleep(0.2)
    import helper
    print(helper.work(2))
    """, before_done=lambda c: c.ok("setBreakpoints", {"source": {"path": helper},
                                                      "breakpoints": [{"line": 2}]}))
    stop = client.wait_stopped()
    frame = client.top_frame(stop["threadId"])
    assert (frame["source"]["path"], frame["line"]) == (helper, 2)
    assert client.locals_of(frame["id"])["n"]["value"] == "2"


def test_breakpoint_set_while_a_loop_is_already_running(sessions):
    source = """
    import time
    deadline = time.monotonic() + 20
    count = 0
    while time.monotonic() < deadline:
        count += 1  # hot line
    print("done")
    """
    path = sessions.program(source)
    debuggee = sessions.start([path], pydbg_args=())
    client = sessions.client(debuggee)
    client.handshake()
    time.sleep(0.3)  # the loop is running before the breakpoint exists
    client.ok("setBreakpoints", {"source": {"path": path}, "breakpoints": [{"line": line_of(path, "# hot line")}]})
    stop = client.wait_stopped(timeout=5)
    frame = client.top_frame(stop["threadId"])
    assert frame["line"] == line_of(path, "# hot line")
    assert int(client.locals_of(frame["id"])["count"]["value"]) > 0


def test_removing_breakpoints_lets_the_program_finish(sessions):
    client = sessions.launch(LOOP, breakpoints=[BODY])
    stop = client.wait_stopped()
    client.ok("setBreakpoints", {"source": {"path": client.path}, "breakpoints": []})
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 0
    assert len(client.events("stopped")) == 1
    assert "total 45" in client.output("stdout")


def test_function_breakpoint_by_qualified_name(sessions):
    source = """
    class Greeter:
        def hello(self, name):
            message = "hi " + name  # first line
            return message

    def hello(name):
        return name

    hello("plain")
    Greeter().hello("bob")
    """
    path = sessions.program(source)
    debuggee = sessions.start([path])
    client = sessions.client(debuggee)
    client.handshake(before_done=lambda c: c.ok("setFunctionBreakpoints",
                                                 {"breakpoints": [{"name": "Greeter.hello"}]}))
    stop = client.wait_stopped()
    assert stop["reason"] == "function breakpoint"
    frame = client.top_frame(stop["threadId"])
    assert (frame["name"], frame["line"]) == ("Greeter.hello", line_of(path, "# first line"))
    assert client.locals_of(frame["id"])["name"]["value"] == "'bob'"
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 0


def test_function_breakpoint_with_module_prefix_and_condition(sessions):
    source = """
    def step(n):
        return n + 1

    for k in range(5):
        step(k)
    """
    path = sessions.program(source)
    debuggee = sessions.start([path])
    client = sessions.client(debuggee)
    client.handshake(before_done=lambda c: c.ok("setFunctionBreakpoints",
                                                 {"breakpoints": [{"name": "__main__.step", "condition": "n == 3"}]}))
    stop = client.wait_stopped()
    frame = client.top_frame(stop["threadId"])
    assert client.locals_of(frame["id"])["n"]["value"] == "3"
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 0
    assert len(client.events("stopped")) == 1


def test_path_mappings_translate_breakpoints_and_stack_paths(sessions, tmp_path):
    """The client knows the program as /…/local/app.py; it runs as /…/remote/app.py."""
    remote = tmp_path / "remote"
    path = sessions.program("""
    value = 1
    value += 1  # stop
    """, name="remote/app.py")
    local_root = str(tmp_path / "local")
    local_path = os.path.join(local_root, "app.py")
    debuggee = sessions.start([path], cwd=str(remote))
    client = sessions.client(debuggee)
    # remoteRoot "." is the program's working directory.
    bps = client.handshake({local_path: [line_of(path, "# stop")]},
                           attach_args={"pathMappings": [{"localRoot": local_root, "remoteRoot": "."}]})
    assert bps[local_path][0]["verified"] is True
    stop = client.wait_stopped()
    frame = client.top_frame(stop["threadId"])
    assert frame["source"]["path"] == local_path and frame["line"] == line_of(path, "# stop")
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.wait_event("exited")["body"]["exitCode"] == 0
