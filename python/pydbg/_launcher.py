"""`python -m pydbg._launcher HOST:PORT COMMAND...`: runs the program that a client started in its
terminal (runInTerminal), waits for it, and tells the adapter how it ended.

pydbg inside the program reports its exit code, but cannot when the program ends by `os._exit`, a
signal or a crash of the interpreter. This small parent process always sees the end. It stays
in the terminal's process group, so Ctrl-C and the terminal's job control reach the program as
they would without it.
"""

import signal
import socket
import subprocess
import sys


def main(argv):
    address, command = argv[0], argv[1:]
    host, _, port = address.rpartition(":")
    try:
        report = socket.create_connection((host, int(port)), timeout=10)
    except (OSError, ValueError) as e:
        print(f"pydbg: cannot reach the debug adapter at {address} ({e}); "
              "the program's exit code will not be reported", file=sys.stderr)
        report = None
    # Ctrl-C is for the program; the launcher lives on to report how it ended. A handler rather
    # than SIG_IGN, which the program would inherit.
    signal.signal(signal.SIGINT, lambda *_: None)
    try:
        returncode = subprocess.call(command)
    except OSError as e:
        print(f"pydbg: cannot start {command[0]}: {e}", file=sys.stderr)
        returncode = 127
    # A death by signal N reads as a shell shows it: 128 + N.
    code = returncode if returncode >= 0 else 128 - returncode
    if report is not None:
        try:
            report.sendall(f"exit {code}\n".encode())
            report.close()
        except OSError:
            pass
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
