"""Debugging with the tools users run every day: a pytest run under `module: pytest`, where
justMyCode keeps pytest's own frames and exceptions out of the way; Flask's and Django's
reloading development servers, whose reloaded processes are child sessions."""

import http.client
import os
import queue
import textwrap
import threading
import time
import urllib.request

import pytest

from conftest import line_of
from dap_client import free_port
from test_adapter import Adapter
from test_subprocesses import ChildSessions

FAILING_TEST = """
def helper(value):
    return value * 2

def test_doubles():
    result = helper(2)  # stop
    assert result == 5  # fails
"""


def launch_pytest(sessions, tmp_path, filters, breakpoints=()):
    path = sessions.program(FAILING_TEST, name="test_sample.py")
    adapter = Adapter(sessions)
    response = adapter.launch(
        {"module": "pytest", "args": ["-q", "-p", "no:cacheprovider", path], "cwd": str(tmp_path)},
        breakpoints={path: [line_of(path, marker) for marker in breakpoints]}, exceptions=filters)
    assert response["success"], response
    return adapter.client, path


def test_a_failing_pytest_test_ends_the_program_without_stopping_in_pytest(sessions, tmp_path):
    client, _ = launch_pytest(sessions, tmp_path, ["uncaught"])
    assert client.wait_event("exited")["body"]["exitCode"] == 1
    assert client.events("stopped") == [], "pytest's own SystemExit is the program ending"
    assert "1 failed" in client.output("stdout")


def test_user_unhandled_stops_once_in_the_test_then_the_run_ends(sessions, tmp_path):
    client, path = launch_pytest(sessions, tmp_path, ["uncaught", "userUnhandled"])
    stop = client.wait_stopped()
    assert stop["reason"] == "exception"
    info = client.ok("exceptionInfo", {"threadId": stop["threadId"]})
    assert (info["breakMode"], info["details"]["typeName"]) == ("userUnhandled", "AssertionError")
    assert client.top_frame(stop["threadId"])["line"] == line_of(path, "# fails")
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.wait_event("exited")["body"]["exitCode"] == 1
    assert len(client.events("stopped")) == 1, client.events("stopped")


def test_a_passing_test_stops_at_a_breakpoint_in_the_code_it_tests_and_ends_passed(sessions, tmp_path):
    calc = sessions.program("""
    def double(x):
        result = x * 2  # in the code under test
        return result
    """, name="calc.py")
    test = sessions.program("""
    from calc import double

    def test_double():
        assert double(21) == 42
    """, name="test_calc.py")
    adapter = Adapter(sessions)
    response = adapter.launch(
        {"module": "pytest", "args": ["-q", "-p", "no:cacheprovider", test], "cwd": str(tmp_path)},
        breakpoints={calc: [line_of(calc, "# in the code under test")]}, exceptions=["uncaught", "userUnhandled"])
    assert response["success"], response
    client = adapter.client
    stop = client.wait_stopped()
    assert stop["reason"] == "breakpoint"
    frames = client.ok("stackTrace", {"threadId": stop["threadId"]})["stackFrames"]
    assert [(f["name"], f["source"]["path"]) for f in frames[:2]] == [("double", calc), ("test_double", test)]
    assert client.locals_of(frames[0]["id"])["x"]["value"] == "21"
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.wait_event("exited")["body"]["exitCode"] == 0
    assert len(client.events("stopped")) == 1, "a passing test stops nowhere else"
    assert "1 passed" in client.output("stdout")


@pytest.mark.parametrize("just_my_code", [True, False])
def test_library_frames_are_set_back_under_just_my_code(sessions, tmp_path, just_my_code):
    path = sessions.program(FAILING_TEST, name="test_sample.py")
    adapter = Adapter(sessions)
    response = adapter.launch(
        {"module": "pytest", "args": ["-q", "-p", "no:cacheprovider", path], "cwd": str(tmp_path),
         "justMyCode": just_my_code},
        breakpoints={path: [line_of(path, "# stop")]}, exceptions=[])
    assert response["success"], response
    client = adapter.client
    stop = client.wait_stopped()
    frames = client.ok("stackTrace", {"threadId": stop["threadId"]})["stackFrames"]
    assert frames[0]["name"] == "test_doubles" and "presentationHint" not in frames[0]
    library = [f for f in frames if f["source"].get("path", "").find("site-packages") >= 0]
    assert len(library) > 10, "pytest and pluggy run the test"
    paths = [f["source"].get("path", "") for f in frames]
    assert not any(os.sep + "pydbg" + os.sep in p for p in paths), "pydbg's own frames never show"
    for frame in library:
        if just_my_code:
            assert frame["presentationHint"] == "subtle" and frame["source"]["presentationHint"] == "deemphasize"
        else:
            assert "presentationHint" not in frame and "presentationHint" not in frame["source"]
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.wait_event("exited")["body"]["exitCode"] == 1


# ---------------------------------------------------------------------- web frameworks' reloaders

FLASK_APP = """
from flask import Flask

app = Flask(__name__)

@app.route("/")
def index():
    greeting = "GREETING"
    return greeting  # view stop
"""

DJANGO_MANAGE = """
import sys

from django.conf import settings
from django.http import HttpResponse
from django.urls import path

settings.configure(DEBUG=True, ROOT_URLCONF=__name__, ALLOWED_HOSTS=["*"], SECRET_KEY="test")

def index(request):
    greeting = "GREETING"
    return HttpResponse(greeting)  # view stop

urlpatterns = [path("", index)]

if __name__ == "__main__":
    from django.core.management import execute_from_command_line
    execute_from_command_line(sys.argv)
"""


def get_in_background(url):
    """GETs `url` on a thread, retrying while the server is not up yet; returns a queue that
    gets the body (or the error)."""
    results = queue.Queue()

    def fetch():
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(url, timeout=30) as response:
                    results.put(response.read().decode())
                    return
            except (OSError, http.client.HTTPException) as e:
                if time.monotonic() > deadline:
                    results.put(e)
                    return
                time.sleep(0.2)

    threading.Thread(target=fetch, daemon=True).start()
    return results


def stop_in_view(children, url, path, greeting):
    """The reloader starts the server as a new process, a child session; a request to it stops
    in the view."""
    child = children.next(timeout=30)
    response = get_in_background(url)
    stop = child.client.wait_stopped(timeout=30)
    frame = child.client.top_frame(stop["threadId"])
    assert (frame["source"]["path"], frame["line"]) == (path, line_of(path, "# view stop"))
    assert child.client.locals_of(frame["id"])["greeting"]["value"] == repr(greeting)
    child.client.ok("continue", {"threadId": stop["threadId"]})
    assert response.get(timeout=30) == greeting


@pytest.mark.parametrize("framework", ["flask", "django"])
def test_a_reloading_server_stops_in_a_view_after_each_reload(sessions, tmp_path, framework):
    port = free_port()
    if framework == "flask":
        path = sessions.program(FLASK_APP.replace("GREETING", "hello"), name="webapp.py")
        target = {"module": "flask", "args": ["--app", "webapp", "run", "--reload", "--port", str(port)]}
    else:
        path = sessions.program(DJANGO_MANAGE.replace("GREETING", "hello"), name="manage.py")
        target = {"program": path, "args": ["runserver", f"127.0.0.1:{port}"]}
    breakpoints = {path: [line_of(path, "# view stop")]}
    parent = Adapter(sessions)
    children = ChildSessions(sessions, parent, breakpoints)
    response = parent.launch({**target, "cwd": str(tmp_path)}, breakpoints=breakpoints, start_debugging=True,
                             exceptions=["uncaught"])
    assert response["success"], response
    url = f"http://127.0.0.1:{port}/"
    stop_in_view(children, url, path, "hello")

    # An edit reloads the server: a new process, a new child session, the same breakpoint.
    time.sleep(1.1)  # a modification time the reloaders can tell from the first
    source = (FLASK_APP if framework == "flask" else DJANGO_MANAGE).replace("GREETING", "edited")
    with open(path, "w") as f:
        f.write(textwrap.dedent(source).lstrip("\n"))
    stop_in_view(children, url, path, "edited")
    assert parent.client.events("stopped") == [], "the reloader's own process never stops"
    parent.client.ok("terminate")
    parent.client.wait_event("terminated", timeout=30)


def test_without_sub_process_the_reloaded_server_runs_undebugged(sessions, tmp_path):
    port = free_port()
    path = sessions.program(FLASK_APP.replace("GREETING", "hello"), name="webapp.py")
    adapter = Adapter(sessions)
    response = adapter.launch({"module": "flask", "args": ["--app", "webapp", "run", "--reload", "--port", str(port)],
                               "cwd": str(tmp_path), "subProcess": False},
                              breakpoints={path: [line_of(path, "# view stop")]}, start_debugging=True)
    assert response["success"], response
    assert get_in_background(f"http://127.0.0.1:{port}/").get(timeout=30) == "hello"
    assert adapter.client.events("stopped") == [] and adapter.client.reverse_requests("startDebugging") == []
    adapter.client.ok("terminate")
    adapter.client.wait_event("terminated", timeout=30)
