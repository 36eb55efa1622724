import * as assert from "assert";
import { execFileSync } from "child_process";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { planAdapter } from "../../src/adapterPlan";
import { bundledAdapterScript, bundlePydbg } from "../../src/bundle";
import { probeInterpreter } from "../../src/interpreter";
import { isProblem } from "../../src/problem";
import { pydbgPython } from "../support/python";
import { AdapterClient } from "./support/adapterClient";
import { Workspace } from "./support/workspace";

// `python -S` leaves site-packages out of sys.path: an interpreter without pydbg.
describe("the pydbg copy bundled in the extension", () => {
  const extensionRoot = fs.mkdtempSync(path.join(os.tmpdir(), "pydbg-extension-"));
  const pythonWithoutPydbg = [pydbgPython(), "-S"];
  let workspace: Workspace;
  let client: AdapterClient;

  before(() => {
    const installed = execFileSync(pydbgPython(), ["-c", "import os, pydbg; print(os.path.dirname(pydbg.__file__))"], {
      encoding: "utf8",
    }).trim();
    bundlePydbg(installed, extensionRoot);
  });

  after(() => fs.rmSync(extensionRoot, { recursive: true, force: true }));

  beforeEach(() => {
    workspace = new Workspace();
    client = new AdapterClient();
  });

  afterEach(async () => {
    await client.close();
    workspace.remove();
  });

  it("starts the adapter when the chosen interpreter has no pydbg, and debugs with that interpreter", async () => {
    assert.strictEqual((await probeInterpreter(pythonWithoutPydbg)).hasPydbg, false);
    const script = bundledAdapterScript(extensionRoot);
    assert.ok(script, "bundle-pydbg made an adapter script");
    const configuration = { type: "pydbg", request: "launch", program: workspace.program, python: pythonWithoutPydbg };
    const inputs = {
      interpreters: { pythonExtension: async () => undefined, setting: () => undefined },
      probe: probeInterpreter,
    };

    const withoutBundle = await planAdapter(configuration, inputs);
    assert.ok(isProblem(withoutBundle) && withoutBundle.fixCommand?.endsWith("-m pip install /path/to/pydbg"));

    const plan = await planAdapter(configuration, { ...inputs, bundledAdapterScript: script });
    assert.ok(!isProblem(plan) && plan.kind === "executable");
    assert.deepStrictEqual(plan.args, [script]);
    await client.startPlan(plan);
    await client.runToBreakpointAndExit("launch", configuration, workspace, workspace.program);
  });
});
