"""`pydbg-adapter` (or `python -m pydbg.adapter`): the stdio debug adapter that editors start for
`"request": "launch"`. It speaks DAP on stdin/stdout.

The adapter is Rust, linked into `pydbg._core`. It is told where this package is, so that it can
make pydbg importable into any Python 3.12+ it launches, and which interpreter runs it: the
default for launches that name none.
"""

import os
import signal
import sys

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))

if __name__ == "__main__" and not __package__:
    # Run as a file, as the VS Code extension runs a copy of pydbg bundled with it: the package
    # that holds this file must be importable.
    sys.path[0] = os.path.dirname(PACKAGE_DIR)


def main(argv=None):
    from pydbg import _core

    args = sys.argv[1:] if argv is None else list(argv)
    # The adapter handles SIGINT itself (nvim-dap sends one as it closes). Python's handler would
    # also see it, and raise KeyboardInterrupt once the adapter returns.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    return _core.run_adapter(args, PACKAGE_DIR, sys.executable)


if __name__ == "__main__":
    sys.exit(main())
