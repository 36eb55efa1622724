import * as fs from "fs";
import * as path from "path";
import * as vscode from "vscode";
import { AdapterPlan, planAdapter, PlanInputs } from "./adapterPlan";
import { bundledAdapterScript } from "./bundle";
import { resolveConfiguration } from "./resolveConfiguration";
import { DEBUG_TYPE } from "./pydbgConfiguration";
import { InterpreterSources, probeInterpreter, withInterpreter } from "./interpreter";
import { isProblem, Problem } from "./problem";
import { pythonExtensionInterpreter } from "./pythonExtension";
import { detectRunner, testAt, testConfiguration, testDefinitions } from "./testAtCursor";
import { PICK_PROCESS_COMMAND } from "./manifest";
import { listProcesses, pythonProcesses } from "./processPicker";

const DEBUG_TEST_COMMAND = "pydbg.debugTestAtCursor";
/** The files pytest and unittest collect by default; only these get "Debug Test" lenses. */
const TEST_FILE = /^test.*\.py$|_test\.py$/;

export function activate(context: vscode.ExtensionContext): void {
  const planInputs = (folder: vscode.WorkspaceFolder | undefined): PlanInputs => ({
    interpreters: interpreterSources(folder),
    probe: probeInterpreter,
    bundledAdapterScript: bundledAdapterScript(context.extensionPath),
  });
  context.subscriptions.push(
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, new ConfigurationProvider(planInputs)),
    vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, new AdapterFactory(planInputs)),
    vscode.commands.registerCommand(DEBUG_TEST_COMMAND, debugTestAtCursor),
    vscode.commands.registerCommand(PICK_PROCESS_COMMAND, pickProcess),
    vscode.languages.registerCodeLensProvider({ language: "python" }, new TestCodeLenses()),
  );
}

/** "pydbg: Debug Test at Cursor", or a CodeLens above a test (which passes its file and line). */
async function debugTestAtCursor(uri?: vscode.Uri, line?: number): Promise<void> {
  const editor = vscode.window.activeTextEditor;
  const document = uri ? await vscode.workspace.openTextDocument(uri) : editor?.document;
  if (!document || document.languageId !== "python") {
    void vscode.window.showErrorMessage("pydbg: open a Python test file, and put the cursor in a test");
    return;
  }
  const test = testAt(document.getText(), line ?? editor?.selection.active.line ?? 0);
  if (!test) {
    void vscode.window.showErrorMessage("pydbg: the cursor is not in a test (a function or method named test...)");
    return;
  }
  const folder = vscode.workspace.getWorkspaceFolder(document.uri);
  const root = folder?.uri.fsPath ?? path.dirname(document.uri.fsPath);
  const readFile = (name: string) => {
    try {
      return fs.readFileSync(path.join(root, name), "utf8");
    } catch {
      return undefined;
    }
  };
  const configuration = testConfiguration(detectRunner(readFile), test, document.uri.fsPath, root);
  await vscode.debug.startDebugging(folder, configuration as vscode.DebugConfiguration);
}

/** `${command:pickProcess}`: the chosen process's id, or undefined (which cancels the start). */
async function pickProcess(): Promise<string | undefined> {
  const items = pythonProcesses(await listProcesses(), process.pid).map((entry) => ({
    label: String(entry.pid),
    description: entry.commandLine,
  }));
  const chosen = await vscode.window.showQuickPick(items, {
    placeHolder: "The Python process to attach to (type to filter by id or command line)",
    matchOnDescription: true,
  });
  return chosen?.label;
}

class TestCodeLenses implements vscode.CodeLensProvider {
  provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
    if (!TEST_FILE.test(path.basename(document.uri.fsPath))) return [];
    return testDefinitions(document.getText()).map(
      (test) =>
        new vscode.CodeLens(new vscode.Range(test.line, 0, test.line, 0), {
          title: "pydbg: Debug Test",
          command: DEBUG_TEST_COMMAND,
          arguments: [document.uri, test.line],
        }),
    );
  }
}

function interpreterSources(folder: vscode.WorkspaceFolder | undefined): InterpreterSources {
  return {
    pythonExtension: () => pythonExtensionInterpreter(folder),
    setting: () => vscode.workspace.getConfiguration("pydbg", folder?.uri).get<string>("python") || undefined,
  };
}

class ConfigurationProvider implements vscode.DebugConfigurationProvider {
  constructor(private readonly planInputs: (folder: vscode.WorkspaceFolder | undefined) => PlanInputs) {}

  resolveDebugConfiguration(
    _folder: vscode.WorkspaceFolder | undefined,
    configuration: vscode.DebugConfiguration,
  ): vscode.DebugConfiguration | undefined {
    const editor = vscode.window.activeTextEditor;
    const activeFile = editor && { path: editor.document.fileName, languageId: editor.document.languageId };
    const resolved = resolveConfiguration(configuration, { activeFile });
    return isProblem(resolved) ? showProblem(resolved) : (resolved as vscode.DebugConfiguration);
  }

  // Checked here rather than in the adapter factory: returning undefined ends the start quietly,
  // after the user has seen the one error message that says what to fix.
  async resolveDebugConfigurationWithSubstitutedVariables(
    folder: vscode.WorkspaceFolder | undefined,
    configuration: vscode.DebugConfiguration,
  ): Promise<vscode.DebugConfiguration | undefined> {
    // Planned before withInterpreter writes the chosen interpreter into the configuration, so that
    // an error names where the interpreter came from rather than "launch.json".
    const inputs = this.planInputs(folder);
    const plan = await planAdapter(configuration, inputs);
    if (isProblem(plan)) return showProblem(plan);
    return (await withInterpreter(configuration, inputs.interpreters)) as vscode.DebugConfiguration;
  }
}

class AdapterFactory implements vscode.DebugAdapterDescriptorFactory {
  constructor(private readonly planInputs: (folder: vscode.WorkspaceFolder | undefined) => PlanInputs) {}

  async createDebugAdapterDescriptor(session: vscode.DebugSession): Promise<vscode.DebugAdapterDescriptor> {
    const plan = await planAdapter(session.configuration, this.planInputs(session.workspaceFolder));
    if (isProblem(plan)) throw new Error(plan.message);
    return descriptor(plan);
  }
}

function descriptor(plan: AdapterPlan): vscode.DebugAdapterDescriptor {
  return plan.kind === "server"
    ? new vscode.DebugAdapterServer(plan.port, plan.host)
    : new vscode.DebugAdapterExecutable(plan.command, plan.args);
}

function showProblem(problem: Problem): undefined {
  const copy = "Copy command";
  const actions = problem.fixCommand ? [copy] : [];
  void vscode.window.showErrorMessage(problem.message, ...actions).then((choice) => {
    if (choice === copy && problem.fixCommand) void vscode.env.clipboard.writeText(problem.fixCommand);
  });
  return undefined;
}
