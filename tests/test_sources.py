"""loadedSources, loadedSource events and source: the program's files, and the text of code
without a file (`-c CODE`, notebook-style cells in linecache, code typed in the debug REPL)."""

import os

import pydbg

from conftest import line_of

PYDBG_DIR = os.path.dirname(os.path.abspath(pydbg.__file__))

IMPORTS = """
import time
import helper  # first import
print("ready", helper.VALUE)  # stop here
import late
time.sleep(2.5)
print("done", late.VALUE)
"""


def test_loaded_sources_lists_the_programs_files_not_pydbgs_and_then_new_ones(sessions):
    sessions.program("VALUE = 1\n", name="helper.py")
    sessions.program("VALUE = 2\n", name="late.py")
    path = sessions.program(IMPORTS)
    client = sessions.launch(IMPORTS, breakpoints=[line_of(path, "# stop here")])
    assert client.capabilities["supportsLoadedSourcesRequest"] is True
    thread = client.wait_stopped()["threadId"]
    sources = client.ok("loadedSources")["sources"]
    paths = [s.get("path") for s in sources]
    assert path in paths and os.path.join(os.path.dirname(path), "helper.py") in paths
    assert not any(p and p.startswith(PYDBG_DIR) for p in paths), "pydbg's own files are not the program's"
    assert all(s["name"] for s in sources)
    late = os.path.join(os.path.dirname(path), "late.py")
    assert late not in paths

    client.ok("continue", {"threadId": thread})
    event = client.wait_event("loadedSource", lambda body: body["source"].get("path") == late, timeout=10)
    assert event["body"]["reason"] == "new"
    assert client.debuggee.wait() == 0
    announced = [e["body"]["source"].get("path") for e in client.events("loadedSource")]
    assert path not in announced, "what loadedSources listed is not announced again"


DASH_C = """
def work(n):
    total = n + 1
    return total

breakpoint()
print("work", work(4))
"""


def test_dash_c_code_shows_its_text_and_takes_breakpoints_by_reference(sessions):
    debuggee = sessions.start(["-c", DASH_C])
    client = sessions.client(debuggee)
    client.handshake()
    thread = client.wait_stopped()["threadId"]
    top = client.top_frame(thread)
    source = top["source"]
    assert source["name"] == "<string>" and "path" not in source and source["sourceReference"] > 0, source
    body = client.ok("source", {"source": source, "sourceReference": source["sourceReference"]})
    assert body["content"] == DASH_C and body["mimeType"] == "text/x-python"
    placed = client.ok("setBreakpoints", {"source": source, "breakpoints": [{"line": 4}]})["breakpoints"]
    assert placed[0]["verified"] is True and placed[0]["line"] == 4
    client.ok("continue", {"threadId": thread})
    stop = client.wait_stopped()
    assert stop["reason"] == "breakpoint"
    frame = client.top_frame(thread)
    assert (frame["name"], frame["line"]) == ("work", 4)
    assert client.locals_of(frame["id"])["total"]["value"] == "5"
    client.ok("continue", {"threadId": thread})
    assert debuggee.wait() == 0
    assert "work 5" in client.output("stdout")


CELL = """
import linecache
import time

CELL_TEXT = "def double(x):\\n    y = x * 2\\n    return y\\n"
linecache.cache["<cell-1>"] = (len(CELL_TEXT), None, CELL_TEXT.splitlines(True), "<cell-1>")
exec(compile(CELL_TEXT, "<cell-1>", "exec"))
print("ready")  # stop here
print("doubled", double(21))
"""


def test_a_cell_in_linecache_is_a_source_with_breakpoints(sessions):
    path = sessions.program(CELL)
    client = sessions.launch(CELL, breakpoints=[line_of(path, "# stop here")])
    thread = client.wait_stopped()["threadId"]
    cell = next(s for s in client.ok("loadedSources")["sources"] if s["name"] == "<cell-1>")
    assert cell["sourceReference"] > 0 and "path" not in cell
    text = client.ok("source", {"sourceReference": cell["sourceReference"]})["content"]
    assert text.splitlines()[1] == "    y = x * 2"
    placed = client.ok("setBreakpoints", {"source": cell, "breakpoints": [{"line": 3}]})["breakpoints"]
    assert placed[0]["verified"] is True
    client.ok("continue", {"threadId": thread})
    assert client.wait_stopped()["reason"] == "breakpoint"
    frame = client.top_frame(thread)
    assert frame["name"] == "double" and frame["line"] == 3
    assert frame["source"]["sourceReference"] == cell["sourceReference"]
    assert client.locals_of(frame["id"])["y"]["value"] == "42"
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0


def test_code_typed_in_the_repl_is_a_source(sessions):
    path = sessions.program(CELL)
    client = sessions.launch(CELL, breakpoints=[line_of(path, "# stop here")])
    thread = client.wait_stopped()["threadId"]
    frame_id = client.top_frame(thread)["id"]
    typed = "def triple(v):\n    return v * 3"
    client.ok("evaluate", {"expression": typed, "frameId": frame_id, "context": "repl"})
    assert client.ok("evaluate", {"expression": "triple(5)", "frameId": frame_id, "context": "repl"})["result"] == "15"
    typed_sources = [s for s in client.ok("loadedSources")["sources"] if s["name"].startswith("<repl ")]
    texts = [client.ok("source", {"sourceReference": s["sourceReference"]})["content"] for s in typed_sources]
    assert typed in texts
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0


EXEC = """
import collections

Point = collections.namedtuple("Point", "x y")  # compiles a <string> text of its own
first = "def first(a):\\n    return a + 1\\n"
second = "def second(b):\\n    breakpoint()\\n    return b * 2\\n"
exec(compile(first, "<string>", "exec"))
exec(compile(second, "<string>", "exec"))
print("results", first(1), second(2))
"""


def test_text_compiled_at_run_time_is_found_among_texts_of_the_same_name(sessions):
    client = sessions.launch(EXEC)
    thread = client.wait_stopped()["threadId"]
    frames = client.ok("stackTrace", {"threadId": thread})["stackFrames"]
    top = frames[0]
    assert top["name"] == "second" and top["source"]["name"] == "<string>", top
    text = client.ok("source", {"sourceReference": top["source"]["sourceReference"]})["content"]
    assert text == "def second(b):\n    breakpoint()\n    return b * 2\n"
    assert frames[1]["source"]["path"] == client.path
    # Asked again (the match is remembered now), the frame shows the same text.
    again = client.ok("stackTrace", {"threadId": thread})["stackFrames"][0]
    assert again["source"]["sourceReference"] == top["source"]["sourceReference"]
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0
    assert "results 2 4" in client.output("stdout")


def test_unknown_sources_are_errors(sessions):
    path = sessions.program(CELL)
    client = sessions.launch(CELL, breakpoints=[line_of(path, "# stop here")])
    thread = client.wait_stopped()["threadId"]
    missing = client.request("source", {"sourceReference": 999})
    assert missing["success"] is False and "there is no source 999" in missing["message"]
    nowhere = client.request("setBreakpoints", {"source": {"name": "x"}, "breakpoints": [{"line": 1}]})
    assert nowhere["success"] is False and "source.path or source.sourceReference" in nowhere["message"]
    stale = client.request("setBreakpoints", {"source": {"sourceReference": 77}, "breakpoints": [{"line": 1}]})
    assert stale["success"] is False and "there is no source 77" in stale["message"]
    client.ok("continue", {"threadId": thread})
    assert client.debuggee.wait() == 0
