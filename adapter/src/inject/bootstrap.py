# pydbg's bootstrap, run by the main thread of a process that pydbg attaches to (`pydbg --pid`),
# from a pending call or sys.remote_exec: it imports pydbg, has it serve DAP, and tells the
# injector where. Nothing may escape from it into the program: an exception would surface there
# (a pending call that fails with no exception set is a SystemError), so everything is caught,
# and a Ctrl-C that arrives meanwhile is delivered again once the bootstrap is done.
def attach(arguments):
    interrupted = False
    try:
        import json
        import socket
        import sys
        import time

        if time.time() > arguments["deadline"]:
            return  # too late: the injector has already reported a timeout
        try:
            if "pydbg" not in sys.modules:
                # This pydbg, ahead of any other on the path, and only while it is imported.
                sys.path.insert(0, arguments["import_root"])
                try:
                    import pydbg  # noqa: F401
                finally:
                    sys.path.remove(arguments["import_root"])
            from pydbg import _attach

            answer = _attach.start(arguments["mode"], arguments["host"], arguments["port"], arguments["log_dir"])
        except BaseException as e:
            interrupted = isinstance(e, KeyboardInterrupt)
            answer = {"error": f"{type(e).__name__}: {e}"}
        answer["nonce"] = arguments["nonce"]
        with socket.create_connection(("127.0.0.1", arguments["reply_port"]), timeout=5) as reply:
            reply.sendall(json.dumps(answer).encode())
    except BaseException as e:
        interrupted = interrupted or isinstance(e, KeyboardInterrupt)
    finally:
        if interrupted:
            import signal

            signal.raise_signal(signal.SIGINT)
