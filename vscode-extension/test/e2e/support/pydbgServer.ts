import * as assert from "assert";
import { ChildProcess, spawn } from "child_process";
import * as net from "net";

/** A program run by `python -m pydbg --listen PORT --wait-for-client`, as a user starts it. */
export class PydbgServer {
  private readonly process: ChildProcess;
  private readonly exit: Promise<number | null>;

  constructor(python: string, port: number, program: string, cwd: string) {
    this.process = spawn(python, ["-m", "pydbg", "--listen", `127.0.0.1:${port}`, "--wait-for-client", program], {
      cwd,
      stdio: ["ignore", "ignore", "inherit"],
    });
    this.exit = new Promise((resolve) => this.process.once("exit", resolve));
  }

  async assertExitedCleanly(): Promise<void> {
    assert.strictEqual(await this.exit, 0, "pydbg --listen exit code");
  }

  async stop(): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill();
    await this.exit;
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/**
 * A program run by plain `python`, without pydbg, for an attach by process id. It waits until
 * pydbg has been injected and the client has configured it, then runs `program` as `__main__`.
 */
export class PlainPythonProgram {
  private readonly process: ChildProcess;
  private readonly exit: Promise<number | null>;

  constructor(python: string, program: string, cwd: string) {
    const waitThenRun = [
      "import runpy, sys, time",
      "while not (sys.modules.get('pydbg') and sys.modules['pydbg'].is_client_connected()):",
      "    time.sleep(0.02)",
      "sys.modules['pydbg'].wait_for_client()",
      `runpy.run_path(${JSON.stringify(program)}, run_name="__main__")`,
    ].join("\n");
    this.process = spawn(python, ["-c", waitThenRun], { cwd, stdio: ["ignore", "ignore", "inherit"] });
    this.exit = new Promise((resolve) => this.process.once("exit", resolve));
  }

  get pid(): number {
    return this.process.pid!;
  }

  async assertExitedCleanly(): Promise<void> {
    assert.strictEqual(await this.exit, 0, "the attached program's exit code");
  }

  async stop(): Promise<void> {
    if (this.process.exitCode === null && this.process.signalCode === null) this.process.kill();
    await this.exit;
  }
}
