"""`pydbg-adapter` (or `python -m pydbg.adapter`): runs the stdio debug adapter that ships in this
package as a binary, `pydbg/bin/pydbg-adapter`.

Editors start it for `"request": "launch"`; it speaks DAP on stdin/stdout. It is told where this
package is (`PYDBG_PACKAGE_DIR`), so that it can make pydbg importable into any Python 3.12+ it
launches, and which interpreter started it (`PYDBG_ADAPTER_PYTHON`), the default for launches
that name none.
"""

import os
import sys

PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def binary_path():
    name = "pydbg-adapter.exe" if os.name == "nt" else "pydbg-adapter"
    return os.path.join(PACKAGE_DIR, "bin", name)


def main(argv=None):
    args = sys.argv[1:] if argv is None else list(argv)
    binary = binary_path()
    if not os.path.isfile(binary):
        print(f"pydbg-adapter: this pydbg installation has no adapter binary (expected {binary}); "
              "reinstall pydbg from a wheel", file=sys.stderr)
        return 2
    if not os.access(binary, os.X_OK):
        try:
            os.chmod(binary, os.stat(binary).st_mode | 0o111)
        except OSError as e:
            print(f"pydbg-adapter: {binary} is not executable: {e}", file=sys.stderr)
            return 2
    env = dict(os.environ, PYDBG_PACKAGE_DIR=PACKAGE_DIR, PYDBG_ADAPTER_PYTHON=sys.executable)
    if os.name == "nt":
        import subprocess
        return subprocess.call([binary, *args], env=env)
    # Nothing has been written to stdout: the adapter takes over the process and its DAP channel.
    os.execve(binary, [binary, *args], env)


if __name__ == "__main__":
    sys.exit(main())
