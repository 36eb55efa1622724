"""The Python API: debug a program from inside it, without the `pydbg` command line.

    import pydbg
    pydbg.listen(5678)          # or pydbg.listen(("0.0.0.0", 5678), access_token=...), or pydbg.connect(...)
    pydbg.wait_for_client()     # optional: hold here until a client has sent its breakpoints
    pydbg.breakpoint()          # stop here when a client is attached; breakpoint() does too
"""

import sys

from pydbg import _setup

DEFAULT_HOST = "127.0.0.1"


def listen(address, *, log_dir=None, access_token=None):
    """Waits for DAP clients on `address`, a port or a (host, port) pair, while the program runs
    on. Port 0 picks a free port. With `access_token` (or PYDBG_ACCESS_TOKEN set), a client must
    give it as "accessToken" in its attach arguments. Returns the (host, port) it listens on."""
    host, port = _address(address, "listen")
    if access_token is not None and (not isinstance(access_token, str) or not access_token):
        raise TypeError(f"pydbg.listen(): access_token must be a non-empty str, not {access_token!r}")
    port = _start("listen", host, port, log_dir, access_token)
    return host, port


def connect(address, *, log_dir=None):
    """Dials a DAP client that listens on `address`, a port or a (host, port) pair."""
    host, port = _address(address, "connect")
    _start("connect", host, port, log_dir)


def wait_for_client():
    """Blocks until a client has attached and sent its configuration (configurationDone)."""
    _require_started("wait_for_client")
    from pydbg import _core

    _core.wait_for_client()


def is_client_connected():
    """True while a DAP client is attached."""
    from pydbg import _core

    return _setup.started() and _core.is_client_connected()


def breakpoint():
    """Stops in the caller, as a breakpoint there would, if a client is attached; otherwise
    does nothing."""
    if _setup.started():
        from pydbg import _core

        _core.breakpoint(sys._getframe(1))


def _address(address, function):
    if isinstance(address, int) and not isinstance(address, bool):
        host, port = DEFAULT_HOST, address
    elif isinstance(address, tuple) and len(address) == 2:
        host, port = address
    else:
        raise TypeError(f"pydbg.{function}() takes a port or a (host, port) pair, not {address!r}")
    if not isinstance(host, str) or not isinstance(port, int) or isinstance(port, bool):
        raise TypeError(f"pydbg.{function}(): host must be a str and port an int, got {address!r}")
    if not 0 <= port <= 65535:
        raise ValueError(f"pydbg.{function}(): port {port} is out of range (0-65535)")
    return host or DEFAULT_HOST, port


def _start(mode, host, port, log_dir, access_token=None):
    try:
        port = _setup.start(mode, host, port, _program_name(), log_dir, access_token=access_token)
    except _setup.StartError as e:
        raise RuntimeError(f"pydbg.{mode}(): {e}") from None
    _setup.watch_program_end()
    return port


def _require_started(function):
    if not _setup.started():
        raise RuntimeError(f"pydbg.{function}(): call pydbg.listen() or pydbg.connect() first")


def _program_name():
    main = sys.modules.get("__main__")
    return getattr(main, "__file__", None) or (sys.argv[0] if sys.argv and sys.argv[0] else "python")
