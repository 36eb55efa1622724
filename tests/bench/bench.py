"""pydbg against plain Python, debugpy and pdb/bdb, side by side (issue 7).

Run it through `scripts/bench [--quick] [--python 3.12|3.13]`, which prepares a venv holding pydbg
and debugpy. Directly: `python tests/bench/bench.py [--quick]` with an interpreter that has both.

Every throughput run is one process, timed from just before it starts until it has exited, with
a real DAP client (tests/dap_client.py) attached for pydbg and debugpy. Runs alternate
round-robin across all the configurations; medians are reported. See docs/performance.md.
"""

import argparse
import datetime
import importlib.metadata
import importlib.util
import json
import os
import platform
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
WORKLOADS_DIR = os.path.join(HERE, "workloads")
INTERACTIVE_DIR = os.path.join(HERE, "interactive")
RESULTS_DIR = os.path.join(HERE, "results")
sys.path.insert(0, os.path.dirname(HERE))
from dap_client import DapClient, DapError, free_port  # noqa: E402

PY = sys.executable

# Sizes: "full" takes 1-3 s under plain Python 3.12 here; "small" (about a tenth) is for the modes
# that are tens of times slower (debugpy with a breakpoint in the hot function, bdb); "cond" gives
# each workload about the same number of condition evaluations. Plain Python runs at every size, so
# each ratio has a baseline of its own size.
SIZES = {
    "full": {"fib": 33, "nbody": 120_000, "exceptions": 1_000_000, "generators": 1_600_000},
    "small": {"fib": 28, "nbody": 12_000, "exceptions": 100_000, "generators": 160_000},
    "cond": {"fib": 24, "nbody": 10_000, "exceptions": 150_000, "generators": 150_000},
}
QUICK_SIZES = {
    "full": {"fib": 29, "nbody": 20_000, "exceptions": 150_000, "generators": 250_000},
    "small": {"fib": 23, "nbody": 2_000, "exceptions": 20_000, "generators": 30_000},
    "cond": {"fib": 21, "nbody": 2_000, "exceptions": 30_000, "generators": 30_000},
}
BASELINE = {"full": "plain", "small": "plain/small", "cond": "plain/cond"}
WORKLOADS = ["fib", "nbody", "exceptions", "generators"]

# A "raised" filter stops at every raise, so the benchmark restricts it (with exceptionOptions, or
# else a filter condition) to an exception type the workload never raises: the program never stops
# and the run measures the cost of looking at each raise.
NEVER_RAISED = "ZeroDivisionError"


# ---------------------------------------------------------------------------------------- modes

class Mode:
    def __init__(self, key, tool, label, size="full", breakpoint=None, condition=False, filters=(),
                 workloads=None, target=None):
        self.key = key              # e.g. "pydbg/hot"
        self.tool = tool            # plain | pydbg | debugpy | bdb
        self.label = label
        self.size = size
        self.breakpoint = breakpoint  # None | "file" | "hot-never" | "hot-cond"
        self.filters = tuple(filters)  # exception filters: "raised", "uncaught"
        self.workloads = workloads or WORKLOADS
        self.target = target


def modes():
    result = [
        Mode("plain", "plain", "plain python"),
        Mode("plain/small", "plain", "plain python", size="small"),
        Mode("plain/cond", "plain", "plain python", size="cond"),
    ]
    for tool in ("pydbg", "debugpy"):
        slow = "small" if tool == "debugpy" else "full"
        result += [
            Mode(f"{tool}/none", tool, "no breakpoints"),
            Mode(f"{tool}/file", tool, "breakpoint in a file never run", breakpoint="file"),
            Mode(f"{tool}/hot", tool, "breakpoint in the hot function, line never reached",
                 size=slow, breakpoint="hot-never"),
            Mode(f"{tool}/cond", tool, "conditional breakpoint in the hot loop, condition false",
                 size="cond", breakpoint="hot-cond"),
            Mode(f"{tool}/raised", tool, f"`raised` filter (only {NEVER_RAISED})", size=slow,
                 filters=["raised"], workloads=["exceptions"]),
            Mode(f"{tool}/uncaught", tool, "`uncaught` filter", size=slow, filters=["uncaught"],
                 workloads=["exceptions"]),
        ]
    result.append(Mode("bdb/hot", "bdb", "breakpoint in the hot function, line never reached",
                       size="small", breakpoint="hot-never"))
    return result


# ---------------------------------------------------------------------------------------- workloads

def workload_path(name):
    return os.path.join(WORKLOADS_DIR, f"{name}.py")


def markers(path):
    """Lines marked `# bench-hot: CONDITION` and `# bench-never` in a workload."""
    found = {}
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if "# bench-hot:" in line:
                found["hot"] = (number, line.split("# bench-hot:", 1)[1].strip())
            elif "# bench-never" in line:
                found["never"] = number
    return found


def hot_count(name, n):
    spec = importlib.util.spec_from_file_location(f"bench_workload_{name}", workload_path(name))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.hot_count(n)


# ---------------------------------------------------------------------------------------- processes

class TimedClient(DapClient):
    """DapClient that stamps every message with the time its last byte arrived (`_received`:
    what the debugger and the transport took) and how long the client then took to decode it
    (`_decode_s`), and can wait on anything."""

    def _receive(self, body):
        received = time.perf_counter()
        message = json.loads(body)
        message["_received"] = received
        message["_decode_s"] = time.perf_counter() - received
        self._dispatch(message)

    def wait_until(self, predicate, timeout):
        deadline = time.monotonic() + timeout
        with self._cond:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(min(remaining, 0.1))
            return True

    def events_seen(self):
        with self._cond:
            return list(self._events)

    def poke(self):
        with self._cond:
            self._cond.notify_all()


def connect(port, deadline, process):
    """Connects as soon as the debuggee listens (polling every millisecond: a coarser poll would
    show up in the start-up time)."""
    while True:
        try:
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.settimeout(None)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            return TimedClient(sock)
        except OSError:
            if process.poll_exited():
                raise DapError("the debuggee exited before it accepted a connection")
            if time.monotonic() > deadline:
                raise DapError("the debuggee never accepted a connection")
            time.sleep(0.001)


class Process:
    """A child in its own process group, reaped by os.wait4 in a thread, which records its exit
    time and its peak RSS."""

    live = set()  # every Process not yet closed, so that an interrupted run leaves none behind

    def __init__(self, command, cwd=None):
        self.log = tempfile.TemporaryFile()
        self.exited = threading.Event()
        self.client = None
        self.status = None
        self.maxrss_kb = None
        self.cpu_s = None
        self._tail = ""
        self.started = time.perf_counter()
        self.popen = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=self.log, stderr=subprocess.STDOUT,
                                      cwd=cwd or ROOT, start_new_session=True,
                                      env=dict(os.environ, PYTHONUNBUFFERED="1"))
        self.pid = self.popen.pid
        Process.live.add(self)
        self.ended = None
        threading.Thread(target=self._reap, daemon=True).start()

    def _reap(self):
        try:
            _, status, usage = os.wait4(self.pid, 0)
            self.ended = time.perf_counter()
            self.status = os.waitstatus_to_exitcode(status)
            self.maxrss_kb = usage.ru_maxrss
            self.cpu_s = usage.ru_utime + usage.ru_stime
            self.popen.returncode = self.status
        except ChildProcessError:
            self.status = -999
        finally:
            self.exited.set()
            if self.client is not None:
                self.client.poke()

    def poll_exited(self):
        return self.exited.is_set()

    def wait(self, timeout):
        return self.exited.wait(timeout)

    @classmethod
    def close_all(cls):
        for process in list(cls.live):
            process.close()

    @property
    def elapsed(self):
        return self.ended - self.started

    def output(self, limit=600):
        """The tail of what the child wrote to stdout and stderr."""
        if self.log.closed:
            return self._tail[-limit:]
        try:
            self.log.seek(0)
            text = self.log.read().decode(errors="replace")
        except (OSError, ValueError):
            return ""
        return text[-limit:]

    def kill_group(self):
        """Ends the child and whatever it started (debugpy's adapter), by process group."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        self.exited.wait(5)

    def close(self):
        if self.client is not None:
            self.client.close()
        self.kill_group()
        Process.live.discard(self)
        self._tail = self.output(2000)
        try:
            self.log.close()
        except OSError:
            pass


def command_for(tool, program, args, port=None, bdb_line=0):
    if tool == "plain":
        return [PY, program, *args]
    if tool == "bdb":
        return [PY, os.path.join(HERE, "bdb_driver.py"), program, str(bdb_line), *args]
    return [PY, "-m", tool, "--listen", str(port), "--wait-for-client", program, *args]


def filters_request(capabilities, filters):
    """setExceptionBreakpoints arguments for `filters`, or None if the tool cannot do them."""
    offered = {f["filter"]: f for f in capabilities.get("exceptionBreakpointFilters") or []}
    if any(name not in offered for name in filters):
        return None
    if "raised" not in filters:
        return {"filters": list(filters)}
    plain = [name for name in filters if name != "raised"]
    # exceptionOptions first: debugpy and pydbg both take it, so both get the same request.
    if capabilities.get("supportsExceptionOptions"):
        return {"filters": plain, "exceptionOptions": [{
            "path": [{"names": ["Python Exceptions"]}, {"names": [NEVER_RAISED]}], "breakMode": "always"}]}
    if capabilities.get("supportsExceptionFilterOptions") and offered["raised"].get("supportsCondition"):
        # pydbg's filter conditions name exception types.
        return {"filters": plain, "filterOptions": [{"filterId": "raised", "condition": NEVER_RAISED}]}
    return None


class NotImplementedByTool(Exception):
    pass


def start_session(tool, program, args, breakpoints=None, filters=(), timeout=30, attach_args=None):
    """Starts `program` under pydbg or debugpy and attaches: initialize, attach, setBreakpoints,
    setExceptionBreakpoints, configurationDone. Works with either order of `initialized` and the
    attach response (debugpy sends `initialized` after attach, and answers attach only after
    configurationDone). Returns (process, client, capabilities, t_configuration_done_sent)."""
    port = free_port()
    process = Process(command_for(tool, program, args, port=port))
    try:
        deadline = time.monotonic() + timeout
        client = connect(port, deadline, process)
        process.client = client
        capabilities = client.ok("initialize", {
            "clientID": "pydbg-bench", "adapterID": tool, "linesStartAt1": True, "columnsStartAt1": True,
            "pathFormat": "path", "supportsVariablePaging": True, "supportsVariableType": True}, timeout=timeout)
        if filters:
            exception_args = filters_request(capabilities, filters)
            if exception_args is None:
                raise NotImplementedByTool(f"{tool} offers no {'/'.join(filters)} exception filter")
        elif capabilities.get("exceptionBreakpointFilters"):
            exception_args = {"filters": []}
        else:
            exception_args = None
        attach = client.start_request("attach", attach_args or {"justMyCode": True})
        if not client.wait_until(lambda: client.events("initialized") or attach in client._responses
                                 or client.closed, timeout):
            raise DapError("no initialized event")
        response = client._responses.get(attach)
        if response is not None and not response["success"]:
            raise DapError(f"attach failed: {response.get('message')}")
        if not client.events("initialized"):
            client.wait_event("initialized", timeout=timeout)
        for path, specs in (breakpoints or {}).items():
            body = client.ok("setBreakpoints", {"source": {"path": path}, "breakpoints": specs}, timeout=timeout)
            for result in body["breakpoints"]:
                if not result.get("verified", False) and tool == "pydbg":
                    raise DapError(f"breakpoint not verified: {result}")
        if exception_args is not None:
            client.ok("setExceptionBreakpoints", exception_args, timeout=timeout)
        done_sent = time.perf_counter()
        client.ok("configurationDone", timeout=timeout)
        response = client.wait_response(attach, timeout=timeout)
        if not response["success"]:
            raise DapError(f"attach failed: {response.get('message')}")
        return process, client, capabilities, done_sent
    except (DapError, OSError) as e:
        process.kill_group()
        output = one_line(process.output(300))
        process.close()
        raise DapError(f"{e}" + (f"; its output: {output}" if output else "")) from e
    except BaseException:
        process.close()
        raise


def run_to_exit(process, client, timeout):
    """Waits for the program to exit. Answers `terminated` with `disconnect`, as IDEs do, and
    continues any stop (a throughput run should never stop; stops are counted)."""
    deadline = time.monotonic() + timeout
    stops = 0
    disconnected = False
    seen = 0
    while not process.poll_exited():
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise DapError(f"the program did not exit within {timeout:.0f}s")
        client.wait_until(lambda: process.poll_exited() or client.event_count() > seen or client.closed,
                          min(remaining, 1.0))
        with client._cond:
            new = client._events[seen:]
            seen += len(new)
        for event in new:
            if event["event"] == "stopped":
                stops += 1
                client.start_request("continue", {"threadId": event["body"].get("threadId", 0)})
            elif event["event"] == "terminated" and not disconnected:
                disconnected = True
                client.start_request("disconnect", {})
        if client.closed and not process.poll_exited():
            if not process.wait(min(max(deadline - time.monotonic(), 0), 30)):
                raise DapError("the client connection closed but the program did not exit")
    return stops


# ---------------------------------------------------------------------------------------- one run

class RunError(Exception):
    pass


def plain_run(program, args, timeout):
    """Runs `program` with plain Python; its wall time, start to exit."""
    process = Process(command_for("plain", program, args))
    try:
        if not process.wait(timeout):
            raise RunError(f"did not exit within {timeout:.0f}s")
        return process.elapsed
    finally:
        process.close()


def describe_exit(status):
    if status is not None and status < 0:
        try:
            return f"killed by {signal.Signals(-status).name}"
        except ValueError:
            return f"killed by signal {-status}"
    return f"exit status {status}"


def throughput_run(mode, workload, sizes, timeout):
    """One timed run. Returns {"time", "maxrss_kb", "stops"}; raises on failure."""
    program = workload_path(workload)
    n = sizes[mode.size][workload] if workload != "empty" else None
    args = [str(n)] if n is not None else []
    breakpoints = {}
    bdb_line = 0
    if workload != "empty" and mode.breakpoint:
        marks = markers(program)
        if mode.breakpoint == "file":
            never_run = workload_path("never_run")
            breakpoints = {never_run: [{"line": markers(never_run)["never"]}]}
        elif mode.breakpoint == "hot-never":
            breakpoints = {program: [{"line": marks["never"]}]}
            bdb_line = marks["never"]
        elif mode.breakpoint == "hot-cond":
            line, condition = marks["hot"]
            breakpoints = {program: [{"line": line, "condition": condition}]}
    events = None
    if mode.tool in ("plain", "bdb"):
        process = Process(command_for(mode.tool, program, args, bdb_line=bdb_line))
        try:
            if not process.wait(timeout):
                raise RunError(f"did not exit within {timeout:.0f}s")
            stops = 0
        finally:
            process.close()
    else:
        process, client, _, _ = start_session(mode.tool, program, args, breakpoints,
                                              mode.filters if workload != "empty" else (), timeout=min(timeout, 60))
        try:
            stops = run_to_exit(process, client, timeout)
        finally:
            process.close()
            events = [e["event"] for e in client.events_seen()]
    if process.status != 0:
        raise RunError(describe_exit(process.status) + (f"; output: {one_line(process.output(300))}"
                                                        if process.output(300).strip() else "")
                       + (f"; events seen: {', '.join(events[-6:])}" if events is not None else ""))
    return {"time": process.elapsed, "cpu_s": process.cpu_s, "maxrss_kb": process.maxrss_kb, "stops": stops}


# ---------------------------------------------------------------------------------------- latencies

def interactive(name):
    return os.path.join(INTERACTIVE_DIR, f"{name}.py")


def marked_line(path, tag):
    with open(path) as f:
        for number, line in enumerate(f, 1):
            if f"# bench-{tag}" in line:
                return number
    raise ValueError(f"no # bench-{tag} in {path}")


def stop_at_start(tool, timeout):
    """configurationDone sent → `stopped` received, for a breakpoint on a program's first line."""
    program = interactive("start")
    process, client, _, done_sent = start_session(
        tool, program, [], {program: [{"line": marked_line(program, "stop")}]}, timeout=timeout)
    try:
        event = client.wait_event("stopped", timeout=timeout)
        latency = event["_received"] - done_sent
        client.start_request("disconnect", {"terminateDebuggee": True})
        return latency
    finally:
        process.close()


def stepping(tool, steps, timeout):
    """Round trips of consecutive `next` requests: request sent → `stopped` received."""
    program = interactive("steps")
    process, client, _, _ = start_session(tool, program, [], {program: [{"line": marked_line(program, "stop")}]},
                                          timeout=timeout)
    try:
        first = client.wait_event("stopped", timeout=timeout)
        thread = first["body"]["threadId"]
        times = []
        lines = set()
        for _ in range(steps):
            index = client.event_count()
            sent = time.perf_counter()
            client.start_request("next", {"threadId": thread})
            event = client.wait_event("stopped", timeout=timeout, after=index)
            times.append(event["_received"] - sent)
            if len(times) <= 5:
                lines.add(client.top_frame(thread)["line"])
        client.start_request("disconnect", {"terminateDebuggee": True})
        if len(lines) < 2:
            raise RunError(f"`next` did not move: lines {sorted(lines)}")
        return times
    finally:
        process.close()


def stopped_frame(client, timeout):
    event = client.wait_event("stopped", timeout=timeout)
    thread = event["body"]["threadId"]
    frames = client.ok("stackTrace", {"threadId": thread, "levels": 1}, timeout=timeout)["stackFrames"]
    return thread, frames[0]["id"]


def locals_reference(client, frame_id, timeout):
    scopes = client.ok("scopes", {"frameId": frame_id}, timeout=timeout)["scopes"]
    scope = next((s for s in scopes if s["name"].lower().startswith("local")), scopes[0])
    return scope["variablesReference"]


def timed(client, command, arguments, timeout):
    """(seconds from sending to the response's last byte, its body, seconds the client then took
    to decode it)."""
    sent = time.perf_counter()
    seq = client.start_request(command, arguments)
    response = client.wait_response(seq, timeout=timeout)
    if not response["success"]:
        raise RunError(f"{command} failed: {response.get('message')}")
    return response["_received"] - sent, response.get("body", {}), response["_decode_s"]


def big_list_page(tool, repeats, timeout):
    """`variables` with count=100 on a list of 10**6 items: the first request, then repeats."""
    program = interactive("biglist")
    process, client, _, _ = start_session(tool, program, [], {program: [{"line": marked_line(program, "stop")}]},
                                          timeout=timeout)
    try:
        _, frame_id = stopped_frame(client, timeout)
        variables = client.ok("variables", {"variablesReference": locals_reference(client, frame_id, timeout)},
                              timeout=timeout)["variables"]
        big = next(v for v in variables if v["name"] == "big")
        if not big.get("variablesReference"):
            raise RunError(f"`big` is not expandable: {big}")
        arguments = {"variablesReference": big["variablesReference"], "filter": "indexed", "start": 0, "count": 100}
        times = []
        count = None
        for _ in range(repeats):
            elapsed, body, _ = timed(client, "variables", arguments, timeout)
            times.append(elapsed)
            count = len(body.get("variables", []))
        client.start_request("disconnect", {"terminateDebuggee": True})
        return times, count
    finally:
        process.close()


def big_list_evaluate(tool, repeats, timeout):
    """`evaluate` (watch context) of a list of 10**6 items: its value and its reference."""
    program = interactive("biglist")
    process, client, _, _ = start_session(tool, program, [], {program: [{"line": marked_line(program, "stop")}]},
                                          timeout=timeout)
    try:
        _, frame_id = stopped_frame(client, timeout)
        times = []
        length = None
        for _ in range(repeats):
            elapsed, body, _ = timed(client, "evaluate", {"expression": "big", "frameId": frame_id, "context": "watch"},
                                  timeout)
            times.append(elapsed)
            length = len(body.get("result", ""))
        client.start_request("disconnect", {"terminateDebuggee": True})
        return times, length
    finally:
        process.close()


def deep_stack(tool, repeats, timeout):
    """`stackTrace` (all frames) with 500 recursive frames on the stack."""
    program = interactive("deep")
    process, client, _, _ = start_session(tool, program, [], {program: [{"line": marked_line(program, "stop")}]},
                                          timeout=timeout)
    try:
        thread, _ = stopped_frame(client, timeout)
        times, decodes = [], []
        count = None
        for _ in range(repeats):
            elapsed, body, decode = timed(client, "stackTrace", {"threadId": thread}, timeout)
            times.append(elapsed)
            decodes.append(decode)
            count = len(body.get("stackFrames", []))
        client.start_request("disconnect", {"terminateDebuggee": True})
        return times, count, decodes
    finally:
        process.close()


# ---------------------------------------------------------------------------------------- facts

def machine_facts():
    cpu = "unknown"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    try:
        debugpy_version = importlib.metadata.version("debugpy")
    except importlib.metadata.PackageNotFoundError:
        debugpy_version = "not installed"
    try:
        commit = subprocess.run(["git", "-C", ROOT, "describe", "--always", "--dirty"], capture_output=True,
                                text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    return {
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "python_executable": PY,
        "debugpy": debugpy_version,
        "pydbg": importlib.metadata.version("pydbg-dap"),
        "pydbg_commit": commit,
        "nproc": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "cpu": cpu,
        "platform": platform.platform(),
        "loadavg_start": os.getloadavg(),
    }


# ---------------------------------------------------------------------------------------- report

def cpu_snapshot():
    """(busy seconds of the whole machine, steal seconds, CPU seconds of this process and its
    reaped children, wall time)."""
    import resource
    busy = steal = 0.0
    try:
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        hz = os.sysconf("SC_CLK_TCK")
        # user nice system idle iowait irq softirq steal ...
        busy = (sum(fields[:3]) + sum(fields[5:8])) / hz
        steal = fields[7] / hz if len(fields) > 7 else 0.0
    except (OSError, ValueError, IndexError):
        return None
    ours = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        ours += usage.ru_utime + usage.ru_stime
    return busy, steal, ours, time.monotonic()


def other_load(before, after):
    """The share of the machine's CPU time that other processes (and the hypervisor) took."""
    if before is None or after is None:
        return None, None
    capacity = (after[3] - before[3]) * (os.cpu_count() or 1)
    if capacity <= 0:
        return None, None
    other = (after[0] - before[0]) - (after[2] - before[2])
    return max(other, 0.0) / capacity, (after[1] - before[1]) / capacity


def median(values):
    return statistics.median(values) if values else None


def fmt_s(seconds):
    if seconds is None:
        return "—"
    return f"{seconds:.3f} s" if seconds < 10 else f"{seconds:.1f} s"


def fmt_ms(seconds):
    if seconds is None:
        return "—"
    ms = seconds * 1000
    return f"{ms:.2f} ms" if ms < 10 else f"{ms:.1f} ms" if ms < 100 else f"{ms:.0f} ms"


def fmt_ratio(ratio):
    if ratio is None:
        return "—"
    return f"{ratio:.2f}×" if ratio < 10 else f"{ratio:.1f}×" if ratio < 100 else f"{ratio:.0f}×"


def fmt_ns(seconds):
    if seconds is None:
        return "—"
    ns = seconds * 1e9
    return f"{ns:.0f} ns" if ns < 10_000 else f"{ns / 1000:.1f} µs"


class Results:
    def __init__(self):
        self.runs = {}      # (mode key, workload) -> list of run dicts
        self.errors = {}    # (mode key, workload) -> list of messages
        self.skipped = {}   # (mode key, workload) -> reason (not implemented by the tool)
        self.latency = {}   # (tool, what) -> dict

    def times(self, key, workload):
        return [r["time"] for r in self.runs.get((key, workload), [])]

    def median_time(self, key, workload):
        return median(self.times(key, workload))


def analyse(results, mode_list, sizes, facts):
    """Medians, ratios to plain python (empty-script times subtracted), and costs per evaluation."""
    empty = {tool: results.median_time(f"{tool}/empty", "empty") for tool in ("plain", "pydbg", "debugpy", "bdb")}
    rows = []
    for mode in mode_list:
        for workload in mode.workloads:
            key = (mode.key, workload)
            base_key = BASELINE[mode.size]
            base = results.median_time(base_key, workload)
            t = results.median_time(mode.key, workload)
            row = {"mode": mode.key, "tool": mode.tool, "label": mode.label, "workload": workload,
                   "size": sizes[mode.size][workload], "runs": len(results.times(*key)), "median_s": t,
                   "times_s": results.times(*key),
                   "maxrss_kb": median([r["maxrss_kb"] for r in results.runs.get(key, [])]),
                   "stops": sum(r["stops"] for r in results.runs.get(key, [])),
                   "errors": results.errors.get(key, []), "skipped": results.skipped.get(key)}
            if t is not None and base is not None and empty.get(mode.tool) is not None and empty["plain"] is not None:
                work = base - empty["plain"]
                row["ratio"] = (t - empty[mode.tool]) / work if work > 0 else None
                # The same from the fastest runs: less sensitive to other load on the machine.
                fastest = {tool: min(results.times(f"{tool}/empty", "empty"), default=None)
                           for tool in ("plain", mode.tool)}
                if None not in fastest.values():
                    fast_work = min(results.times(base_key, workload)) - fastest["plain"]
                    row["ratio_of_fastest"] = ((min(results.times(*key)) - fastest[mode.tool]) / fast_work
                                               if fast_work > 0 else None)
                if mode.breakpoint == "hot-cond":
                    evaluations = hot_count(workload, sizes[mode.size][workload])
                    row["evaluations"] = evaluations
                    row["cost_per_evaluation_s"] = ((t - empty[mode.tool]) - work) / evaluations
            rows.append(row)
    return empty, rows


def row_for(rows, mode, workload):
    return next((r for r in rows if r["mode"] == mode and r["workload"] == workload), None)


def cell(row, what="ratio"):
    if row is None:
        return "—"
    if row["skipped"]:
        return "n/a (not implemented)"
    if row["median_s"] is None:
        return "error" if row["errors"] else "—"
    if what == "ratio":
        text = f"{fmt_ratio(row.get('ratio'))} ({fmt_s(row['median_s'])})"
    else:
        text = f"{fmt_ns(row.get('cost_per_evaluation_s'))}/eval"
    if row["errors"]:
        text += f" ({len(row['errors'])} failed)"
    if row["stops"]:
        text += f" ({row['stops']} unexpected stops)"
    return text


def targets(empty, rows, results):
    """The issue's targets table: (what, target, pydbg, debugpy, met)."""
    out = []

    def worst(mode, workloads=WORKLOADS):
        values = []
        for workload in workloads:
            row = row_for(rows, mode, workload)
            if row is None or row["skipped"]:
                return "n/a", None
            if row.get("ratio") is None:
                return "error", None
            values.append(row["ratio"])
        top = max(values)
        label = fmt_ratio(top) if len(values) == 1 else f"{fmt_ratio(min(values))}–{fmt_ratio(top)}"
        return label, top

    def verdict(value, limit):
        if value is None:
            return "n/a"
        return "yes" if value <= limit else "**no**"

    startup = {tool: (empty[tool] - empty["plain"]) if empty.get(tool) is not None and empty.get("plain") is not None
               else None for tool in ("pydbg", "debugpy")}
    out.append(("start-up to exit of an empty program", "+ ≤ 60 ms",
                f"+ {fmt_ms(startup['pydbg'])}" if startup["pydbg"] is not None else "error",
                f"+ {fmt_ms(startup['debugpy'])}" if startup["debugpy"] is not None else "error",
                verdict(startup["pydbg"], 0.060)))
    for mode, what, limit, workloads in [
        ("none", "no breakpoints", 1.02, WORKLOADS),
        ("file", "breakpoint in a file never run", 1.02, WORKLOADS),
        ("uncaught", "`uncaught` filter (the IDE default), exception-heavy workload", 1.05, ["exceptions"]),
        ("raised", f"`raised` filter (for {NEVER_RAISED}, never raised), exception-heavy workload", None,
         ["exceptions"]),
        ("hot", "breakpoint in the hot function, on a line never reached", 1.03, WORKLOADS),
    ]:
        p_label, p_value = worst(f"pydbg/{mode}", workloads)
        d_label, _ = worst(f"debugpy/{mode}", workloads)
        out.append((what, f"≤ {limit:.2f}×" if limit else "(none)", p_label, d_label,
                    verdict(p_value, limit) if limit else "—"))
    # Conditional breakpoints: pydbg's cost per evaluation against a quarter of debugpy's.
    shares = []
    p_costs, d_costs = [], []
    for workload in WORKLOADS:
        p = row_for(rows, "pydbg/cond", workload)
        d = row_for(rows, "debugpy/cond", workload)
        pc = p.get("cost_per_evaluation_s") if p else None
        dc = d.get("cost_per_evaluation_s") if d else None
        p_costs.append(pc)
        d_costs.append(dc)
        if pc is not None and dc:
            shares.append(pc / dc)
    def cost_range(costs):
        known = [c for c in costs if c is not None]
        if not known:
            return "error"
        return fmt_ns(known[0]) if len(known) == 1 else f"{fmt_ns(min(known))}–{fmt_ns(max(known))}"
    cond_met = "n/a" if not shares or len(shares) < len(WORKLOADS) else (
        "yes" if max(shares) <= 0.25 else "**no**")
    out.append(("conditional breakpoint, false condition, cost per evaluation",
                "≤ ¼ of debugpy's", f"{cost_range(p_costs)}" + (f" ({max(shares):.2f} of debugpy's at worst)"
                                                               if shares else ""),
                cost_range(d_costs), cond_met))
    nxt = {tool: results.latency.get((tool, "next")) for tool in ("pydbg", "debugpy")}
    out.append(("`next` round trip, median", "≤ 1 ms", latency_cell(nxt["pydbg"]), latency_cell(nxt["debugpy"]),
                verdict(nxt["pydbg"].get("median_s") if nxt["pydbg"] else None, 0.001)))
    start = {tool: results.latency.get((tool, "start")) for tool in ("pydbg", "debugpy")}
    out.append(("configurationDone → `stopped` at a breakpoint at program start", "≤ 20 ms",
                latency_cell(start["pydbg"]), latency_cell(start["debugpy"]),
                verdict(start["pydbg"].get("median_s") if start["pydbg"] else None, 0.020)))
    return out


def latency_cell(entry):
    if not entry:
        return "—"
    if entry.get("median_s") is None:
        return "error"
    text = fmt_ms(entry["median_s"])
    if entry.get("first_s") is not None:
        text += f" (first {fmt_ms(entry['first_s'])})"
    if entry.get("count") is not None:
        text += f", {entry['count']} items"
    if entry.get("decode_s") is not None:
        text += f"; the client then decodes it in {fmt_ms(entry['decode_s'])}"
    return text


def markdown(facts, settings, empty, rows, results, target_rows):
    lines = []
    add = lines.append
    add(f"pydbg benchmark — {'quick' if settings['quick'] else 'full'} run, {facts['date']}")
    add("")
    add(f"- Python {facts['python']} ({facts['python_executable']}); debugpy {facts['debugpy']}; "
        f"pydbg {facts['pydbg']} ({facts['pydbg_commit']})")
    add(f"- {facts['nproc']} CPUs ({facts['cpus_usable']} usable), {facts['cpu']}; {facts['platform']}; "
        f"load average {facts['loadavg_start'][0]:.2f} at start, {facts['loadavg_end'][0]:.2f} at end")
    other = facts.get("other_cpu_share")
    if other is not None:
        add(f"- Other processes used {other:.0%} of the machine's CPU time during the run"
            f" (hypervisor steal {facts.get('steal_share', 0):.0%}).")
        if other > 0.10:
            add("- **Warning: other work shared the machine, so ratios near 1× are noise in this run.**")
    add(f"- {settings['repeats']} round(s) ({settings['slow_rounds']} with debugpy and bdb), runs alternated "
        "round-robin; medians. Ratios are to plain python "
        "at the same size, with each tool's empty-program time subtracted: "
        "(t − t_empty[tool]) / (t_plain − t_empty[plain]).")
    add("")
    add("### Targets (issue 7)")
    add("")
    add("| what | target | pydbg | debugpy | met |")
    add("|---|---|---|---|---|")
    for row in target_rows:
        add("| " + " | ".join(row) + " |")
    add("")
    add("### Throughput: ratio to plain python (median wall time, start to exit)")
    add("")
    sizes = settings["sizes"]
    add("Sizes (the workload's argument): " + "; ".join(
        f"{size}: " + ", ".join(f"{w} {sizes[size][w]:,}" for w in WORKLOADS) for size in sizes) + ".")
    add("")
    add(f"| tool | mode | size | {' | '.join(WORKLOADS)} |")
    add("|---|---|---|" + "---|" * len(WORKLOADS))
    for mode in modes():
        cells = []
        for workload in WORKLOADS:
            row = row_for(rows, mode.key, workload) if workload in mode.workloads else None
            if mode.tool == "plain":
                cells.append(fmt_s(row["median_s"]) if row and row["median_s"] is not None else
                             ("error" if row and row["errors"] else "—"))
            else:
                cells.append(cell(row))
        tool = {"plain": "plain python", "bdb": "pdb/bdb"}.get(mode.tool, mode.tool)
        label = mode.label if mode.tool != "plain" else "—"
        add(f"| {tool} | {label} | {mode.size} | " + " | ".join(cells) + " |")
    add("")
    add("Empty program, start to exit: " + ", ".join(
        f"{tool} {fmt_ms(empty[tool])}" for tool in ("plain", "pydbg", "debugpy", "bdb")) + ".")
    add("")
    add("Conditional breakpoint, cost per evaluation ((t − t_empty[tool]) − (t_plain − t_empty[plain])) / "
        "evaluations:")
    add("")
    add("| tool | " + " | ".join(WORKLOADS) + " |")
    add("|---|" + "---|" * len(WORKLOADS))
    for tool in ("pydbg", "debugpy"):
        add(f"| {tool} | " + " | ".join(cell(row_for(rows, f"{tool}/cond", w), "cost") for w in WORKLOADS) + " |")
    add("")
    add("### Interactive latencies (median; request sent → last byte of the response or event received, "
        "before the client decodes it)")
    add("")
    add("| what | pydbg | debugpy |")
    add("|---|---|---|")
    for what, label in [("start", "configurationDone → `stopped`, breakpoint at program start"),
                        ("next", f"`next` round trip ({settings['steps']} consecutive steps)"),
                        ("variables", "`variables`, first page (count=100) of a 10^6-item list"),
                        ("evaluate", "`evaluate` of a 10^6-item list (watch)"),
                        ("stackTrace", "`stackTrace`, all frames, 500-deep recursion")]:
        add(f"| {label} | {latency_cell(results.latency.get(('pydbg', what)))} | "
            f"{latency_cell(results.latency.get(('debugpy', what)))} |")
    add("")
    add("### Peak RSS (median of runs; the debuggee process only)")
    add("")
    add("| program | plain python | pydbg, no breakpoints | pydbg, breakpoint in hot function | debugpy, no breakpoints |")
    add("|---|---|---|---|---|")
    for workload in ["empty", *WORKLOADS]:
        if workload == "empty":
            keys = ["plain/empty", "pydbg/empty", None, "debugpy/empty"]
        else:
            keys = ["plain", "pydbg/none", "pydbg/hot", "debugpy/none"]
        base = None
        cells = []
        for key in keys:
            values = [r["maxrss_kb"] for r in results.runs.get((key, workload), [])] if key else []
            value = median(values)
            if value is None:
                cells.append("—")
                continue
            if base is None:
                base = value
                cells.append(f"{value / 1024:.1f} MB")
            else:
                cells.append(f"{value / 1024:.1f} MB ({(value - base) / 1024:+.1f})")
        add(f"| {workload} | " + " | ".join(cells) + " |")
    errors = [(mode, workload, messages) for (mode, workload), messages in sorted(results.errors.items())]
    latency_errors = [(tool, what, entry["error"]) for (tool, what), entry in sorted(results.latency.items())
                      if entry.get("error")]
    if errors or latency_errors:
        add("")
        add("### Errors")
        add("")
        for mode, workload, messages in errors:
            add(f"- {mode} on {workload}: {len(messages)} failed run(s); first: {one_line(messages[0])}")
        for tool, what, message in latency_errors:
            add(f"- {tool} {what} latency: {one_line(message)}")
    skipped = sorted({(mode.split('/')[0], reason) for (mode, _), reason in results.skipped.items()})
    if skipped:
        add("")
        for tool, reason in skipped:
            add(f"- n/a: {reason}.")
    return "\n".join(lines) + "\n"


def one_line(text, limit=300):
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "…"


# ---------------------------------------------------------------------------------------- main

def log(message):
    print(message, file=sys.stderr, flush=True)


def measure_latencies(results, settings, timeout, tools):
    steps = settings["steps"]
    repeats = settings["latency_repeats"]
    starts = settings["start_repeats"]
    for tool in [t for t in ("pydbg", "debugpy") if t in tools]:
        jobs = [
            ("start", lambda: [stop_at_start(tool, timeout) for _ in range(starts)], None),
            ("next", lambda: stepping(tool, steps, timeout), None),
            ("variables", lambda: big_list_page(tool, repeats, timeout), "count"),
            ("evaluate", lambda: big_list_evaluate(tool, repeats, timeout), "count"),
            ("stackTrace", lambda: deep_stack(tool, repeats, timeout), "count+decode"),
        ]
        for what, job, extra in jobs:
            log(f"  latency {tool} {what}")
            try:
                value = job()
                count, decodes = None, None
                if extra == "count":
                    value, count = value
                elif extra == "count+decode":
                    value, count, decodes = value
                results.latency[(tool, what)] = {"median_s": median(value), "first_s": value[0] if what in (
                    "variables", "evaluate", "stackTrace") else None, "times_s": value, "count": count,
                    "decode_s": median(decodes) if decodes else None}
            except Exception as e:
                results.latency[(tool, what)] = {"median_s": None, "error": f"{type(e).__name__}: {e}",
                                                 "trace": traceback.format_exc()}
                log(f"    failed: {e}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes and one round: under 2 minutes")
    parser.add_argument("--repeats", type=int, help="rounds of throughput runs (default 3 quick, 5 full)")
    parser.add_argument("--slow-repeats", type=int,
                        help="of those rounds, how many also run debugpy and bdb (default 1 quick, 3 full)")
    parser.add_argument("--timeout", type=float, help="seconds allowed for any one run (default 60 quick, 300 full)")
    parser.add_argument("--only", help="comma-separated tools to run (plain is always run): pydbg,debugpy,bdb")
    parser.add_argument("--no-latency", action="store_true", help="skip the interactive latencies")
    parser.add_argument("--out", help="the JSON file to write (default tests/bench/results/bench-DATE-pyXY.json)")
    options = parser.parse_args(argv)

    sizes = QUICK_SIZES if options.quick else SIZES
    settings = {
        "quick": options.quick,
        "repeats": options.repeats or (3 if options.quick else 5),
        # debugpy and bdb runs take seconds each, so they run in fewer rounds.
        "slow_rounds": options.slow_repeats or (1 if options.quick else 3),
        "timeout": options.timeout or (60 if options.quick else 300),
        "sizes": sizes,
        "steps": 200,
        "latency_repeats": 5 if options.quick else 20,
        "start_repeats": 2 if options.quick else 10,
    }
    facts = machine_facts()
    log(f"pydbg benchmark on Python {facts['python']}, debugpy {facts['debugpy']}, "
        f"{'quick' if options.quick else 'full'}")
    tools = {"plain", *(options.only.split(",") if options.only else ("pydbg", "debugpy", "bdb"))}
    mode_list = [m for m in modes() if m.tool in tools]
    empties = [Mode(f"{tool}/empty", tool, "empty program") for tool in ("plain", "pydbg", "debugpy", "bdb")
               if tool in tools]
    configs = [(m, "empty") for m in empties] + [(m, w) for m in mode_list for w in m.workloads]
    results = Results()
    started = time.monotonic()
    cpu_before = cpu_snapshot()
    for round_number in range(settings["repeats"]):
        log(f"round {round_number + 1}/{settings['repeats']}")
        # Rotate the order every round, so no configuration always follows the same neighbour.
        shift = round_number * 7 % len(configs)
        for mode, workload in configs[shift:] + configs[:shift]:
            key = (mode.key, workload)
            if key in results.skipped:
                continue
            if mode.tool in ("debugpy", "bdb") and round_number >= settings["slow_rounds"]:
                continue
            try:
                run = throughput_run(mode, workload, sizes, settings["timeout"])
                results.runs.setdefault(key, []).append(run)
                log(f"  {mode.key:16} {workload:10} {run['time']:8.3f} s  {run['maxrss_kb'] / 1024:6.1f} MB"
                    + (f"  {run['stops']} stops!" if run["stops"] else ""))
            except NotImplementedByTool as e:
                results.skipped[key] = str(e)
                log(f"  {mode.key:16} {workload:10} n/a: {e}")
            except Exception as e:
                results.errors.setdefault(key, []).append(f"{type(e).__name__}: {e}")
                log(f"  {mode.key:16} {workload:10} FAILED: {type(e).__name__}: {e}")
    if not options.no_latency:
        log("interactive latencies")
        measure_latencies(results, settings, min(settings["timeout"], 60), tools)
    facts["loadavg_end"] = os.getloadavg()
    facts["other_cpu_share"], facts["steal_share"] = other_load(cpu_before, cpu_snapshot())
    facts["duration_s"] = time.monotonic() - started
    empty, rows = analyse(results, [*mode_list], sizes, facts)
    target_rows = targets(empty, rows, results)
    report = markdown(facts, settings, empty, rows, results, target_rows)

    os.makedirs(RESULTS_DIR, exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    version = "".join(facts["python"].split(".")[:2])
    out = options.out or os.path.join(RESULTS_DIR, f"bench-{stamp}-py{version}{'-quick' if options.quick else ''}.json")
    data = {
        "facts": facts, "settings": settings, "empty_s": empty, "rows": rows,
        "targets": [dict(zip(("what", "target", "pydbg", "debugpy", "met"), row)) for row in target_rows],
        "latency": {f"{tool}/{what}": entry for (tool, what), entry in results.latency.items()},
        "errors": {f"{mode}@{workload}": messages for (mode, workload), messages in results.errors.items()},
        "markdown": report,
    }
    with open(out, "w") as f:
        json.dump(data, f, indent=1, default=str)
    with open(os.path.splitext(out)[0] + ".md", "w") as f:
        f.write(report)
    print(report)
    log(f"wrote {out} and {os.path.splitext(out)[0]}.md in {facts['duration_s']:.0f} s")
    return 0


def terminated(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, terminated)
    try:
        sys.exit(main())
    finally:
        Process.close_all()
