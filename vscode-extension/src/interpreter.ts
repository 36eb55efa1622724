import { execFile } from "child_process";
import { PydbgConfiguration } from "./pydbgConfiguration";

export type InterpreterSource = "launch.json" | "the Python extension" | "the pydbg.python setting" | "the default";

export interface ChosenInterpreter {
  /** The interpreter, then its arguments (the `python` attribute may be a list). */
  command: string[];
  source: InterpreterSource;
}

/** The places an interpreter can come from besides launch.json, in the order they are asked. */
export interface InterpreterSources {
  /** The Python extension's selected interpreter, if that extension is installed. */
  pythonExtension(): Promise<string | undefined>;
  /** The pydbg.python setting, if set. */
  setting(): string | undefined;
}

export const DEFAULT_INTERPRETER = "python3";

export async function chooseInterpreter(
  configuration: PydbgConfiguration,
  sources: InterpreterSources,
): Promise<ChosenInterpreter> {
  const given = asCommand(configuration.python) ?? asCommand(configuration.pythonPath);
  if (given) return { command: given, source: "launch.json" };
  const selected = await sources.pythonExtension();
  if (selected) return { command: [selected], source: "the Python extension" };
  const setting = sources.setting();
  if (setting) return { command: [setting], source: "the pydbg.python setting" };
  return { command: [DEFAULT_INTERPRETER], source: "the default" };
}

/**
 * The second step of resolution, after variable substitution: a launch names its interpreter, so
 * the program runs under the same Python whichever copy of the adapter starts it.
 */
export async function withInterpreter(
  configuration: PydbgConfiguration,
  sources: InterpreterSources,
): Promise<PydbgConfiguration> {
  if (configuration.request !== "launch") return configuration;
  const chosen = await chooseInterpreter(configuration, sources);
  return chosen.source === "launch.json" ? configuration : { ...configuration, python: chosen.command };
}

function asCommand(value: string | string[] | undefined): string[] | undefined {
  if (typeof value === "string") return value ? [value] : undefined;
  return value?.length ? value : undefined;
}

/** What the extension needs to know about an interpreter before starting the adapter. */
export interface InterpreterFacts {
  executable: string;
  version: [number, number];
  hasPydbg: boolean;
}

export type Probe = (command: string[]) => Promise<InterpreterFacts>;

const PROBE_SCRIPT = `
import importlib.util, json, sys
print(json.dumps({"executable": sys.executable, "version": sys.version_info[:2],
                  "hasPydbg": importlib.util.find_spec("pydbg") is not None}))
`;

/** Runs the interpreter once; rejects when it cannot run. */
export const probeInterpreter: Probe = (command) =>
  new Promise((resolve, reject) => {
    execFile(command[0], [...command.slice(1), "-c", PROBE_SCRIPT], { timeout: 15_000 }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(stderr.trim() || error.message));
        return;
      }
      try {
        resolve(JSON.parse(stdout) as InterpreterFacts);
      } catch {
        reject(new Error(`it printed ${JSON.stringify(stdout.trim())} instead of its version`));
      }
    });
  });
