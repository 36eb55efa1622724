"""Fixtures for end-to-end tests: a real pydbg process, a real socket, a real program.

Every message a test's client receives is validated against the official DAP schema when the
test ends, so each scenario also checks that pydbg speaks the protocol correctly.
"""

import json
import os
import sys
import textwrap

import jsonschema
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dap_client import Debuggee  # noqa: E402

SCHEMA_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "debugAdapterProtocol.json")
with open(SCHEMA_PATH) as f:
    SCHEMA = json.load(f)
DEFINITIONS = SCHEMA["definitions"]


def definition_for(message):
    """The schema definition a message must satisfy, e.g. StackTraceResponse or StoppedEvent."""
    kind = message.get("type")
    if kind == "response":
        if not message.get("success"):
            return "ErrorResponse"
        name = message["command"][0].upper() + message["command"][1:] + "Response"
    elif kind == "event":
        name = message["event"][0].upper() + message["event"][1:] + "Event"
    else:
        name = "ProtocolMessage"
    return name if name in DEFINITIONS else {"response": "Response", "event": "Event"}.get(kind, "ProtocolMessage")


def schema_errors(messages):
    errors = []
    for message in messages:
        name = definition_for(message)
        validator = jsonschema.Draft4Validator({"$ref": f"#/definitions/{name}", "definitions": DEFINITIONS})
        for error in validator.iter_errors(message):
            errors.append(f"{name}: {error.message} in {json.dumps(message)[:300]}")
    return errors


class Sessions:
    """Starts debuggees and clients for one test, and cleans up after it."""

    def __init__(self, tmp_path):
        self.tmp_path = tmp_path
        self.debuggees = []
        self.clients = []

    def program(self, source, name="app.py"):
        path = self.tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(source).lstrip("\n"))
        return str(path)

    def start(self, program_args, pydbg_args=("--wait-for-client",), **kwargs):
        debuggee = Debuggee(list(program_args), pydbg_args=pydbg_args, **kwargs)
        self.debuggees.append(debuggee)
        return debuggee

    def client(self, debuggee):
        client = debuggee.client()
        client.debuggee = debuggee
        self.clients.append(client)
        return client

    def launch(self, source, breakpoints=None, args=(), pydbg_args=("--wait-for-client",), attach_args=None,
               before_done=None, **kwargs):
        """Writes `source` to app.py, runs it under pydbg and completes the handshake.
        `breakpoints` is a list of lines (or breakpoint dicts) in app.py."""
        path = self.program(source)
        debuggee = self.start([path, *args], pydbg_args=pydbg_args, **kwargs)
        client = self.client(debuggee)
        results = client.handshake({path: breakpoints} if breakpoints else None, attach_args=attach_args,
                                   before_done=before_done)
        client.path = path
        client.breakpoint_results = results.get(path)
        return client

    def close(self):
        for client in self.clients:
            client.close()
        for debuggee in self.debuggees:
            debuggee.kill()

    def all_received(self):
        return [m for c in self.clients for m in c.received]


@pytest.fixture
def sessions(tmp_path):
    s = Sessions(tmp_path)
    try:
        yield s
    finally:
        s.close()
    errors = schema_errors(s.all_received())
    assert not errors, "messages that break the DAP schema:\n" + "\n".join(errors[:20])


def line_of(path, marker):
    """The 1-based line of `path` that contains `marker`."""
    with open(path) as f:
        for number, text in enumerate(f, 1):
            if marker in text:
                return number
    raise AssertionError(f"{marker!r} not in {path}")
