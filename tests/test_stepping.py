"""next, stepIn and stepOut: across returns, recursion, exceptions, generators and await."""

from conftest import line_of


def stop_at(sessions, source, marker, **kwargs):
    """Launches `source` with a breakpoint on the line holding `marker`; returns (client, thread)."""
    path = sessions.program(source)
    client = sessions.launch(source, breakpoints=[line_of(path, marker)], **kwargs)
    stop = client.wait_stopped()
    # The breakpoint has done its job; steps below must not be helped by it.
    client.ok("setBreakpoints", {"source": {"path": client.path}, "breakpoints": []})
    return client, stop["threadId"]


def step(client, thread, kind="next"):
    client.ok(kind, {"threadId": thread})
    stop = client.wait_stopped()
    assert stop["reason"] == "step" and stop["threadId"] == thread
    frame = client.top_frame(thread)
    return frame["name"], frame["line"]


def lines(client, *markers):
    return [line_of(client.path, m) for m in markers]


CALLS = """
def add(a, b):
    result = a + b  # add body
    return result  # add return

def main():
    x = add(1, 2)  # call add
    y = x * 10  # after call
    return y

main()  # call main
print("end")  # after main
"""


def test_next_steps_over_calls_and_returns_into_the_caller(sessions):
    client, thread = stop_at(sessions, CALLS, "# call add")
    call, after = lines(client, "# call add", "# after call")
    assert step(client, thread) == ("main", after)
    assert step(client, thread) == ("main", after + 1)
    # Over the return: lands in the caller, on the line that called main.
    assert step(client, thread) == ("<module>", line_of(client.path, "# call main"))
    assert step(client, thread) == ("<module>", line_of(client.path, "# after main"))
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0


def test_step_in_and_step_out(sessions):
    client, thread = stop_at(sessions, CALLS, "# call add")
    body, ret, after = lines(client, "# add body", "# add return", "# after call")
    assert step(client, thread, "stepIn") == ("add", body)
    assert step(client, thread, "next") == ("add", ret)
    # Out of add: back in main, still on the calling line (the assignment is not done yet).
    name, line = step(client, thread, "stepOut")
    assert name == "main" and line in (line_of(client.path, "# call add"), after)
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0


def test_step_in_skips_library_code(sessions):
    source = """
    import json

    def main():
        text = json.dumps({"a": 1})  # call library
        return text  # after library

    main()
    """
    client, thread = stop_at(sessions, source, "# call library")
    assert step(client, thread, "stepIn") == ("main", line_of(client.path, "# after library"))


def test_next_in_recursion_never_stops_in_a_deeper_frame(sessions):
    source = """
    def fact(n):
        if n <= 1:
            return 1
        sub = fact(n - 1)  # recurse
        return n * sub  # combine

    print(fact(5))
    """
    client, thread = stop_at(sessions, source, "# recurse")
    depth = client.ok("stackTrace", {"threadId": thread})["totalFrames"]
    assert step(client, thread) == ("fact", line_of(client.path, "# combine"))
    assert client.ok("stackTrace", {"threadId": thread})["totalFrames"] == depth
    frame = client.top_frame(thread)
    assert client.locals_of(frame["id"])["n"]["value"] == "5"


def test_next_over_a_raise_caught_in_the_same_function_lands_on_the_handler(sessions):
    source = """
    def risky():
        raise ValueError("boom")

    def main():
        try:
            risky()  # raising call
            unreachable = 1
        except ValueError as e:
            handled = str(e)  # handler
        return handled

    main()
    """
    client, thread = stop_at(sessions, source, "# raising call")
    name, line = step(client, thread)
    # CPython reports the `except` clause line first, then the handler body.
    assert name == "main" and line in (line_of(client.path, "# handler") - 1, line_of(client.path, "# handler"))
    if line != line_of(client.path, "# handler"):
        assert step(client, thread) == ("main", line_of(client.path, "# handler"))


def test_next_over_an_exception_caught_in_the_caller_lands_on_the_callers_handler(sessions):
    source = """
    def inner():
        value = 1  # inner start
        raise KeyError("k")  # raise here

    def main():
        try:
            inner()
        except KeyError:
            caught = True  # caller handler
        return caught

    main()
    """
    client, thread = stop_at(sessions, source, "# raise here")
    name, line = step(client, thread)
    handler = line_of(client.path, "# caller handler")
    assert name == "main" and line in (handler - 1, handler)


def test_next_over_a_generator_driven_for_loop(sessions):
    source = """
    def numbers():
        for n in range(3):
            yield n  # yield

    def main():
        seen = []
        for value in numbers():  # loop head
            seen.append(value)  # loop body
        return seen  # after loop

    main()
    """
    client, thread = stop_at(sessions, source, "# loop head")
    head, body, after = lines(client, "# loop head", "# loop body", "# after loop")
    visited = [step(client, thread)[1] for _ in range(7)]
    # The loop alternates head and body in main only; the generator's frame is never stopped in.
    assert visited == [body, head, body, head, body, head, after]


def test_next_inside_a_generator_stays_in_the_generator(sessions):
    source = """
    def numbers():
        total = 0
        for n in range(3):
            total += n
            yield n  # yield point
            after_yield = n  # resumed

    for v in numbers():
        consumer = v

    """
    client, thread = stop_at(sessions, source, "# yield point")
    assert step(client, thread) == ("numbers", line_of(client.path, "# resumed"))


def test_next_over_await_stays_in_the_coroutine(sessions):
    source = """
    import asyncio

    async def other():
        for _ in range(3):
            await asyncio.sleep(0)
            busy = 1  # other task

    async def worker():
        a = 1  # before await
        await asyncio.sleep(0.01)  # await point
        b = 2  # after await
        return a + b

    async def main():
        await asyncio.gather(worker(), other())

    asyncio.run(main())
    """
    client, thread = stop_at(sessions, source, "# await point")
    assert step(client, thread) == ("worker", line_of(client.path, "# after await"))


def test_step_out_of_the_module_end_lets_the_program_finish(sessions):
    client, thread = stop_at(sessions, "x = 1  # only\n", "# only")
    client.ok("next", {"threadId": thread})
    client.wait_event("exited")
    assert client.debuggee.wait() == 0
    assert len(client.events("stopped")) == 1


def test_step_in_through_a_library_stops_where_it_calls_back_into_user_code(sessions):
    source = """
    import json

    def hook(obj):
        seen = obj  # callback
        return seen

    def main():
        value = json.loads('{"a": 1}', object_hook=hook)  # library call
        return value

    main()
    """
    client, thread = stop_at(sessions, source, "# library call")
    assert step(client, thread, "stepIn") == ("hook", line_of(client.path, "# callback"))


def test_just_my_code_rules_include_a_library_and_exclude_user_code(sessions, tmp_path):
    sessions.program("""
    def helper(x):
        doubled = x * 2  # vendored body
        return doubled
    """, name="vendor/helper.py")
    source = """
    import sys, os, json
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "vendor"))
    import helper

    def main():
        text = json.dumps([1])  # json call
        value = helper.helper(3)  # vendor call
        return text, value

    main()
    """
    rules = [{"module": "json", "include": True}, {"path": str(tmp_path / "vendor"), "include": False}]
    client, thread = stop_at(sessions, source, "# json call", attach_args={"rules": rules})
    name, _ = step(client, thread, "stepIn")
    assert "json" in client.top_frame(thread)["source"]["path"], name
    client.ok("stepOut", {"threadId": thread})
    client.wait_stopped()
    while client.top_frame(thread)["line"] != line_of(client.path, "# vendor call"):
        step(client, thread, "next")
    # The vendored helper is excluded: stepIn steps over it.
    assert step(client, thread, "stepIn")[0] == "main"


def test_a_rule_for_an_unknown_module_is_an_error(sessions):
    path = sessions.program("pass\n")
    debuggee = sessions.start([path])
    client = sessions.client(debuggee)
    client.ok("initialize", {"adapterID": "pydbg"})
    response = client.request("attach", {"rules": [{"module": "no_such_module_xyz", "include": True}]})
    assert response["success"] is False and "no_such_module_xyz" in response["message"]


GOTO = """
def other():
    return 0  # other function


count = 0
count += 1  # again
count += 10  # stop
for i in range(2):
    count += 100  # loop body
print("count", count)  # last
"""


def source_line(source, marker):
    """The line of `marker` in `source` as `sessions.program` writes it."""
    return next(n for n, text in enumerate(source.lstrip("\n").splitlines(), 1) if marker in text)


def goto_line(client, path, line):
    """gotoTargets then goto, as VS Code's Jump to Cursor does; returns goto's response."""
    targets = client.ok("gotoTargets", {"source": {"path": path}, "line": line})["targets"]
    assert [t["line"] for t in targets] == [line]
    return client.request("goto", {"threadId": 1, "targetId": targets[0]["id"]})


def test_goto_runs_a_line_again_or_skips_lines(sessions):
    client = sessions.launch(GOTO, breakpoints=[source_line(GOTO, "# stop")])
    path = client.path
    client.wait_stopped()
    assert goto_line(client, path, line_of(path, "# again"))["success"]
    stop = client.wait_stopped()
    assert stop["reason"] == "goto"
    frame = client.top_frame(stop["threadId"])
    assert frame["line"] == line_of(path, "# again")
    assert client.locals_of(frame["id"])["count"]["value"] == "1"
    client.ok("next", {"threadId": 1})  # count += 1 runs a second time
    client.wait_stopped()
    assert goto_line(client, path, line_of(path, "# last"))["success"]  # skips += 10 and the loop
    client.wait_stopped()
    client.ok("continue", {"threadId": 1})
    assert client.wait_event("exited")["body"]["exitCode"] == 0
    client.wait_output("count 2\n")


def test_goto_refusals_are_clear_errors(sessions):
    client = sessions.launch(GOTO, breakpoints=[source_line(GOTO, "# stop")])
    path = client.path
    client.wait_stopped()
    into_loop = goto_line(client, path, line_of(path, "# loop body"))
    assert not into_loop["success"] and "for loop" in into_loop["message"]
    other = goto_line(client, path, line_of(path, "# other function"))
    assert not other["success"] and "cannot go to line" in other["message"]
    past_the_end = client.ok("gotoTargets", {"source": {"path": path}, "line": 500})
    assert past_the_end["targets"] == []
    unknown = client.request("goto", {"threadId": 1, "targetId": 999})
    assert not unknown["success"] and "no goto target 999" in unknown["message"]
    top = client.top_frame(1)
    assert top["line"] == line_of(path, "# stop"), "a refused goto moves nothing"
    client.ok("continue", {"threadId": 1})
    client.wait_output("count 211\n")


STEP_IN_TARGETS = """
def inner(x):
    return x + 1  # inner body


def outer(x):
    return x * 2  # outer body


result = outer(inner(1)) + len("ab")  # stop
print("result", result)  # after
"""


def test_step_in_targets_lists_the_calls_and_steps_into_the_chosen_one(sessions):
    client = sessions.launch(STEP_IN_TARGETS, breakpoints=[source_line(STEP_IN_TARGETS, "# stop")])
    path = client.path
    stop = client.wait_stopped()
    frame = client.top_frame(stop["threadId"])
    targets = client.ok("stepInTargets", {"frameId": frame["id"]})["targets"]
    assert [t["label"] for t in targets] == ["inner", "outer", "len"], "in the order they run"
    by_label = {t["label"]: t["id"] for t in targets}

    client.ok("stepIn", {"threadId": 1, "targetId": by_label["outer"]})  # not inner, which runs first
    stop = client.wait_stopped()
    frame = client.top_frame(stop["threadId"])
    assert (frame["name"], frame["line"]) == ("outer", line_of(path, "# outer body"))
    assert client.locals_of(frame["id"])["x"]["value"] == "2"

    client.ok("stepOut", {"threadId": 1})
    stop = client.wait_stopped()
    # The targets of the last stop went with it.
    stale = client.request("stepIn", {"threadId": 1, "targetId": by_label["inner"]})
    assert not stale["success"] and f"no step-in target {by_label['inner']}" in stale["message"]
    frame = client.top_frame(stop["threadId"])
    targets = client.ok("stepInTargets", {"frameId": frame["id"]})["targets"]
    len_target = next(t["id"] for t in targets if t["label"] == "len")
    other_thread = client.request("stepIn", {"threadId": 2, "targetId": len_target})
    assert not other_thread["success"]
    client.ok("stepIn", {"threadId": 1, "targetId": len_target})  # a builtin: no frame to stop in
    stop = client.wait_stopped()
    assert client.top_frame(stop["threadId"])["line"] == line_of(path, "# after"), "then it is a next"

    unknown = client.request("stepIn", {"threadId": 1, "targetId": 999})
    assert not unknown["success"] and "no step-in target 999" in unknown["message"]
    client.ok("continue", {"threadId": 1})
    client.wait_output("result 6\n")
