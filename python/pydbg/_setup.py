"""Starting pydbg inside a process: the one path shared by the `pydbg` command line and the
Python API (`pydbg.listen` / `pydbg.connect`)."""

import os
import sys
import threading

_lock = threading.Lock()
# What this process already does, e.g. "listening on 127.0.0.1:5678"; None until started.
_serving = None


class StartError(Exception):
    """pydbg could not start; the message says why and is meant for the user."""


def internal_paths():
    """pydbg's own package and runpy, which starts the program: never shown, never stopped in."""
    import runpy

    return [os.path.dirname(os.path.abspath(__file__)), os.path.abspath(runpy.__file__), "<frozen runpy>"]


def library_prefixes():
    import site
    import sysconfig

    paths = sysconfig.get_paths()
    prefixes = {paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths}
    prefixes.update(site.getsitepackages())
    if site.ENABLE_USER_SITE and site.getusersitepackages():
        prefixes.add(site.getusersitepackages())
    return sorted(prefixes)


def start(mode, host, port, program, log_dir=None):
    """Installs pydbg and starts serving DAP: `mode` is "listen" or "connect". Returns the port
    actually used. Raises StartError, with a message for the user, if it cannot."""
    global _serving
    from pydbg import _core, _hooks

    with _lock:
        if _serving is not None:
            raise StartError(f"pydbg is already {_serving}; listen() or connect() can be called once per process")
        try:
            _core.init_logging(log_dir)
        except OSError as e:
            raise StartError(str(e)) from None
        try:
            _core.install(internal_paths(), library_prefixes(), program)
        except RuntimeError as e:
            raise StartError(str(e)) from None
        try:
            if mode == "connect":
                _core.connect(host, port)
            else:
                port = _core.listen(host, port)
        except OSError as e:
            verb = "connect to" if mode == "connect" else "listen on"
            raise StartError(f"cannot {verb} {host}:{port}: {e}") from None
        _hooks.install_output_tee(sys)
        _hooks.install_thread_hook()
        _hooks.install_breakpoint_hook()
        _serving = f"{'connected to' if mode == 'connect' else 'listening on'} {host}:{port}"
        return port


def started():
    return _serving is not None
