"""Column breakpoints and breakpointLocations: a breakpoint on part of a line (a statement after
`;`, a lambda, one comprehension among several) stops only when that part runs."""

from conftest import line_of

LINE = """
def apply(f, x):
    return f(x)

log = []

def record(tag, value):
    log.append(tag)
    return value

total = 0
for i in range(3):
    a = i; b = apply(lambda v: v * 10, i)  # the line
    total += a + b
values = [record("first", n) for n in range(2)] + [record("second", m) for m in range(2)]  # comprehensions
print("total", total, "log", log)
"""


def column_of(path, marker, text):
    """The 1-based column of `text` on the line holding `marker`."""
    line = open(path).read().splitlines()[line_of(path, marker) - 1]
    return line.index(text) + 1


def launch_with_columns(sessions, spots):
    """Starts LINE with breakpoints at (marker, text) spots; answers the client and the answers."""
    path = sessions.program(LINE)
    breakpoints = [{"line": line_of(path, marker), "column": column_of(path, marker, text)} for marker, text in spots]
    client = sessions.launch(LINE, breakpoints=breakpoints)
    return client, client.breakpoint_results


def test_breakpoint_locations_are_the_statements_lambdas_and_comprehensions_of_a_line(sessions):
    path = sessions.program(LINE)
    client = sessions.launch(LINE, breakpoints=[line_of(path, "# comprehensions")])
    thread = client.wait_stopped()["threadId"]
    assert client.capabilities["supportsBreakpointLocationsRequest"] is True
    line = line_of(path, "# the line")
    found = client.ok("breakpointLocations", {"source": {"path": path}, "line": line})["breakpoints"]
    expected = sorted(column_of(path, "# the line", text) for text in ["a = i", "b = apply", "lambda"])
    assert [(b["line"], b["column"]) for b in found] == [(line, c) for c in expected]
    plain = client.ok("breakpointLocations", {"source": {"path": path}, "line": line + 1})["breakpoints"]
    assert [b["column"] for b in plain] == [5]
    several = client.ok("breakpointLocations", {"source": {"path": path}, "line": line, "endLine": line + 1})
    assert len(several["breakpoints"]) == 4
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0


def test_a_breakpoint_on_the_second_statement_of_a_line_stops_after_the_first(sessions):
    client, placed = launch_with_columns(sessions, [("# the line", "b = apply")])
    assert placed[0]["verified"] is True and placed[0]["column"] == column_of(client.path, "# the line", "b = apply")
    seen = []
    for _ in range(3):
        stop = client.wait_stopped()
        assert stop["reason"] == "breakpoint" and stop["hitBreakpointIds"] == [placed[0]["id"]], stop
        frame = client.top_frame(stop["threadId"])
        assert frame["name"] == "<module>" and frame["line"] == line_of(client.path, "# the line")
        local_vars = client.locals_of(frame["id"])
        seen.append((local_vars["a"]["value"], local_vars.get("b", {}).get("value")))
        client.ok("continue", {"threadId": stop["threadId"]})
    # `a = i` has run at each stop; `b` still holds the previous iteration's value.
    assert seen == [("0", None), ("1", "0"), ("2", "10")], seen
    assert client.debuggee.wait() == 0
    assert "total 33" in client.output("stdout")


def test_a_breakpoint_on_the_first_statement_stops_before_it(sessions):
    client, placed = launch_with_columns(sessions, [("# the line", "a = i")])
    stop = client.wait_stopped()
    assert "a" not in client.locals_of(client.top_frame(stop["threadId"])["id"])
    client.ok("setBreakpoints", {"source": {"path": client.path}, "breakpoints": []})
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 0


def test_a_breakpoint_on_a_lambda_stops_inside_it_not_where_it_is_made(sessions):
    client, placed = launch_with_columns(sessions, [("# the line", "lambda"), ("# the line", "a = i")])
    lambda_id, statement_id = placed[0]["id"], placed[1]["id"]
    order = []
    for _ in range(6):
        stop = client.wait_stopped()
        frame = client.top_frame(stop["threadId"])
        order.append((stop["hitBreakpointIds"][0], frame["name"]))
        if frame["name"] == "<lambda>":
            assert client.locals_of(frame["id"])["v"]["value"] in ("0", "1", "2")
        client.ok("continue", {"threadId": stop["threadId"]})
    assert order == [(statement_id, "<module>"), (lambda_id, "<lambda>")] * 3, order
    assert client.debuggee.wait() == 0


def test_a_breakpoint_on_one_comprehension_among_several(sessions):
    client, placed = launch_with_columns(sessions, [("# comprehensions", '[record("second"')])
    stop = client.wait_stopped()
    frame = client.top_frame(stop["threadId"])
    assert frame["line"] == line_of(client.path, "# comprehensions")
    log = client.ok("evaluate", {"expression": "log", "frameId": frame["id"], "context": "watch"})["result"]
    assert log == "['first', 'first']", "the first comprehension has run, the second has not"
    client.ok("setBreakpoints", {"source": {"path": client.path}, "breakpoints": []})
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 0


def test_a_column_with_nothing_to_stop_at_is_refused_and_the_rest_still_work(sessions):
    path = sessions.program(LINE)
    line = line_of(path, "# the line")
    client = sessions.launch(LINE, breakpoints=[{"line": line, "column": 200},
                                                {"line": line, "column": column_of(path, "# the line", "b = apply")}])
    refused, placed = client.breakpoint_results
    assert refused["verified"] is False and "nothing to stop at in column 200" in refused["message"], refused
    assert placed["verified"] is True
    stop = client.wait_stopped()
    assert stop["hitBreakpointIds"] == [placed["id"]]
    client.ok("setBreakpoints", {"source": {"path": client.path}, "breakpoints": []})
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 0
