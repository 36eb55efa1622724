import * as vscode from "vscode";

/** The part of the Python extension's public API (ms-python.python exports) that pydbg uses. */
interface PythonExtensionApi {
  environments: {
    getActiveEnvironmentPath(resource?: vscode.Uri): { id: string; path: string };
    resolveEnvironment(
      environment: { id: string; path: string },
    ): Promise<{ executable: { uri?: vscode.Uri } } | undefined>;
  };
}

/** The interpreter selected in the Python extension for this folder, if that extension is installed. */
export async function pythonExtensionInterpreter(folder: vscode.WorkspaceFolder | undefined): Promise<string | undefined> {
  const extension = vscode.extensions.getExtension<PythonExtensionApi>("ms-python.python");
  if (!extension) return undefined;
  const api = extension.isActive ? extension.exports : await extension.activate();
  const environment = await api.environments.resolveEnvironment(
    api.environments.getActiveEnvironmentPath(folder?.uri),
  );
  return environment?.executable.uri?.fsPath;
}
