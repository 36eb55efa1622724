"""The README's first command ends here: a scripted DAP session against `pydbg --listen`,
printing what a client sees. Usage: python tests/demo_session.py PROGRAM.py"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dap_client import Debuggee  # noqa: E402


def show(label, value):
    print(f"\n--- {label}")
    print(json.dumps(value, indent=2) if not isinstance(value, str) else value)


def main():
    program = os.path.abspath(sys.argv[1])
    lines = open(program).read().splitlines()
    stop_line = next(i for i, text in enumerate(lines, 1) if "# demo: stop here" in text)
    debuggee = Debuggee([program])
    print(f"$ {' '.join(debuggee.command[1:])}")
    client = debuggee.client()
    try:
        breakpoints = client.handshake({program: [stop_line]})
        show(f"setBreakpoints line {stop_line}", breakpoints[program])
        stopped = client.wait_stopped()
        show("stopped event", stopped)
        thread = stopped["threadId"]
        frames = client.ok("stackTrace", {"threadId": thread})["stackFrames"]
        show("stackTrace", [f"{f['name']}  {os.path.basename(f['source']['path'])}:{f['line']}" for f in frames])
        show("locals", {name: f"{v['value']} ({v['type']})" for name, v in client.locals_of(frames[0]["id"]).items()})
        client.ok("next", {"threadId": thread})
        after_step = client.wait_stopped()
        frame = client.top_frame(thread)
        show("next", f"reason={after_step['reason']}, now at line {frame['line']}")
        show("locals after the step",
             {name: f"{v['value']} ({v['type']})" for name, v in client.locals_of(frame["id"]).items()})
        show("evaluate total * 2", client.ok("evaluate", {"expression": "total * 2", "frameId": frame["id"]})["result"])
        client.ok("setBreakpoints", {"source": {"path": program}, "breakpoints": []})
        client.ok("continue", {"threadId": thread})
        exited = client.wait_event("exited")
        client.wait_event("terminated")
        show("program output (output events)", client.output("stdout"))
        show("exited event", exited["body"])
        code = debuggee.wait()
        print(f"\npydbg exited with code {code}. Attach your editor the same way: pydbg --listen 5678 app.py")
        return 0 if code == 0 else 1
    finally:
        client.close()
        debuggee.kill()


if __name__ == "__main__":
    sys.exit(main())
