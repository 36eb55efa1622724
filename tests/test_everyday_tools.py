"""Debugging with the tools users run every day: a pytest run under `module: pytest`, where
justMyCode keeps pytest's own frames and exceptions out of the way."""

import os

import pytest

from conftest import line_of
from test_adapter import Adapter

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
