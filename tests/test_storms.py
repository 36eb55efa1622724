"""Breakpoint storms: many threads hitting breakpoints while the client continues as fast as it
can, with breakpoints and pauses changing under them. No hit may be lost, nothing may deadlock,
and every continue is answered.

The default run repeats each storm a few times; `scripts/stress` (PYDBG_STRESS=1) runs the full
counts. Stops per second are printed for docs/reliability.md (run pytest with -s to see them).
"""

import os
import time

import pytest

from conftest import line_of
from dap_client import DapError

STRESS = os.environ.get("PYDBG_STRESS") == "1"

STORM = """
import sys, threading
n_threads, passes, use_barrier = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3] == "barrier"
barrier = threading.Barrier(n_threads) if use_barrier else None
hits = [0] * n_threads

def work(i):
    for _ in range(passes):
        if barrier:
            barrier.wait()
        hits[i] += 1  # storm line

threads = [threading.Thread(target=work, args=(i,), name=f"w{i}") for i in range(n_threads)]
for t in threads: t.start()
for t in threads: t.join()
print("hits", sum(hits))
"""

STOP_TIMEOUT = 10


def stacks(client):
    """Every thread's top frames, for the message of a failed storm."""
    lines = []
    for thread in client.ok("threads")["threads"]:
        frames = client.ok("stackTrace", {"threadId": thread["id"], "levels": 3})["stackFrames"]
        lines.append(f"{thread['name']}: " + ", ".join(f"{f['name']}:{f['line']}" for f in frames))
    return "\n".join(lines)


def continue_every_stop(client, expected_stops, after_continue=None):
    """Answers each stopped event with continue until `expected_stops` breakpoint stops were
    seen (other stops, such as pauses, are continued too); `after_continue` is then called with
    the breakpoint stops seen so far. Returns (breakpoint stops, seconds)."""
    breakpoint_stops = 0
    started = time.monotonic()
    while breakpoint_stops < expected_stops:
        try:
            stop = client.wait_stopped(timeout=STOP_TIMEOUT)
        except DapError as e:
            raise AssertionError(f"stops ended after {breakpoint_stops} of {expected_stops}: {e}\n"
                                 f"{stacks(client)}") from None
        if stop["reason"] == "breakpoint":
            breakpoint_stops += 1
        reply = client.ok("continue", {"threadId": stop["threadId"]})
        assert reply["allThreadsContinued"] is True
        if after_continue:
            after_continue(breakpoint_stops)
    return breakpoint_stops, time.monotonic() - started


def continue_until_quiet(client, reasons):
    """Continues each stop (whose reason must be one of `reasons`) until none came for 50 ms."""
    settled = time.monotonic() + 0.05
    while time.monotonic() < settled:
        try:
            stop = client.wait_stopped(timeout=0.05)
        except DapError:
            continue
        assert stop["reason"] in reasons, stop
        client.ok("continue", {"threadId": stop["threadId"]})
        settled = time.monotonic() + 0.05


def run_storm(sessions, n_threads, passes, barrier):
    path = sessions.program(STORM)
    client = sessions.launch(STORM, breakpoints=[line_of(path, "# storm line")],
                             args=(str(n_threads), str(passes), "barrier" if barrier else "free"))
    expected = n_threads * passes
    stops, seconds = continue_every_stop(client, expected)
    assert client.debuggee.wait() == 0
    client.wait_output(f"hits {expected}", "stdout")  # events may trail the exit
    assert stops == expected
    return stops / seconds


def storm_runs(sessions_factory, runs, n_threads, passes, barrier):
    rates = []
    for _ in range(runs):
        sessions = sessions_factory()
        try:
            rates.append(run_storm(sessions, n_threads, passes, barrier))
        finally:
            sessions.close()
    kind = "barrier" if barrier else "free"
    print(f"\n{kind} storm {n_threads}x{passes}: {runs} runs, "
          f"{min(rates):.0f}-{max(rates):.0f} stops/s, none lost")


@pytest.fixture
def sessions_factory(tmp_path):
    """A fresh Sessions per run, each in its own directory, checked against the schema."""
    from conftest import Sessions, schema_errors
    made = []

    def make():
        sessions = Sessions(tmp_path / f"run{len(made)}")
        (tmp_path / f"run{len(made)}").mkdir()
        made.append(sessions)
        return sessions
    yield make
    errors = schema_errors([m for s in made for m in s.all_received()])
    assert not errors, "messages that break the DAP schema:\n" + "\n".join(errors[:20])


@pytest.mark.parametrize("n_threads", [8, 16] if STRESS else [8])
def test_barrier_storm_loses_no_stop(sessions_factory, n_threads):
    """The threads are released together before every pass, so stops race continues at the
    worst moments: a thread late for an all-threads stop that a continue had just ended used to
    park unreported, and the program hung."""
    storm_runs(sessions_factory, 50 if STRESS else 10, n_threads, 200, barrier=True)


@pytest.mark.parametrize("n_threads", [8, 16] if STRESS else [8])
def test_free_running_storm_loses_no_stop(sessions_factory, n_threads):
    storm_runs(sessions_factory, 20 if STRESS else 3, n_threads, 200, barrier=False)


def test_rapid_stop_continue_cycles_on_one_thread(sessions):
    cycles = 2000
    path = sessions.program(STORM)
    client = sessions.launch(STORM, breakpoints=[line_of(path, "# storm line")], args=("1", str(cycles), "free"))
    stops, seconds = continue_every_stop(client, cycles)
    assert client.debuggee.wait() == 0
    client.wait_output(f"hits {cycles}", "stdout")  # events may trail the exit
    print(f"\none thread: {cycles} stop/continue cycles at {stops / seconds:.0f} stops/s")


TOGGLED = """
import os, sys, threading, time
deadline = time.monotonic() + 60
done = threading.Event()
passes = [0] * 4

def work(i):
    while not done.is_set():
        passes[i] += 1  # toggled line

threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
for t in threads: t.start()
while not os.path.exists(sys.argv[1]) and time.monotonic() < deadline:
    time.sleep(0.01)
done.set()
for t in threads: t.join()
print("finished", time.monotonic() < deadline)
"""


def test_breakpoints_added_and_removed_while_threads_run_through_them(sessions):
    path = sessions.program(TOGGLED)
    line = line_of(path, "# toggled line")
    finish_flag = sessions.tmp_path / "finish"
    client = sessions.launch(TOGGLED, args=(str(finish_flag),))
    rounds = 100 if STRESS else 20
    for _ in range(rounds):
        set_at = client.ok("setBreakpoints", {"source": {"path": path}, "breakpoints": [{"line": line}]})
        assert set_at["breakpoints"][0]["verified"] is True
        continue_every_stop(client, 3)
        client.ok("setBreakpoints", {"source": {"path": path}, "breakpoints": []})
        # Hits that were already queued are still reported; then the threads run free.
        continue_until_quiet(client, ("breakpoint", "pause"))
    before = client.event_count()
    time.sleep(0.2)
    assert not [e for e in client.events("stopped")[before:]], "a stop came with no breakpoint set"
    finish_flag.write_text("")
    assert client.debuggee.wait() == 0
    client.wait_output("finished True", "stdout")  # events may trail the exit


def test_pauses_during_a_storm_lose_no_breakpoint_hit(sessions):
    n_threads, passes = 8, 150
    path = sessions.program(STORM)
    client = sessions.launch(STORM, breakpoints=[line_of(path, "# storm line")],
                             args=(str(n_threads), str(passes), "barrier"))
    pauses = []

    def pause_now_and_then(breakpoint_stops):
        # Not near the end: a pause must find the program still running.
        if len(client.events("stopped")) % 7 == 0 and breakpoint_stops < n_threads * (passes - 2):
            pauses.append(client.request("pause", {"threadId": 1}))

    stops, _ = continue_every_stop(client, n_threads * passes, after_continue=pause_now_and_then)
    # The last pause may stop the program once more on its way out.
    while client.debuggee.process.poll() is None:
        try:
            client.ok("continue", {"threadId": client.wait_stopped(timeout=0.2)["threadId"]})
        except DapError:
            pass
    assert client.debuggee.wait() == 0
    client.wait_output(f"hits {n_threads * passes}", "stdout")  # events may trail the exit
    assert pauses and all(p["success"] for p in pauses)
    assert stops == n_threads * passes
    assert any(stop["body"]["reason"] == "pause" for stop in client.events("stopped"))


WATCHED_LIST = """
import os, sys, threading, time
deadline = time.monotonic() + 60
done = threading.Event()
shared = [0] * 4
errors = []

def work(i):
    try:
        while not done.is_set():
            write = shared.__setitem__  # looked up while hooked, maybe called once the class is back
            time.sleep(0)
            write(i, shared[i] + 1)  # storm write
    except Exception as e:
        errors.append(repr(e))

print("ready")  # start
threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
for t in threads: t.start()
while not os.path.exists(sys.argv[1]) and time.monotonic() < deadline:
    time.sleep(0.01)
done.set()
for t in threads: t.join()
print("finished", time.monotonic() < deadline, "errors", errors, "restored", type(shared) is list)
"""


def test_list_items_watched_and_unwatched_while_threads_write_them(sessions):
    """The list's class is swapped and put back under threads that write through its methods;
    a method looked up before the class came back must still write."""
    path = sessions.program(WATCHED_LIST)
    finish_flag = sessions.tmp_path / "finish"
    client = sessions.launch(WATCHED_LIST, breakpoints=[line_of(path, "# start")], args=(str(finish_flag),))
    thread = client.wait_stopped()["threadId"]
    frame = client.top_frame(thread)
    data_ids = [client.ok("dataBreakpointInfo", {"frameId": frame["id"], "name": f"shared[{i}]"})["dataId"]
                for i in range(4)]
    client.ok("setBreakpoints", {"source": {"path": path}, "breakpoints": []})
    client.ok("continue", {"threadId": thread})
    for _ in range(50 if STRESS else 10):
        placed = client.ok("setDataBreakpoints", {"breakpoints": [{"dataId": d} for d in data_ids]})
        assert all(b["verified"] for b in placed["breakpoints"]), placed
        for _ in range(6):
            stop = client.wait_stopped(timeout=STOP_TIMEOUT)
            assert stop["reason"] == "data breakpoint" and stop["description"].startswith("shared["), stop
            client.ok("continue", {"threadId": stop["threadId"]})
        client.ok("setDataBreakpoints", {"breakpoints": []})
        continue_until_quiet(client, ("data breakpoint",))
    finish_flag.write_text("")
    # A write noted just before the last removal may still stop its thread: continue until exit.
    while client.debuggee.process.poll() is None:
        try:
            client.ok("continue", {"threadId": client.wait_stopped(timeout=0.2)["threadId"]})
        except DapError:
            pass
    assert client.debuggee.wait() == 0
    client.wait_output("finished True errors [] restored True", "stdout")


def test_stepping_back_during_a_recorded_storm_loses_no_stop(sessions):
    """Every thread records while they race through a breakpoint; now and then the stopped
    thread steps back twice before its continue, which replays to the stop and runs on live."""
    n_threads, passes = 8, 150 if STRESS else 40
    path = sessions.program(STORM)
    client = sessions.launch(STORM, breakpoints=[line_of(path, "# storm line")],
                             args=(str(n_threads), str(passes), "barrier"), attach_args={"record": True})
    expected, breakpoint_stops, travels = n_threads * passes, 0, 0
    while breakpoint_stops < expected:
        try:
            stop = client.wait_stopped(timeout=STOP_TIMEOUT)
        except DapError as e:
            raise AssertionError(f"stops ended after {breakpoint_stops} of {expected}: {e}\n{stacks(client)}") from None
        if stop["reason"] == "breakpoint":
            breakpoint_stops += 1
            if breakpoint_stops % 5 == 0:
                for lines in (1, 2):
                    after = client.event_count()
                    client.ok("stepBack", {"threadId": stop["threadId"]})
                    back = client.wait_stopped(after=after, timeout=STOP_TIMEOUT)
                    assert back["description"] == f"{lines} line{'s' if lines > 1 else ''} before the stop", back
                    travels += 1
                top = client.ok("stackTrace", {"threadId": stop["threadId"], "levels": 1})["stackFrames"][0]
                assert top["name"] == "work [2 lines back]", top
        client.ok("continue", {"threadId": stop["threadId"]})
    assert client.debuggee.wait() == 0
    client.wait_output(f"hits {expected}", "stdout")
    assert travels == 2 * (expected // 5)
