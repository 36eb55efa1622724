import * as vscode from "vscode";
import { AdapterPlan, planAdapter, PlanInputs } from "./adapterPlan";
import { bundledAdapterScript } from "./bundle";
import { resolveConfiguration } from "./resolveConfiguration";
import { DEBUG_TYPE } from "./pydbgConfiguration";
import { InterpreterSources, probeInterpreter, withInterpreter } from "./interpreter";
import { isProblem, Problem } from "./problem";
import { pythonExtensionInterpreter } from "./pythonExtension";

export function activate(context: vscode.ExtensionContext): void {
  const planInputs = (folder: vscode.WorkspaceFolder | undefined): PlanInputs => ({
    interpreters: interpreterSources(folder),
    probe: probeInterpreter,
    bundledAdapterScript: bundledAdapterScript(context.extensionPath),
  });
  context.subscriptions.push(
    vscode.debug.registerDebugConfigurationProvider(DEBUG_TYPE, new ConfigurationProvider(planInputs)),
    vscode.debug.registerDebugAdapterDescriptorFactory(DEBUG_TYPE, new AdapterFactory(planInputs)),
  );
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
    const inputs = this.planInputs(folder);
    const resolved = await withInterpreter(configuration, inputs.interpreters);
    const plan = await planAdapter(resolved, inputs);
    return isProblem(plan) ? showProblem(plan) : (resolved as vscode.DebugConfiguration);
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
