"""pydbg: a Python debugger with a Rust core that speaks the Debug Adapter Protocol.

Run a program under it with ``pydbg --listen 5678 app.py`` and attach any DAP client, or start
it from inside the program with ``pydbg.listen(5678)`` (see ``pydbg.api``).
"""

from pydbg.api import breakpoint, connect, is_client_connected, listen, wait_for_client

__all__ = ["breakpoint", "connect", "is_client_connected", "listen", "wait_for_client"]

__version__ = "0.1.0"
