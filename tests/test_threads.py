"""All-threads stops, pause, thread events, single-thread continue, and stops that queue up."""

import time

from conftest import line_of

WORKER_AND_MAIN = """
import threading, time

counter = 0
stop = False

def spin():
    global counter
    while not stop:
        counter += 1  # worker loop

worker = threading.Thread(target=spin, name="spinner")
worker.start()
time.sleep(0.2)
marker = 1  # main stop
stop = True
worker.join()
print("counter", counter > 0)
"""


def evaluate(client, expression, frame_id=None):
    args = {"expression": expression, "context": "watch"}
    if frame_id is not None:
        args["frameId"] = frame_id
    return client.ok("evaluate", args)["result"]


def test_a_stop_stops_every_thread_and_continue_resumes_all(sessions):
    path = sessions.program(WORKER_AND_MAIN)
    client = sessions.launch(WORKER_AND_MAIN, breakpoints=[line_of(path, "# main stop")])
    stop = client.wait_stopped()
    assert stop["threadId"] == 1 and stop["allThreadsStopped"] is True
    threads = {t["name"]: t["id"] for t in client.ok("threads")["threads"]}
    assert "spinner" in threads and "MainThread" in threads
    frame = client.top_frame(stop["threadId"])
    first = int(evaluate(client, "counter", frame["id"]))
    time.sleep(0.3)
    assert int(evaluate(client, "counter", frame["id"])) == first, "the worker kept running while stopped"
    # The worker is parked on its loop, inspectable.
    worker_top = client.top_frame(threads["spinner"])
    assert worker_top["name"] == "spin" and worker_top["line"] in (line_of(path, "# worker loop"),
                                                                   line_of(path, "# worker loop") - 1)
    reply = client.ok("continue", {"threadId": stop["threadId"]})
    assert reply["allThreadsContinued"] is True
    assert client.debuggee.wait() == 0
    assert "counter True" in client.output("stdout")


def test_thread_events_name_threads(sessions):
    source = """
    import threading
    t = threading.Thread(target=lambda: None, name="short-lived")
    t.start(); t.join()
    """
    client = sessions.launch(source)
    assert client.debuggee.wait() == 0
    started = client.wait_event("thread", lambda b: b["reason"] == "started")["body"]["threadId"]
    exited = client.wait_event("thread", lambda b: b["reason"] == "exited")["body"]["threadId"]
    assert started == exited != 1


def test_breakpoints_hit_by_several_threads_are_all_reported_in_turn(sessions):
    source = """
    import threading
    barrier = threading.Barrier(3)

    def work(n):
        barrier.wait()
        result = n * 2  # shared line
        return result

    threads = [threading.Thread(target=work, args=(n,), name=f"w{n}") for n in range(3)]
    for t in threads: t.start()
    for t in threads: t.join()
    print("all done")
    """
    path = sessions.program(source)
    client = sessions.launch(source, breakpoints=[line_of(path, "# shared line")])
    seen = []
    for _ in range(3):
        stop = client.wait_stopped()
        assert stop["reason"] == "breakpoint"
        frame = client.top_frame(stop["threadId"])
        seen.append((stop["threadId"], client.locals_of(frame["id"])["n"]["value"]))
        client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 0
    assert sorted(n for _, n in seen) == ["0", "1", "2"]
    assert len({tid for tid, _ in seen}) == 3
    assert len(client.events("stopped")) == 3


def test_pause_a_tight_loop_then_continue(sessions):
    source = """
    import time
    deadline = time.monotonic() + 30
    n = 0
    while time.monotonic() < deadline:
        n += 1
    """
    client = sessions.launch(source)
    time.sleep(0.2)
    client.ok("pause", {"threadId": 1})
    stop = client.wait_stopped(timeout=5)
    assert stop["reason"] == "pause" and stop["threadId"] == 1
    frame = client.top_frame(1)
    assert frame["name"] == "<module>"
    n = int(evaluate(client, "n", frame["id"]))
    assert n > 0
    client.ok("continue", {"threadId": 1})
    time.sleep(0.2)
    client.ok("pause", {"threadId": 1})
    client.wait_stopped(timeout=5)
    assert int(evaluate(client, "n", client.top_frame(1)["id"])) > n
    client.ok("disconnect", {"terminateDebuggee": True})
    client.debuggee.wait(timeout=10)


def test_single_thread_continue_leaves_the_others_stopped(sessions):
    source = """
    import threading, time
    progress = []

    def worker():
        for i in range(200):
            progress.append(i)
            time.sleep(0.005)

    t = threading.Thread(target=worker, name="worker")
    t.start()
    time.sleep(0.05)
    here = 1  # main stop
    t.join()
    """
    path = sessions.program(source)
    client = sessions.launch(source, breakpoints=[line_of(path, "# main stop")])
    stop = client.wait_stopped()
    threads = {t["name"]: t["id"] for t in client.ok("threads")["threads"]}
    frame_id = client.top_frame(1)["id"]
    before = int(evaluate(client, "len(progress)", frame_id))
    # Let only the worker run: the main thread stays stopped and inspectable.
    worker_stack = client.ok("stackTrace", {"threadId": threads["worker"]})
    assert worker_stack["totalFrames"] > 0
    reply = client.ok("continue", {"threadId": threads["worker"], "singleThread": True})
    assert reply["allThreadsContinued"] is False
    time.sleep(0.3)
    assert int(evaluate(client, "len(progress)", frame_id)) > before
    client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 0


def test_unknown_thread_is_an_error(sessions):
    client = sessions.launch("import time; time.sleep(0.5)\n")
    response = client.request("stackTrace", {"threadId": 999})
    assert response["success"] is False and "999" in response["message"]
    response = client.request("continue", {"threadId": 999})
    assert response["success"] is False
