import { CURRENT_FILE } from "./shippedConfigurations";
import { PydbgConfiguration } from "./pydbgConfiguration";
import { Problem } from "./problem";

/** What the editor shows, as far as resolving a configuration needs it. */
export interface EditorState {
  activeFile?: { path: string; languageId: string };
}

/**
 * The first step of resolution, before VS Code substitutes variables. F5 without a launch.json
 * gives a configuration without a request: like the Python extension, debug the active Python file.
 */
export function resolveConfiguration(
  configuration: PydbgConfiguration,
  editor: EditorState,
): PydbgConfiguration | Problem {
  if (configuration.request) return configuration;
  if (editor.activeFile?.languageId !== "python") {
    return { message: "pydbg: open a Python file to debug it, or add a pydbg configuration to launch.json." };
  }
  // What VS Code did put there (such as noDebug for Run Without Debugging) stays.
  return { ...structuredClone(CURRENT_FILE.configuration), ...configuration };
}

/**
 * Where an attach reaches a running `pydbg --listen` directly: `connect`, or the legacy
 * top-level `host`/`port`. Undefined when the session needs the adapter process.
 */
export function serverAddress(configuration: PydbgConfiguration): { host: string; port: number } | undefined {
  if (configuration.request !== "attach") return undefined;
  const connect = configuration.connect ?? (configuration.port !== undefined ? configuration : undefined);
  if (connect?.port === undefined) return undefined;
  return { host: connect.host ?? "127.0.0.1", port: connect.port };
}
