import * as assert from "assert";
import { DebugProtocol } from "@vscode/debugprotocol";
import { pydbgPython } from "../support/python";
import { AdapterClient } from "./support/adapterClient";
import { Workspace } from "./support/workspace";

// The adapter on its own, over stdio, as any DAP client drives it.
describe("pydbg.adapter over stdio", () => {
  let workspace: Workspace;
  let client: AdapterClient;

  beforeEach(async () => {
    workspace = new Workspace();
    client = new AdapterClient();
    await client.startPlan({ kind: "executable", command: pydbgPython(), args: ["-m", "pydbg.adapter"] });
  });

  afterEach(async () => {
    await client.close();
    workspace.remove();
  });

  it("launch → breakpoint → variables → continue → exit", async () => {
    const location = { path: workspace.program, line: workspace.breakpointLine };
    const output: string[] = [];
    client.on("output", (event: DebugProtocol.OutputEvent) => {
      if (event.body.category === "stdout") output.push(event.body.output);
    });
    const [, , stack] = await client.hitBreakpoint({ program: workspace.program }, location);
    const frame = (stack as DebugProtocol.StackTraceResponse).body.stackFrames[0];
    const scopes = await client.scopesRequest({ frameId: frame.id });
    const variables = await client.variablesRequest({ variablesReference: scopes.body.scopes[0].variablesReference });
    const items = variables.body.variables.find((variable) => variable.name === "items");
    assert.strictEqual(items?.value, "[1, 2, 3]");

    const exited = client.waitForEvent("exited");
    const terminated = client.waitForEvent("terminated");
    const threads = await client.threadsRequest();
    await client.continueRequest({ threadId: threads.body.threads[0].id });
    assert.strictEqual((await exited).body.exitCode, 0);
    await terminated;
    assert.strictEqual(output.join(""), `${workspace.variable.value}\n`);
  });
});
