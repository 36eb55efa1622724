"""Starting pydbg inside a process: the one path shared by the `pydbg` command line, the Python
API (`pydbg.listen` / `pydbg.connect`) and child processes (`_child.py`)."""

import os
import sys
import threading

_lock = threading.Lock()
# What this process already does: (mode, host, port), mode "listen" or "connect"; None until
# started.
_serving = None
_hooks_installed = False


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


ACCESS_TOKEN_VARIABLE = "PYDBG_ACCESS_TOKEN"


def start(mode, host, port, program, log_dir=None, launchers=(), access_token=None):
    """Installs pydbg and starts serving DAP: `mode` is "listen" or "connect". `launchers` are
    the files of the code that started pydbg (never shown, never stopped in, like pydbg's own).
    When listening, clients must give `access_token`, or else PYDBG_ACCESS_TOKEN's value, if
    either is set. Returns the port actually used. Raises StartError, with a message for the
    user, if it cannot."""
    global _serving, _hooks_installed
    from pydbg import _core, _hooks

    # Taken out of the environment, so the program and the processes it starts never see it.
    from_environment = os.environ.pop(ACCESS_TOKEN_VARIABLE, None)
    access_token = access_token or from_environment or None

    with _lock:
        if _serving is not None:
            raise StartError(f"pydbg is already {_describe(*_serving)}; listen() or connect() can be called "
                             "once per process")
        try:
            _core.init_logging(log_dir)
        except OSError as e:
            raise StartError(str(e)) from None
        try:
            _core.install([*internal_paths(), *launchers], library_prefixes(), program)
        except RuntimeError as e:
            raise StartError(str(e)) from None
        try:
            if mode == "connect":
                _core.connect(host, port)
            else:
                port = _core.listen(host, port, access_token)
        except OSError as e:
            verb = "connect to" if mode == "connect" else "listen on"
            raise StartError(f"cannot {verb} {host}:{port}: {e}") from None
        if not _hooks_installed:
            _hooks.install_output_tee(sys)
            _hooks.install_thread_hook()
            _hooks.install_breakpoint_hook()
            _core.set_interrupt_signal(_hooks.install_interrupt_signal())
            os.register_at_fork(after_in_child=_after_fork_in_child)
            _hooks_installed = True
        _serving = (mode, host, port)
        return port


def _describe(mode, host, port):
    return f"{'connected to' if mode == 'connect' else 'listening on'} {host}:{port}"


def started():
    return _serving is not None


def serving():
    """(mode, host, port) of what this process serves, or None."""
    return _serving


def watch_program_end():
    """For a program that runs under the interpreter's own main rather than pydbg's runner: an
    exception that ends it reaches `sys.excepthook`, and its end reaches atexit."""
    import atexit

    from pydbg import _core

    ended_by_exception = []
    original_excepthook = sys.excepthook

    def excepthook(exc_type, exc, tb):
        if not isinstance(exc, KeyboardInterrupt) or not _core.is_terminating():
            ended_by_exception.append(exc_type)
            _core.uncaught(exc)
        original_excepthook(exc_type, exc, tb)

    sys.excepthook = excepthook
    # The code of a plain `sys.exit(n)` cannot be seen from here; an uncaught exception gives 1,
    # as the interpreter's own exit does.
    atexit.register(lambda: _core.program_exited(1 if ended_by_exception else 0))


def _after_fork_in_child():
    """The child of a fork starts with none of its parent's debugging: it runs free, and becomes
    a child session of its own when the parent was launched with subProcess on."""
    global _serving
    from pydbg import _child, _core

    _core.forked_child()
    _serving = None
    _core.thread_started(threading.get_ident(), threading.current_thread().name)
    _child.announce_if_asked(forked=True)
