import * as assert from "assert";
import { parsePs, pythonProcesses } from "../../src/processPicker";

describe("the process picker", () => {
  const ps = [
    "    1 /sbin/init",
    "  200 /usr/bin/python3.13 -u service.py --port 80",
    "  201 /home/me/project/.venv/bin/python app.py",
    "  202 python3 -m http.server",
    "  203 /usr/bin/bash -c python3 app.py",
    "  204 /usr/bin/python3 /venv/bin/pydbg-adapter",
    "  205 /usr/bin/pythonista",
    "  206 /usr/bin/python3 own.py",
    "",
  ].join("\n");

  it("reads ps's pid and whole command line", () => {
    const entries = parsePs(ps);
    assert.strictEqual(entries.length, 8);
    assert.deepStrictEqual(entries[1], { pid: 200, commandLine: "/usr/bin/python3.13 -u service.py --port 80" });
  });

  it("offers the Python interpreters, not shells, the adapter or itself", () => {
    const offered = pythonProcesses(parsePs(ps), 206).map((entry) => entry.pid);
    assert.deepStrictEqual(offered, [200, 201, 202]);
  });
});
