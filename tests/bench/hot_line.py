"""Finds a real program's hot function and a line of it that never runs: `hot_line.py PROGRAM
ARGS...` runs PROGRAM once under plain Python with a sys.monitoring tool of its own, and prints
JSON: {"file", "line", "function", "passes", "share", "own"}, or null when every line of its hot
code runs.

Lines are counted from the moment the program's first function starts (its imports and set-up
are not the benchmark), each up to a cap after which its events are disabled, so the run stays
fast. The hot function is a code object with at least a tenth of the passes of the hottest one
("share") and a line that never ran: the program's own ("own": true) if one qualifies, else the
library code it drives. pyperf's own code and Python's start-up machinery are left out.
"""

import json
import os
import runpy
import sys

TOOL = 5
CAP = 20_000
counts = {}  # code -> {line: passes}


def on_line(code, line):
    lines = counts.setdefault(code, {})
    passes = lines.get(line, 0) + 1
    lines[line] = passes
    if passes >= CAP:
        return sys.monitoring.DISABLE
    return None


def on_start(code, offset):
    """Counting starts when the program's first function runs: its imports and set-up are not
    the benchmark."""
    if code.co_name != "<module>" and os.path.abspath(code.co_filename) == OWN[0]:
        sys.monitoring.set_events(TOOL, sys.monitoring.events.LINE)
    return sys.monitoring.DISABLE


OWN = [None]


def candidate(code):
    name = code.co_filename
    return not (name.startswith("<") or os.sep + "pyperf" + os.sep in name or name == __file__
                or os.path.basename(name) == "runpy.py")


def main():
    program, *args = sys.argv[1:]
    sys.argv = [program, *args]
    sys.path[0] = os.path.dirname(os.path.abspath(program))
    OWN[0] = os.path.abspath(program)
    sys.monitoring.use_tool_id(TOOL, "pydbg-bench-hot-line")
    sys.monitoring.register_callback(TOOL, sys.monitoring.events.LINE, on_line)
    sys.monitoring.register_callback(TOOL, sys.monitoring.events.PY_START, on_start)
    sys.monitoring.set_events(TOOL, sys.monitoring.events.PY_START)
    try:
        runpy.run_path(program, run_name="__main__")
    except SystemExit:
        pass
    finally:
        sys.monitoring.set_events(TOOL, 0)
    # Hot: at least a tenth of the passes of the hottest code. Among those, the program's own
    # functions first, then the library code it drives (json, re).
    here = OWN[0]
    passes = {code: sum(lines.values()) for code, lines in counts.items() if candidate(code)}
    hottest = max(passes.values(), default=0)
    best = None
    for code, total in passes.items():
        never = sorted({line for _, _, line in code.co_lines() if line} - set(counts[code]) - {code.co_firstlineno})
        if not never or total < hottest / 10:
            continue
        found = {"file": os.path.abspath(code.co_filename), "line": never[0], "function": code.co_qualname,
                 "passes": total, "share": round(total / hottest, 2),
                 "own": os.path.abspath(code.co_filename) == here}
        if best is None or (found["own"], found["passes"]) > (best["own"], best["passes"]):
            best = found
    print(json.dumps(best))


if __name__ == "__main__":
    main()
