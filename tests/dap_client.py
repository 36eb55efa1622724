"""A small DAP client for tests and the demo: it talks to a real pydbg over a real socket, or to
`pydbg-adapter` over its stdin/stdout (`DapClient.from_process`).

Every message it receives is kept in `received`, so tests can check them against the schema.
Reverse requests (such as `runInTerminal`) are answered by `reverse_handlers[command]`.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time

DEFAULT_TIMEOUT = 15


class DapError(Exception):
    pass


class DapClient:
    def __init__(self, sock):
        self.sock = sock
        self.seq = 0
        self.received = []
        self._responses = {}
        self._events = []
        self._cond = threading.Condition()
        self.closed = False
        self.sent = []
        self._send_lock = threading.Lock()
        # command -> function(arguments) returning the response body; raising makes it a failure.
        self.reverse_handlers = {}
        self._reader = threading.Thread(target=self._read_loop, daemon=True)
        self._reader.start()

    @classmethod
    def from_process(cls, process):
        """A client on a process's pipes: it writes to its stdin and reads its stdout."""
        return cls(_Pipes(process))

    @classmethod
    def connect(cls, port, host="127.0.0.1", timeout=DEFAULT_TIMEOUT):
        deadline = time.monotonic() + timeout
        while True:
            try:
                sock = socket.create_connection((host, port), timeout=timeout)
                sock.settimeout(None)
                return cls(sock)
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.02)

    # -------------------------------------------------------------- wire

    def send_raw(self, data: bytes):
        self.sock.sendall(data)

    def send(self, message):
        """Sends a message; one without a `seq` gets the next one (returned)."""
        with self._send_lock:  # reverse requests are answered from other threads
            if "seq" not in message:
                self.seq += 1
                message = {"seq": self.seq, **message}
            body = json.dumps(message).encode()
            self.sent.append(message)
            self.send_raw(b"Content-Length: %d\r\n\r\n" % len(body) + body)
            return message["seq"]

    def _read_loop(self):
        buffer = b""
        try:
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = self.sock.recv(65536)
                    if not chunk:
                        raise EOFError
                    buffer += chunk
                header, _, buffer = buffer.partition(b"\r\n\r\n")
                length = None
                for line in header.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                if length is None:
                    raise DapError(f"bad header from pydbg: {header!r}")
                while len(buffer) < length:
                    chunk = self.sock.recv(65536)
                    if not chunk:
                        raise EOFError
                    buffer += chunk
                body, buffer = buffer[:length], buffer[length:]
                self._receive(body)
        except (EOFError, OSError):
            pass
        finally:
            with self._cond:
                self.closed = True
                self._cond.notify_all()

    def _receive(self, body):
        """A whole message's bytes have arrived."""
        self._dispatch(json.loads(body))

    def _dispatch(self, message):
        with self._cond:
            self.received.append(message)
            if message.get("type") == "response":
                self._responses[message["request_seq"]] = message
            elif message.get("type") == "event":
                self._events.append(message)
            self._cond.notify_all()
        if message.get("type") == "request":
            threading.Thread(target=self._answer_reverse_request, args=(message,), daemon=True).start()

    def _answer_reverse_request(self, request):
        handler = self.reverse_handlers.get(request["command"])
        response = {"type": "response", "request_seq": request["seq"], "command": request["command"]}
        try:
            if handler is None:
                raise DapError(f"the test client does not answer {request['command']}")
            body = handler(request.get("arguments", {}))
            response.update(success=True, **({"body": body} if body is not None else {}))
        except Exception as e:
            response.update(success=False, message=str(e))
        self.send(response)

    def reverse_requests(self, command=None):
        with self._cond:
            return [m for m in self.received if m.get("type") == "request"
                    and (command is None or m["command"] == command)]

    # -------------------------------------------------------------- requests

    def start_request(self, command, arguments=None):
        message = {"type": "request", "command": command}
        if arguments is not None:
            message["arguments"] = arguments
        return self.send(message)

    def wait_response(self, seq, timeout=DEFAULT_TIMEOUT):
        deadline = time.monotonic() + timeout
        with self._cond:
            while seq not in self._responses:
                if self.closed:
                    raise DapError(f"connection closed before the response to request {seq}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DapError(f"no response to request {seq} within {timeout}s")
                self._cond.wait(remaining)
            return self._responses[seq]

    def request(self, command, arguments=None, timeout=DEFAULT_TIMEOUT):
        """Sends a request and returns its response (successful or not)."""
        return self.wait_response(self.start_request(command, arguments), timeout)

    def ok(self, command, arguments=None, timeout=DEFAULT_TIMEOUT):
        """Sends a request that must succeed and returns its body."""
        response = self.request(command, arguments, timeout)
        if not response["success"]:
            raise DapError(f"{command} failed: {response.get('message')}")
        return response.get("body", {})

    # -------------------------------------------------------------- events

    def events(self, name):
        with self._cond:
            return [e for e in self._events if e["event"] == name]

    def wait_event(self, name, predicate=None, timeout=DEFAULT_TIMEOUT, after=0):
        """The first event `name` (index >= after among all events) matching `predicate`."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for event in self._events[after:]:
                    if event["event"] == name and (predicate is None or predicate(event.get("body", {}))):
                        return event
                if self.closed:
                    raise DapError(f"connection closed while waiting for event {name}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise DapError(f"no {name} event within {timeout}s; got {[e['event'] for e in self._events]}")
                self._cond.wait(remaining)

    def wait_closed(self, timeout=DEFAULT_TIMEOUT):
        """Waits until the connection has closed and everything before its end was dispatched."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while not self.closed and time.monotonic() < deadline:
                self._cond.wait(deadline - time.monotonic())
            return self.closed

    def event_count(self):
        with self._cond:
            return len(self._events)

    def wait_stopped(self, timeout=DEFAULT_TIMEOUT, after=None):
        """Waits for the next stopped event after the ones already seen."""
        start = self._seen_stops if after is None else after
        event = self.wait_event("stopped", timeout=timeout, after=start)
        with self._cond:
            self._seen_stops = self._events.index(event) + 1
        return event["body"]

    _seen_stops = 0

    def output(self, category=None):
        return "".join(e["body"]["output"] for e in self.events("output")
                       if category is None or e["body"].get("category") == category)

    def wait_output(self, text, category=None, timeout=DEFAULT_TIMEOUT):
        deadline = time.monotonic() + timeout
        while text not in self.output(category):
            if time.monotonic() > deadline:
                raise DapError(f"{text!r} never appeared in output; got {self.output(category)!r}")
            time.sleep(0.01)

    # -------------------------------------------------------------- helpers

    def handshake(self, breakpoints=None, attach_args=None, before_done=None):
        """initialize → attach → setBreakpoints (per file) → configurationDone."""
        self.capabilities = self.ok("initialize", {"clientID": "pydbg-tests", "adapterID": "pydbg",
                                                   "linesStartAt1": True, "columnsStartAt1": True,
                                                   "pathFormat": "path"})
        self.wait_event("initialized")
        self.ok("attach", attach_args or {})
        results = {}
        for path, lines in (breakpoints or {}).items():
            specs = [line if isinstance(line, dict) else {"line": line} for line in lines]
            results[path] = self.ok("setBreakpoints", {"source": {"path": path}, "breakpoints": specs})["breakpoints"]
        if before_done:
            before_done(self)
        self.ok("configurationDone")
        return results

    def top_frame(self, thread_id):
        return self.ok("stackTrace", {"threadId": thread_id})["stackFrames"][0]

    def locals_of(self, frame_id):
        scopes = self.ok("scopes", {"frameId": frame_id})["scopes"]
        ref = next(s for s in scopes if s["name"] == "Locals")["variablesReference"]
        return {v["name"]: v for v in self.ok("variables", {"variablesReference": ref})["variables"]}

    def close(self):
        """Closes the connection for real: shutdown first, since close() alone sends no FIN
        while the reader thread is blocked in recv()."""
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass


class _Pipes:
    """A process's stdin/stdout with the few socket methods the client uses."""

    def __init__(self, process):
        self.process = process

    def recv(self, size):
        return os.read(self.process.stdout.fileno(), size)

    def sendall(self, data):
        self.process.stdin.write(data)
        self.process.stdin.flush()

    def shutdown(self, how):
        self.close()

    def close(self):
        """Closes stdin: the process sees its client go away."""
        try:
            self.process.stdin.close()
        except (OSError, ValueError):
            pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ignore_sigint():
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def default_sigint():
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def console_script(name, python=sys.executable):
    """A command that pip installed next to `python`: pydbg's (`pydbg`, `pydbg-adapter`) or a
    tool's."""
    path = os.path.join(os.path.dirname(python), name)
    assert os.path.isfile(path), f"{name} is not installed next to {python}"
    return path


class Debuggee:
    """A program started as `pydbg --listen PORT ...`, through the console script. It inherits
    SIGINT's default action, or with `sigint_ignored` SIGINT ignored, as under nohup or from a
    background job, whatever the test run itself inherited."""

    def __init__(self, program_args, pydbg_args=("--wait-for-client",), cwd=None, env=None, sigint_ignored=False):
        self.port = free_port()
        self.command = [console_script("pydbg"), "--listen", str(self.port), *pydbg_args, *program_args]
        full_env = dict(os.environ, PYTHONUNBUFFERED="1")
        full_env.update(env or {})
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                        stdin=subprocess.DEVNULL, cwd=cwd, env=full_env,
                                        preexec_fn=ignore_sigint if sigint_ignored else default_sigint)
        self.stdout = b""
        self.stderr = b""
        self.clients = []

    def client(self):
        client = DapClient.connect(self.port)
        self.clients.append(client)
        return client

    def wait(self, timeout=DEFAULT_TIMEOUT):
        """Waits for the process to end, and for its clients to have read all it sent them."""
        out, err = self.process.communicate(timeout=timeout)
        self.stdout += out
        self.stderr += err
        for client in self.clients:
            client.wait_closed(timeout=5)
        return self.process.returncode

    def kill(self):
        if self.process.poll() is None:
            self.process.kill()
        try:
            self.wait(timeout=5)
        except Exception:
            pass
