"""The target's side of `pydbg --pid`: the injected bootstrap imports pydbg into a process that is
already running and calls `start` on its main thread. docs/attach.md tells the whole story."""

from pydbg import _setup, api


def start(mode, host, port, log_dir):
    """Serves DAP from this process as `pydbg.listen` / `pydbg.connect` would, and says where.
    A process that already serves (an earlier attach) keeps its engine and its address."""
    current = _setup.serving()
    if current is not None:
        mode, host, port = current
        return {"mode": mode, "host": host, "port": port, "reused": True}
    if mode == "listen":
        host, port = api.listen((host, port), log_dir=log_dir)
    else:
        api.connect((host, port), log_dir=log_dir)
    return {"mode": mode, "host": host, "port": port, "reused": False}
