"""Child processes of a launched program (`subProcess`, on by default).

The adapter sets `PYDBG_SUBPROCESS=HOST:PORT` and the launch's secret `PYDBG_SUBPROCESS_TOKEN` (the
children's announcement and their access token) in the program's environment, and puts
`_child_site/` on PYTHONPATH, so every Python child (subprocess, os.exec*, multiprocessing's
spawn and forkserver) runs its `sitecustomize` and calls `announce_if_asked` before its own code.
A forked child calls it from pydbg's at-fork hook. The child listens on a free loopback port and
tells the adapter, which asks the client to attach to it (the `startDebugging` reverse request).
The child then waits, bounded, for that client: nobody attaching never blocks it for long.
"""

import os
import sys

# How long a child waits for the client the adapter asked to attach.
CLIENT_WAIT_SECONDS = 15
# How long the adapter gets to answer the announcement.
ADAPTER_TIMEOUT_SECONDS = 5
# Helper processes of the standard library: not the user's code, so not sessions. The fork
# server's children are, though: they run the user's code.
RESOURCE_TRACKER = "from multiprocessing.resource_tracker import"
FORK_SERVER = "from multiprocessing.forkserver import"


def announce_if_asked(forked=False):
    """`forked`: called in the child of a fork of a debugged process, which keeps its parent's
    way of reporting its end."""
    address = os.environ.get("PYDBG_SUBPROCESS")
    if not address or _is_pydbg_itself():
        return
    if not forked and _runs(RESOURCE_TRACKER):
        return
    if not forked and _runs(FORK_SERVER):
        os.register_at_fork(after_in_child=lambda: _announce_safely(address, forked=False))
        return
    _announce_safely(address, forked)


def _announce_safely(address, forked):
    try:
        _announce(address, forked)
    except Exception as e:  # the user's program must never see pydbg's own failures
        _log(f"child process {os.getpid()} is not debugged: {e}")


def _announce(address, forked):
    import json
    import socket

    from pydbg import _core, _setup

    host, _, port = address.rpartition(":")
    name = _command_line()
    token = os.environ.get("PYDBG_SUBPROCESS_TOKEN", "")
    listening_port = _setup.start("listen", "127.0.0.1", 0, name, os.environ.get("PYDBG_LOG_DIR"),
                                  access_token=token or None)
    if not forked:
        _setup.watch_program_end()
    announcement = {"pid": os.getpid(), "ppid": os.getppid(), "port": listening_port, "name": name, "token": token}
    with socket.create_connection((host, int(port)), timeout=ADAPTER_TIMEOUT_SECONDS) as connection:
        connection.sendall(json.dumps(announcement).encode() + b"\n")
        reply = connection.makefile("rb").readline()
    if json.loads(reply or b"{}").get("wait"):
        _core.wait_for_client(CLIENT_WAIT_SECONDS)


def _command_line():
    argv = getattr(sys, "orig_argv", None) or sys.argv
    return " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(argv))


def _is_pydbg_itself():
    """`python -m pydbg ...` (the launched program itself, or a nested pydbg) starts on its own."""
    argv = list(getattr(sys, "orig_argv", ()))
    if sys.modules.get("pydbg.cli") is not None:
        return False  # a fork of a program that pydbg runs: a child like any other
    return any(a == "-m" and b in ("pydbg", "pydbg.adapter") for a, b in zip(argv, argv[1:]))


def _runs(command_start):
    return any(arg.startswith(command_start) for arg in getattr(sys, "orig_argv", ()))


def _log(message):
    try:
        from pydbg import _core

        _core.log_warning(message)
    except Exception:
        pass
