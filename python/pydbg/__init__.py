"""pydbg: a Python debugger with a Rust core that speaks the Debug Adapter Protocol.

Run a program under it with ``pydbg --listen 5678 app.py`` and attach any DAP client.
"""

__version__ = "0.1.0"
