"""Runs a program under bdb, the engine of pdb, with at most one breakpoint and no client:
`bdb_driver.py PROGRAM LINE ARGS...` (LINE 0: no breakpoint, to time bdb's start-up; FILE:LINE
for a breakpoint in another file).

bdb stops at the program's first line, as `python -m pdb` does; the driver then continues, as a
user typing `continue` would. If the breakpoint is ever hit, it says so on stderr and exits 3.
"""

import bdb
import os
import sys


class Driver(bdb.Bdb):
    def __init__(self, line):
        super().__init__()
        self.line = line

    def user_line(self, frame):
        if self.line and self.break_here(frame):
            print(f"bdb_driver: breakpoint hit at {frame.f_code.co_filename}:{frame.f_lineno}", file=sys.stderr)
            os._exit(3)
        self.set_continue()  # the initial stop at the program's first line


def main():
    program, where, *args = sys.argv[1:]
    program = os.path.abspath(program)
    file, _, line = where.rpartition(":")
    file, line = os.path.abspath(file) if file else program, int(line)
    sys.argv = [program, *args]
    sys.path[0] = os.path.dirname(program)
    with open(program, "rb") as f:
        code = compile(f.read(), program, "exec")
    driver = Driver(line)
    if line:
        error = driver.set_break(file, line)
        if error:
            print(f"bdb_driver: {error}", file=sys.stderr)
            return 2
    driver.run(code, {"__name__": "__main__", "__file__": program, "__builtins__": __builtins__})
    return 0


if __name__ == "__main__":
    sys.exit(main())
