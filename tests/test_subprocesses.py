"""Child processes under `pydbg-adapter` (`subProcess`, on by default): subprocess, os.exec*, and
multiprocessing with fork, spawn and forkserver. The test client answers `startDebugging` as
VS Code and nvim-dap do: it starts another adapter, attaches it with the configuration given,
and sends it the same breakpoints."""

import queue
import threading
import time

import pytest

from conftest import line_of
from dap_client import DEFAULT_TIMEOUT
from test_adapter import Adapter, program_output

CHILD = """
import sys
label = sys.argv[1] if len(sys.argv) > 1 else "child"
print("child says", label)  # child stop
"""


class ChildSessions:
    """Answers the parent adapter's startDebugging requests: each child gets an adapter of its
    own, attached with the configuration the parent's adapter sent."""

    def __init__(self, sessions, parent, breakpoints, stagger=0.0):
        """`stagger`: the n-th child's session opens n * stagger seconds late, as a slow client's
        would."""
        self.sessions = sessions
        self.breakpoints = breakpoints
        self.stagger = stagger
        self.configurations = []
        self._attached = queue.Queue()
        parent.client.reverse_handlers["startDebugging"] = self._start_debugging

    def _start_debugging(self, arguments):
        assert arguments["request"] == "attach"
        delay = self.stagger * len(self.configurations)
        self.configurations.append(arguments["configuration"])
        threading.Thread(target=self._attach, args=(arguments["configuration"], delay), daemon=True).start()
        return None

    def _attach(self, configuration, delay):
        time.sleep(delay)
        child = Adapter(self.sessions)
        child.handshake("attach", configuration, self.breakpoints)
        self._attached.put(child)

    def next(self, timeout=DEFAULT_TIMEOUT):
        return self._attached.get(timeout=timeout)


def launch_parent(sessions, source, child_source=CHILD, start_debugging=True, **launch_args):
    """Launches app.py (which starts child.py one way or another) with a breakpoint in child.py."""
    parent_path = sessions.program(source)
    child_path = sessions.program(child_source, name="child.py")
    breakpoints = {child_path: [line_of(child_path, "# child stop")]}
    parent = Adapter(sessions)
    children = ChildSessions(sessions, parent, breakpoints)
    response = parent.launch({"program": parent_path, **launch_args}, breakpoints=breakpoints,
                             start_debugging=start_debugging)
    assert response["success"], response
    return parent, children, child_path


def expect_child_stop(children, child_path, label):
    child = children.next(timeout=30)
    stop = child.client.wait_stopped(timeout=30)
    frame = child.client.top_frame(stop["threadId"])
    assert (frame["source"]["path"], frame["line"]) == (child_path, line_of(child_path, "# child stop"))
    assert child.client.locals_of(frame["id"])["label"]["value"] == repr(label)
    child.client.ok("continue", {"threadId": stop["threadId"]})
    return child


def test_subprocess_child_is_a_session_with_the_same_breakpoints(sessions):
    parent, children, child_path = launch_parent(sessions, """
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "child.py", "via-subprocess"])
    print("child exited with", result.returncode)
    """, justMyCode=False, type="pydbg")
    expect_child_stop(children, child_path, "via-subprocess")
    assert parent.client.wait_event("exited", timeout=30)["body"]["exitCode"] == 0
    parent.client.wait_output("child exited with 0")
    assert "child says via-subprocess\n" in "".join(text for _, text in program_output(parent.client))
    configuration = children.configurations[0]
    assert configuration["request"] == "attach" and configuration["justMyCode"] is False
    assert configuration["connect"]["host"] == "127.0.0.1" and "child.py via-subprocess" in configuration["name"]
    assert configuration["type"] == "pydbg", "nvim-dap starts the child's session by its type"
    assert "program" not in configuration


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_multiprocessing_children_are_sessions(sessions, method):
    parent, children, child_path = launch_parent(sessions, f"""
    import multiprocessing
    import child

    if __name__ == "__main__":
        multiprocessing.set_start_method("{method}")
        process = multiprocessing.Process(target=child.work, args=("{method}",))
        process.start()
        process.join()
        print("worker exit code", process.exitcode)
    """, child_source="""
    def work(label):
        print("child says", label)  # child stop
    """)
    expect_child_stop(children, child_path, method)
    assert parent.client.wait_event("exited", timeout=30)["body"]["exitCode"] == 0
    parent.client.wait_output("worker exit code 0")


def test_a_forked_child_has_a_watchdog_of_its_own(sessions):
    """The parent's repr watchdog thread is not in the child: a repr that never returns must
    still be cut off there."""
    parent, children, child_path = launch_parent(sessions, """
    import multiprocessing
    import child

    if __name__ == "__main__":
        slow = child.Slow()
        breakpoint()  # the parent's repr watchdog starts here, before the fork
        multiprocessing.set_start_method("fork")
        process = multiprocessing.Process(target=child.work, args=("fork",))
        process.start()
        process.join()
    """, child_source="""
    class Slow:
        def __repr__(self):
            while True:
                pass

    def work(label):
        slow = Slow()
        print("child says", label)  # child stop
    """, reprTimeout=0.5)
    stop = parent.client.wait_stopped()
    frame = parent.client.top_frame(stop["threadId"])
    assert parent.client.locals_of(frame["id"])["slow"]["value"] == "<repr timed out after 0.5s>"
    parent.client.ok("continue", {"threadId": stop["threadId"]})

    child = children.next(timeout=30)
    stop = child.client.wait_stopped(timeout=30)
    frame = child.client.top_frame(stop["threadId"])
    assert child.client.locals_of(frame["id"])["slow"]["value"] == "<repr timed out after 0.5s>"
    child.client.ok("continue", {"threadId": stop["threadId"]})
    assert parent.client.wait_event("exited", timeout=30)["body"]["exitCode"] == 0


def test_exec_replaces_the_program_with_a_child_session(sessions):
    parent, children, child_path = launch_parent(sessions, """
    import os
    import sys
    os.execv(sys.executable, [sys.executable, "child.py", "via-exec"])
    """)
    child = expect_child_stop(children, child_path, "via-exec")
    assert child.client.wait_event("exited", timeout=30)["body"]["exitCode"] == 0
    parent.client.wait_event("terminated", timeout=30)


def test_the_users_own_sitecustomize_still_runs_in_the_program_and_its_children(sessions, tmp_path):
    own_site = tmp_path / "own_site"
    own_site.mkdir()
    (own_site / "sitecustomize.py").write_text("import builtins\nbuiltins.OWN_SITE_RAN = True\n")
    report = "import builtins, sys; print(sys.argv[-1], getattr(builtins, 'OWN_SITE_RAN', False))"
    parent, children, child_path = launch_parent(sessions, f"""
    import subprocess
    import sys
    exec({report!r})
    subprocess.run([sys.executable, "-c", {report!r}, "child"], check=True)
    """, start_debugging=False, env={"PYTHONPATH": str(own_site)})
    assert parent.client.wait_event("exited", timeout=30)["body"]["exitCode"] == 0
    parent.client.wait_output("child True")
    assert "app.py True" in parent.client.output("stdout")


def test_without_start_debugging_children_run_free_and_the_user_is_told(sessions):
    parent, children, child_path = launch_parent(sessions, """
    import subprocess
    import sys
    subprocess.run([sys.executable, "child.py", "free"], check=True)
    """, start_debugging=False)
    assert parent.client.wait_event("exited", timeout=30)["body"]["exitCode"] == 0
    console = "".join(e["body"]["output"] for e in parent.client.events("output")
                      if e["body"]["category"] == "console")
    assert "child.py free" in console and "does not support startDebugging" in console
    assert children.configurations == []


def test_sub_process_false_leaves_children_alone(sessions):
    parent, children, child_path = launch_parent(sessions, """
    import os
    import subprocess
    import sys
    print("announce to", os.environ.get("PYDBG_SUBPROCESS"))
    subprocess.run([sys.executable, "child.py", "alone"], check=True)
    """, subProcess=False)
    assert parent.client.wait_event("exited", timeout=30)["body"]["exitCode"] == 0
    parent.client.wait_output("announce to None")
    parent.client.wait_output("child says alone")
    assert children.configurations == []


def test_pool_workers_that_end_before_their_session_opens_end_it_quietly(sessions):
    """Pool workers on fork, over quick items: most end before the client (slow to open child
    sessions, as nvim-dap is) has attached to them. Their sessions end with `terminated` and no
    request of the client's gets an error."""
    parent_path = sessions.program("""
    import multiprocessing
    import child

    if __name__ == "__main__":
        multiprocessing.set_start_method("fork")
        with multiprocessing.Pool(8) as pool:
            print("total", sum(pool.map(child.work, range(16))))
    """)
    child_path = sessions.program("""
    def work(n):
        return n * 2  # child stop
    """, name="child.py")
    breakpoints = {child_path: [line_of(child_path, "# child stop")]}
    parent = Adapter(sessions)
    children = ChildSessions(sessions, parent, breakpoints, stagger=0.5)
    assert parent.launch({"program": parent_path}, breakpoints=breakpoints, start_debugging=True)["success"]
    opened, continued = [], set()
    deadline = time.monotonic() + 60
    while not parent.client.events("exited"):
        assert time.monotonic() < deadline, "the pool never finished"
        try:
            opened.append(children.next(timeout=0.05))
        except queue.Empty:
            pass
        for child in opened:
            for stop in child.client.events("stopped"):
                if (id(child), stop["seq"]) not in continued:
                    continued.add((id(child), stop["seq"]))
                    child.client.request("continue", {"threadId": stop["body"]["threadId"]})
    assert parent.client.wait_event("exited", timeout=30)["body"]["exitCode"] == 0
    parent.client.wait_output("total 240")
    while len(opened) < len(children.configurations):
        opened.append(children.next(timeout=30))
    for child in opened:
        child.client.wait_event("terminated", timeout=30)
    errors = [m for c in sessions.clients for m in c.received if m["type"] == "response" and not m["success"]]
    assert errors == [], errors
    assert len(children.configurations) == 8


def test_only_the_launch_and_its_children_hold_the_childrens_secret(sessions):
    """A child's port admits the client the adapter sent, with the launch's secret, and no other
    local process; an announcement without the secret is refused."""
    import json
    import socket

    from dap_client import DapClient

    parent, children, child_path = launch_parent(sessions, """
    import os, subprocess, sys
    print("secret in the program:", bool(os.environ.get("PYDBG_SUBPROCESS_TOKEN")))
    host, port = os.environ["PYDBG_SUBPROCESS"].rsplit(":", 1)
    with socket_module.create_connection((host, int(port))) as fake:
        fake.sendall(json.dumps({"pid": 1, "port": 1, "name": "impostor"}).encode() + b"\\n")
        print("impostor answered:", fake.makefile("rb").readline())
    while not os.path.exists("go"):  # the test is ready for the child
        time.sleep(0.01)
    subprocess.run([sys.executable, "child.py", "real"])
    """.replace("import os,", "import json, socket as socket_module, time, os,"))
    intruders = []
    real_child_handler = parent.client.reverse_handlers["startDebugging"]

    def intrude_first(arguments):
        port = arguments["configuration"]["connect"]["port"]
        intruder = DapClient.connect(port)
        sessions.clients.append(intruder)
        intruders.append(intruder.request("attach", {}))
        return real_child_handler(arguments)

    parent.client.reverse_handlers["startDebugging"] = intrude_first
    (sessions.tmp_path / "go").write_text("")
    expect_child_stop(children, child_path, "real")
    assert parent.client.wait_event("exited", timeout=30)["body"]["exitCode"] == 0
    output = "".join(text for _, text in program_output(parent.client))
    assert "secret in the program: True" in output
    assert "impostor answered: b''" in output, "no answer for a process without the secret"
    assert len(parent.client.reverse_requests("startDebugging")) == 1, "only the real child"
    assert intruders and intruders[0]["success"] is False
    assert "access token" in intruders[0]["message"]
    configuration = parent.client.reverse_requests("startDebugging")[0]["arguments"]["configuration"]
    assert len(configuration["accessToken"]) == 32
