import * as assert from "assert";
import { MINIMUM_PYTHON, planAdapter, PlanInputs } from "../../src/adapterPlan";
import { InterpreterFacts } from "../../src/interpreter";
import { isProblem } from "../../src/problem";

const SUPPORTED: [number, number] = [MINIMUM_PYTHON[0], MINIMUM_PYTHON[1]];
const TOO_OLD: [number, number] = [MINIMUM_PYTHON[0], MINIMUM_PYTHON[1] - 1];

function inputs(facts: Partial<InterpreterFacts> | Error, bundledAdapterScript?: string) {
  const probed: string[][] = [];
  const planInputs: PlanInputs = {
    interpreters: { pythonExtension: async () => undefined, setting: () => "/setting/python" },
    probe: async (command) => {
      probed.push(command);
      if (facts instanceof Error) throw facts;
      return { executable: "/env/bin/python3", version: SUPPORTED, hasPydbg: true, ...facts };
    },
    bundledAdapterScript,
  };
  return { planInputs, probed };
}

describe("planAdapter", () => {
  it("connects straight to the pydbg --listen port for an attach with connect, without an interpreter", async () => {
    const { planInputs, probed } = inputs(new Error("must not be probed"));
    const plan = await planAdapter({ request: "attach", connect: { host: "example.org", port: 5678 } }, planInputs);
    assert.deepStrictEqual(plan, { kind: "server", host: "example.org", port: 5678 });
    assert.deepStrictEqual(probed, []);
  });

  it("opens a child process's session through the adapter process, which ends it quietly if the child is gone", async () => {
    const { planInputs } = inputs({});
    const plan = await planAdapter(
      { request: "attach", connect: { host: "127.0.0.1", port: 5678 }, subProcessId: 4242 },
      planInputs,
    );
    assert.deepStrictEqual(plan, { kind: "executable", command: "/env/bin/python3", args: ["-m", "pydbg.adapter"] });
  });

  it("runs `<python> -m pydbg.adapter` for a launch when the interpreter has pydbg", async () => {
    const { planInputs, probed } = inputs({}, "/ext/bundled/pydbg/adapter.py");
    const plan = await planAdapter({ request: "launch", python: ["/venv/python", "-X", "dev"] }, planInputs);
    assert.deepStrictEqual(plan, { kind: "executable", command: "/env/bin/python3", args: ["-m", "pydbg.adapter"] });
    assert.deepStrictEqual(probed, [["/venv/python", "-X", "dev"]]);
  });

  it("goes through the adapter process for an attach with listen", async () => {
    const { planInputs } = inputs({});
    const plan = await planAdapter({ request: "attach", listen: { port: 5678 } }, planInputs);
    assert.deepStrictEqual(plan, { kind: "executable", command: "/env/bin/python3", args: ["-m", "pydbg.adapter"] });
  });

  it("uses the bundled copy when the interpreter lacks pydbg", async () => {
    const { planInputs } = inputs({ hasPydbg: false }, "/ext/bundled/pydbg/adapter.py");
    const plan = await planAdapter({ request: "launch" }, planInputs);
    assert.deepStrictEqual(plan, { kind: "executable", command: "/env/bin/python3", args: ["/ext/bundled/pydbg/adapter.py"] });
  });

  it("offers the pip command when pydbg is missing and nothing is bundled", async () => {
    const { planInputs } = inputs({ hasPydbg: false, executable: "/my env/python" });
    const plan = await planAdapter({ request: "launch" }, planInputs);
    assert.ok(isProblem(plan));
    assert.strictEqual(plan.fixCommand, "'/my env/python' -m pip install /path/to/pydbg");
    assert.match(plan.message, /checkout, sdist or wheel/);
    assert.match(plan.message, /pydbg is not installed in \/setting\/python \(from the pydbg.python setting\)/);
    assert.ok(plan.message.includes(plan.fixCommand));
  });

  it("refuses a Python older than the minimum, even with pydbg", async () => {
    const { planInputs } = inputs({ version: TOO_OLD }, "/ext/bundled/pydbg/adapter.py");
    const plan = await planAdapter({ request: "launch" }, planInputs);
    assert.ok(isProblem(plan));
    assert.ok(plan.message.includes(`is Python ${TOO_OLD.join(".")}`), plan.message);
    assert.ok(plan.message.includes(`Python ${MINIMUM_PYTHON.join(".")} or newer`), plan.message);
  });

  it("reports an interpreter that cannot run, with the reason", async () => {
    const { planInputs } = inputs(new Error("spawn python3 ENOENT"));
    const plan = await planAdapter({ request: "launch" }, planInputs);
    assert.ok(isProblem(plan));
    assert.match(plan.message, /cannot run the Python interpreter \/setting\/python .*ENOENT/);
  });
});
