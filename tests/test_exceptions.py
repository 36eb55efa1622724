"""Exception breakpoints (raised, uncaught, userUnhandled, conditions, exceptionOptions),
exceptionInfo, justMyCode for exceptions, and steps through exceptions."""

import time

from conftest import line_of


def launch(sessions, source, filters, filter_options=None, exception_options=None, **kwargs):
    args = {"filters": filters}
    if filter_options is not None:
        args["filterOptions"] = filter_options
    if exception_options is not None:
        args["exceptionOptions"] = exception_options
    return sessions.launch(source, before_done=lambda c: c.ok("setExceptionBreakpoints", args), **kwargs)


def stop_info(client):
    stop = client.wait_stopped()
    frames = client.ok("stackTrace", {"threadId": stop["threadId"]})["stackFrames"]
    return stop, frames


CAUGHT = """
def parse(text):
    return int(text)  # raises

def main():
    try:
        parse("x")
    except ValueError as e:
        problem = e  # handler
    try:
        {}["missing"]  # key error
    except KeyError:
        pass
    print("handled")

main()
"""


def test_capabilities_offer_the_three_filters(sessions):
    client = sessions.launch("pass\n")
    capabilities = client.received[0]["body"]
    assert [f["filter"] for f in capabilities["exceptionBreakpointFilters"]] == ["raised", "uncaught", "userUnhandled"]
    assert [f["default"] for f in capabilities["exceptionBreakpointFilters"]] == [False, True, False]
    assert capabilities["supportsExceptionInfoRequest"] and capabilities["supportsExceptionFilterOptions"]


def test_raised_stops_where_raised_and_the_program_still_handles_it(sessions):
    client = launch(sessions, CAUGHT, ["raised"])
    stop, frames = stop_info(client)
    assert stop["reason"] == "exception"
    assert stop["text"] == "ValueError: invalid literal for int() with base 10: 'x'"
    assert (frames[0]["name"], frames[0]["line"]) == ("parse", line_of(client.path, "# raises"))
    info = client.ok("exceptionInfo", {"threadId": stop["threadId"]})
    assert info["exceptionId"] == "ValueError" and info["breakMode"] == "always"
    client.ok("continue", {"threadId": stop["threadId"]})
    stop, frames = stop_info(client)  # the KeyError, once
    assert frames[0]["line"] == line_of(client.path, "# key error")
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 0
    assert "handled" in client.output("stdout")
    assert len(client.events("stopped")) == 2


def test_a_reraise_does_not_stop_twice(sessions):
    source = """
    def inner():
        raise RuntimeError("once")  # origin

    def middle():
        try:
            inner()
        except RuntimeError as e:
            raise e  # raise the same object again

    def outer():
        try:
            try:
                middle()
            finally:
                cleanup = True
        except RuntimeError:
            raise  # bare re-raise

    try:
        outer()
    except RuntimeError:
        pass
    """
    client = launch(sessions, source, ["raised"])
    stop, frames = stop_info(client)
    assert frames[0]["line"] == line_of(client.path, "# origin")
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 0
    assert len(client.events("stopped")) == 1


def test_plumbing_exceptions_do_not_stop_unless_named(sessions):
    source = """
    import asyncio

    def gen():
        yield 1

    for _ in gen():
        pass
    try:
        next(iter([]))  # explicit StopIteration
    except StopIteration:
        pass

    async def main():
        task = asyncio.ensure_future(asyncio.sleep(10))
        await asyncio.sleep(0)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass

    asyncio.run(main())
    print("done")
    """
    client = launch(sessions, source, ["raised"])
    assert client.debuggee.wait() == 0
    assert client.events("stopped") == []
    named = launch(sessions, source, [], filter_options=[{"filterId": "raised", "condition": "StopIteration"}])
    stop, frames = stop_info(named)
    assert frames[0]["line"] == line_of(named.path, "# explicit StopIteration")
    named.ok("continue", {"threadId": stop["threadId"]})
    assert named.debuggee.wait() == 0


def test_conditions_pick_exception_types(sessions):
    only_key = launch(sessions, CAUGHT, [], filter_options=[{"filterId": "raised", "condition": "LookupError"}])
    stop, frames = stop_info(only_key)
    assert "KeyError" in stop["text"]  # a subclass of the named LookupError
    only_key.ok("continue", {"threadId": stop["threadId"]})
    assert only_key.debuggee.wait() == 0
    assert len(only_key.events("stopped")) == 1

    not_value = launch(sessions, CAUGHT, [], filter_options=[{"filterId": "raised", "condition": "not ValueError"}])
    stop, _ = stop_info(not_value)
    assert "KeyError" in stop["text"]
    not_value.ok("continue", {"threadId": stop["threadId"]})
    assert not_value.debuggee.wait() == 0


def test_a_bad_condition_is_an_error_response(sessions):
    client = sessions.launch("import time; time.sleep(0.3)\n")
    response = client.request("setExceptionBreakpoints",
                              {"filters": [], "filterOptions": [{"filterId": "raised", "condition": "Value Error"}]})
    assert response["success"] is False and "Value Error" in response["message"]
    response = client.request("setExceptionBreakpoints", {"filters": ["sometimes"]})
    assert response["success"] is False and "sometimes" in response["message"]


UNCAUGHT = """
def compute(values):
    scale = 10
    return values["total"] * scale  # raises KeyError

def main():
    data = {"count": 3}
    return compute(data)

main()
"""


def test_uncaught_stops_with_the_raising_frames_then_ends_like_python(sessions):
    client = launch(sessions, UNCAUGHT, ["uncaught"])
    stop, frames = stop_info(client)
    assert stop["reason"] == "exception" and stop["text"] == "KeyError: 'total'"
    assert [f["name"] for f in frames] == ["compute", "main", "<module>"]
    assert frames[0]["line"] == line_of(client.path, "# raises KeyError")
    assert client.locals_of(frames[0]["id"])["scale"]["value"] == "10"
    assert client.locals_of(frames[1]["id"])["data"]["value"] == "{'count': 3}"
    info = client.ok("exceptionInfo", {"threadId": stop["threadId"]})
    assert info["breakMode"] == "unhandled" and info["details"]["typeName"] == "KeyError"
    assert 'values["total"] * scale' in info["details"]["stackTrace"]
    assert "pydbg" not in info["details"]["stackTrace"] and "run_program" not in info["details"]["stackTrace"]
    assert all("presentationHint" not in f for f in frames), "the user's own frames are not set back"
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 1
    stderr = client.debuggee.stderr.decode()
    assert stderr.startswith("Traceback (most recent call last):") and stderr.rstrip().endswith("KeyError: 'total'")
    assert "pydbg" not in stderr and "runpy" not in stderr


def test_uncaught_is_on_by_default(sessions):
    client = sessions.launch(UNCAUGHT)
    stop = client.wait_stopped()
    assert stop["reason"] == "exception"
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 1


def test_uncaught_in_a_thread_and_in_an_asyncio_task(sessions):
    source = """
    import asyncio, threading

    def worker():
        local_value = "in thread"
        raise ValueError("thread failed")  # thread raise

    t = threading.Thread(target=worker, name="failing")
    t.start(); t.join()

    async def job():
        await asyncio.sleep(0)
        raise LookupError("task failed")  # task raise

    async def main():
        await asyncio.gather(job())

    asyncio.run(main())
    """
    client = launch(sessions, source, ["uncaught"])
    stop, frames = stop_info(client)
    assert stop["text"] == "ValueError: thread failed" and stop["threadId"] != 1
    assert frames[0]["line"] == line_of(client.path, "# thread raise")
    assert client.locals_of(frames[0]["id"])["local_value"]["value"] == "'in thread'"
    client.ok("continue", {"threadId": stop["threadId"]})
    stop, frames = stop_info(client)
    assert stop["text"] == "LookupError: task failed" and stop["threadId"] == 1
    assert frames[0]["name"] == "job" and frames[0]["line"] == line_of(client.path, "# task raise")
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 1
    assert "ValueError: thread failed" in client.debuggee.stderr.decode()


def test_uncaught_in_a_thread_stops_even_with_the_programs_own_excepthook(sessions):
    client = launch(sessions, """
    import threading

    def own_hook(args):
        print("own hook saw", args.exc_value, flush=True)

    threading.excepthook = own_hook

    def worker():
        raise KeyError("lost?")  # thread raise

    t = threading.Thread(target=worker)
    t.start(); t.join()
    """, ["uncaught"])
    stop, frames = stop_info(client)
    assert stop["text"] == "KeyError: 'lost?'"
    assert frames[0]["line"] == line_of(client.path, "# thread raise")
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 0
    assert "own hook saw 'lost?'" in client.debuggee.stdout.decode()


def test_system_exit_zero_is_not_uncaught(sessions):
    client = launch(sessions, "import sys\nsys.exit(0)\n", ["uncaught"])
    assert client.debuggee.wait() == 0
    assert client.events("stopped") == []


def test_terminate_does_not_stop_on_its_keyboard_interrupt(sessions):
    client = launch(sessions, "import time\nwhile True:\n    time.sleep(0.05)\n", ["uncaught"])
    time.sleep(0.2)
    client.ok("terminate")
    client.wait_event("terminated")
    client.debuggee.wait()
    assert client.events("stopped") == []


def test_user_unhandled_stops_where_the_exception_leaves_user_code(sessions):
    source = """
    import json

    def hook(obj):
        if "bad" in obj:
            raise ValueError("bad object")  # user raise
        return obj

    try:
        json.loads('{"bad": 1}', object_hook=hook)
    except ValueError:
        print("caught by the caller")
    """
    off = launch(sessions, source, ["uncaught"])
    assert off.debuggee.wait() == 0 and off.events("stopped") == []
    client = launch(sessions, source, ["userUnhandled"])
    stop, frames = stop_info(client)
    assert stop["reason"] == "exception"
    assert (frames[0]["name"], frames[0]["line"]) == ("hook", line_of(client.path, "# user raise"))
    info = client.ok("exceptionInfo", {"threadId": stop["threadId"]})
    assert info["breakMode"] == "userUnhandled"
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 0
    assert len(client.events("stopped")) == 1


def test_just_my_code_judges_library_exceptions_where_they_reach_user_code(sessions):
    source = """
    import json

    def load():
        try:
            return json.loads("{broken")  # user call
        except ValueError:
            return None

    load()
    """
    mine = launch(sessions, source, ["raised"])
    stop, frames = stop_info(mine)
    assert (frames[0]["name"], frames[0]["line"]) == ("load", line_of(mine.path, "# user call"))
    mine.ok("continue", {"threadId": stop["threadId"]})
    assert mine.debuggee.wait() == 0

    # Without justMyCode the library's own frame stops. The filter goes on at the call, after
    # the imports, whose internal exceptions would stop too.
    path = sessions.program(source)
    everything = sessions.launch(source, breakpoints=[line_of(path, "# user call")],
                                 attach_args={"justMyCode": False})
    at_call = everything.wait_stopped()
    everything.ok("setExceptionBreakpoints", {"filters": ["raised"]})
    everything.ok("continue", {"threadId": at_call["threadId"]})
    stop, frames = stop_info(everything)
    assert frames[0]["source"]["path"].endswith("json/decoder.py")
    assert any(f["name"] == "load" for f in frames)


def test_exception_info_lists_causes_and_group_members(sessions):
    source = """
    def fail():
        try:
            {}["key"]
        except KeyError as e:
            raise RuntimeError("wrapped") from e

    try:
        fail()
    except RuntimeError as wrapped:
        raise ExceptionGroup("several", [wrapped, TypeError("second")])
    """
    client = launch(sessions, source, ["uncaught"])
    stop = client.wait_stopped()
    info = client.ok("exceptionInfo", {"threadId": stop["threadId"]})
    assert info["exceptionId"] == "ExceptionGroup"
    inner = info["details"]["innerException"]
    assert [d["typeName"] for d in inner] == ["RuntimeError", "TypeError"]
    assert [d["typeName"] for d in inner[0]["innerException"]] == ["KeyError"]
    assert "several" in info["description"]
    text = info["details"]["stackTrace"]
    assert "KeyError" in text and "wrapped" in text and "second" in text
    assert "pydbg" not in text and "runpy" not in text
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 1


def test_exception_options_set_break_modes_per_type(sessions):
    options = [
        {"path": [{"names": ["Python Exceptions"]}], "breakMode": "unhandled"},
        {"path": [{"names": ["Python Exceptions"]}, {"names": ["KeyError"]}], "breakMode": "always"},
    ]
    client = launch(sessions, CAUGHT, [], exception_options=options)
    stop, frames = stop_info(client)
    assert "KeyError" in stop["text"]
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 0
    assert len(client.events("stopped")) == 1


def test_exception_info_when_not_stopped_on_an_exception(sessions):
    path = sessions.program("x = 1  # stop\n")
    client = sessions.launch("x = 1  # stop\n", breakpoints=[1])
    stop = client.wait_stopped()
    response = client.request("exceptionInfo", {"threadId": stop["threadId"]})
    assert response["success"] is False and "not stopped on an exception" in response["message"]
    assert path


def test_step_out_of_a_frame_that_unwinds_lands_on_the_handler(sessions):
    source = """
    def inner():
        value = 1  # in inner
        raise KeyError("k")

    def main():
        try:
            inner()
        except KeyError:
            handled = True  # handler
        return handled

    main()
    """
    path = sessions.program(source)
    client = sessions.launch(source, breakpoints=[line_of(path, "# in inner")])
    stop = client.wait_stopped()
    client.ok("setBreakpoints", {"source": {"path": client.path}, "breakpoints": []})
    client.ok("stepOut", {"threadId": stop["threadId"]})
    client.wait_stopped()
    frame = client.top_frame(stop["threadId"])
    handler = line_of(client.path, "# handler")
    assert frame["name"] == "main" and frame["line"] in (handler - 1, handler)


def test_changing_the_raised_filter_applies_to_types_already_seen(sessions):
    """Whether a raised type stops is remembered by type: a new filter must forget it."""
    source = """
    for i in range(3):
        try:
            raise ValueError(i)  # raise
        except ValueError:
            pass
        print("round", i)  # after
    """
    client = sessions.launch(source, breakpoints=[6], before_done=lambda c: c.ok(
        "setExceptionBreakpoints", {"filters": [], "filterOptions": [{"filterId": "raised", "condition": "KeyError"}]}))
    stop = client.wait_stopped()
    assert stop["reason"] == "breakpoint"  # round 0's ValueError did not stop
    client.ok("setExceptionBreakpoints",
              {"filters": [], "filterOptions": [{"filterId": "raised", "condition": "ValueError"}]})
    client.ok("setBreakpoints", {"source": {"path": client.path}, "breakpoints": []})
    client.ok("continue", {"threadId": stop["threadId"]})
    stop = client.wait_stopped()
    assert stop["reason"] == "exception" and "ValueError: 1" in stop["text"]
    client.ok("setExceptionBreakpoints", {"filters": []})
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 0 and len(client.events("stopped")) == 2
