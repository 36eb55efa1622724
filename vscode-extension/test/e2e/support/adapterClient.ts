import * as assert from "assert";
import { ChildProcess, spawn } from "child_process";
import * as net from "net";
import { DebugClient } from "@vscode/debugadapter-testsupport";
import { DebugProtocol } from "@vscode/debugprotocol";
import { AdapterPlan } from "../../../src/adapterPlan";
import { DEBUG_TYPE } from "../../../src/pydbgConfiguration";
import { Workspace } from "./workspace";

/** A DebugClient that reaches the adapter the way VS Code would for the given plan. */
export class AdapterClient extends DebugClient {
  private adapterProcess?: ChildProcess;
  private socket?: net.Socket;

  constructor() {
    super("", "", DEBUG_TYPE);
    this.defaultTimeout = 20_000;
  }

  async startPlan(plan: AdapterPlan): Promise<void> {
    if (plan.kind === "server") {
      this.socket = await connectWhenListening(plan.host, plan.port);
      this.connect(this.socket, this.socket);
    } else {
      this.adapterProcess = spawn(plan.command, plan.args, { stdio: ["pipe", "pipe", "inherit"] });
      this.connect(this.adapterProcess.stdout!, this.adapterProcess.stdin!);
    }
  }

  async close(): Promise<void> {
    this.socket?.destroy();
    const adapter = this.adapterProcess;
    if (adapter && adapter.exitCode === null && adapter.signalCode === null) {
      const exited = new Promise((resolve) => adapter.once("exit", resolve));
      adapter.stdin?.end();
      const killer = setTimeout(() => adapter.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(killer);
    }
  }

  /**
   * initialize, launch or attach, a breakpoint in `file`, configurationDone; then checks the stop,
   * the stack and a local variable; then continue until the program exits with code 0.
   */
  async runToBreakpointAndExit(request: "launch" | "attach", args: object, workspace: Workspace, file: string) {
    const initialized = this.waitForEvent("initialized");
    await this.initializeRequest({ adapterID: DEBUG_TYPE, pathFormat: "path", linesStartAt1: true, columnsStartAt1: true });
    const started = request === "launch" ? this.launchRequest(args) : this.attachRequest(args);
    await initialized;
    const breakpoints = await this.setBreakpointsRequest({
      source: { path: file },
      breakpoints: [{ line: workspace.breakpointLine }],
    });
    assert.strictEqual(breakpoints.body.breakpoints[0].verified, true, "breakpoint verified");
    assert.strictEqual(breakpoints.body.breakpoints[0].line, workspace.breakpointLine);
    const stopped = this.waitForEvent("stopped");
    await this.configurationDoneRequest();
    await started;

    const stop = (await stopped) as DebugProtocol.StoppedEvent;
    assert.strictEqual(stop.body.reason, "breakpoint");
    const stack = await this.stackTraceRequest({ threadId: stop.body.threadId! });
    const frame = stack.body.stackFrames[0];
    assert.strictEqual(frame.line, workspace.breakpointLine, "stopped line");
    assert.strictEqual(frame.source?.path, file, "stopped file, as the editor knows it");
    assert.strictEqual(await this.localValue(frame.id, workspace.variable.name), workspace.variable.value);

    const exited = this.waitForEvent("exited");
    const terminated = this.waitForEvent("terminated");
    await this.continueRequest({ threadId: stop.body.threadId! });
    assert.strictEqual((await exited).body.exitCode, 0, "exit code");
    await terminated;
  }

  private async localValue(frameId: number, name: string): Promise<string | undefined> {
    const scopes = await this.scopesRequest({ frameId });
    const locals = scopes.body.scopes.find((scope) => scope.presentationHint === "locals") ?? scopes.body.scopes[0];
    const variables = await this.variablesRequest({ variablesReference: locals.variablesReference });
    return variables.body.variables.find((variable) => variable.name === name)?.value;
  }
}

/** The server may not listen yet: a refused connection has no effect on it, so retry. */
async function connectWhenListening(host: string, port: number, deadline = Date.now() + 15_000): Promise<net.Socket> {
  for (;;) {
    try {
      return await new Promise<net.Socket>((resolve, reject) => {
        const socket = net.createConnection(port, host, () => resolve(socket));
        socket.once("error", reject);
      });
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}
