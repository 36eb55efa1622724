import * as assert from "assert";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { planAdapter } from "../../src/adapterPlan";
import { resolveConfiguration } from "../../src/resolveConfiguration";
import { PydbgConfiguration } from "../../src/pydbgConfiguration";
import { InterpreterSources, probeInterpreter, withInterpreter } from "../../src/interpreter";
import { fromSnippetBody } from "../../src/manifest";
import { isProblem } from "../../src/problem";
import { EXTENSION_ROOT } from "../../scripts/paths";
import { pydbgPython } from "../support/python";
import { AdapterClient } from "./support/adapterClient";
import { freePort, PlainPythonProgram, PydbgServer } from "./support/pydbgServer";
import { Workspace } from "./support/workspace";

const packageJson = JSON.parse(fs.readFileSync(path.join(EXTENSION_ROOT, "package.json"), "utf8"));
const snippets: { label: string; body: PydbgConfiguration }[] = packageJson.contributes.debuggers[0].configurationSnippets;

// pydbg.python is the one source that names the test's interpreter; the Python extension is absent.
const interpreters: InterpreterSources = { pythonExtension: async () => undefined, setting: () => pydbgPython() };

/**
 * Each configuration as package.json ships it, resolved by the extension's own code, with the
 * adapter the extension would choose, to a breakpoint and a clean exit.
 */
describe("shipped configurations, end to end", () => {
  let workspace: Workspace;
  let client: AdapterClient;
  let server: PydbgServer | PlainPythonProgram | undefined;
  let remoteFolder: string | undefined;

  beforeEach(() => {
    workspace = new Workspace();
    client = new AdapterClient();
    server = undefined;
    remoteFolder = undefined;
  });

  afterEach(async () => {
    await client.close();
    await server?.stop();
    workspace.remove();
    if (remoteFolder) fs.rmSync(remoteFolder, { recursive: true, force: true });
  });

  it("ships a launch and an attach snippet", () => {
    const requests = new Set(snippets.map((snippet) => snippet.body.request));
    assert.deepStrictEqual([...requests].sort(), ["attach", "launch"]);
  });

  for (const snippet of snippets) {
    it(snippet.label, async () => {
      const resolved = resolveConfiguration(fromSnippetBody(snippet.body), {
        activeFile: { path: workspace.program, languageId: "python" },
      });
      assert.ok(!isProblem(resolved), JSON.stringify(resolved));
      await debug(workspace.substitute(resolved, workspace.program));
    });
  }

  it("F5 without a launch.json debugs the active file", async () => {
    const resolved = resolveConfiguration({}, { activeFile: { path: workspace.program, languageId: "python" } });
    assert.ok(!isProblem(resolved));
    await debug(workspace.substitute(resolved, workspace.program));
  });

  /** Runs the configuration the way VS Code would once the extension has resolved it. */
  async function debug(configuration: PydbgConfiguration): Promise<void> {
    const file = typeof configuration.module === "string" ? workspace.addModule(configuration.module) : workspace.program;
    if (configuration.connect) {
      configuration.connect.port = await freePort();
      server = startServer(configuration);
    }
    if (configuration.processId === "${command:pickProcess}") {
      // What the process picker would return for a program started without pydbg.
      const program = new PlainPythonProgram(pydbgPython(), workspace.program, workspace.folder);
      configuration.processId = String(program.pid);
      server = program;
    }
    const withPython = await withInterpreter(configuration, interpreters);
    const plan = await planAdapter(withPython, { interpreters, probe: probeInterpreter });
    assert.ok(!isProblem(plan), JSON.stringify(plan));
    assert.strictEqual(plan.kind, configuration.connect ? "server" : "executable");

    await client.startPlan(plan);
    await client.runToBreakpointAndExit(configuration.request as "launch" | "attach", withPython, workspace, file);
    await server?.assertExitedCleanly();
  }

  /**
   * Starts `pydbg --listen` for an attach configuration. With pathMappings, the program runs from
   * a copy of the workspace in another folder, as on a remote machine, with its working
   * directory at the remote root.
   */
  function startServer(configuration: PydbgConfiguration): PydbgServer {
    const port = configuration.connect!.port!;
    const mappings = configuration.pathMappings as { localRoot: string; remoteRoot: string }[] | undefined;
    if (!mappings) return new PydbgServer(pydbgPython(), port, workspace.program, workspace.folder);
    assert.strictEqual(mappings.length, 1);
    assert.strictEqual(mappings[0].localRoot, workspace.folder);
    remoteFolder = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "pydbg-remote-")));
    workspace.copyTo(remoteFolder);
    const remoteCwd = path.resolve(remoteFolder, mappings[0].remoteRoot);
    const remoteProgram = path.join(remoteFolder, path.relative(workspace.folder, workspace.program));
    return new PydbgServer(pydbgPython(), port, remoteProgram, remoteCwd);
  }
});
