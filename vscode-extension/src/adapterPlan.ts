import { serverAddress } from "./resolveConfiguration";
import { PydbgConfiguration } from "./pydbgConfiguration";
import { ChosenInterpreter, chooseInterpreter, InterpreterFacts, InterpreterSources, Probe } from "./interpreter";
import { Problem } from "./problem";

/** How VS Code reaches the debug adapter for one session. */
export type AdapterPlan =
  | { kind: "server"; host: string; port: number }
  | { kind: "executable"; command: string; args: string[] };

export const MINIMUM_PYTHON: readonly [number, number] = [3, 12];

export interface PlanInputs {
  interpreters: InterpreterSources;
  probe: Probe;
  /** adapter.py of the pydbg copy bundled in the extension, if the extension has one. */
  bundledAdapterScript?: string;
}

/**
 * An attach with `connect` goes straight to the `pydbg --listen` port. Everything else (launch,
 * attach with `listen`) needs the adapter process, run by a Python 3.12+ interpreter. So does a
 * child process's session: a short-lived child can be gone before its session opens, and the
 * adapter then ends the session quietly where a refused connection would be an error.
 */
export async function planAdapter(configuration: PydbgConfiguration, inputs: PlanInputs): Promise<AdapterPlan | Problem> {
  const server = configuration.subProcessId === undefined ? serverAddress(configuration) : undefined;
  if (server) return { kind: "server", ...server };
  const chosen = await chooseInterpreter(configuration, inputs.interpreters);
  let facts: InterpreterFacts;
  try {
    facts = await inputs.probe(chosen.command);
  } catch (error) {
    return {
      message:
        `pydbg: cannot run the Python interpreter ${describe(chosen)}: ${(error as Error).message}. ` +
        `${HOW_TO_CHOOSE}`,
    };
  }
  return planAdapterProcess(chosen, facts, inputs.bundledAdapterScript);
}

/** Where pydbg comes from until it is released: the user's own checkout, sdist or wheel. */
export const INSTALL_SOURCE = "/path/to/pydbg";

const HOW_TO_CHOOSE =
  'Choose a Python 3.12 or newer with "Python: Select Interpreter", the "python" attribute in launch.json, ' +
  "or the pydbg.python setting.";

export function planAdapterProcess(
  chosen: ChosenInterpreter,
  facts: InterpreterFacts,
  bundledAdapterScript: string | undefined,
): AdapterPlan | Problem {
  const [major, minor] = facts.version;
  if (major < MINIMUM_PYTHON[0] || (major === MINIMUM_PYTHON[0] && minor < MINIMUM_PYTHON[1])) {
    return {
      message:
        `pydbg needs Python ${MINIMUM_PYTHON.join(".")} or newer, and no such Python was found: ` +
        `${describe(chosen)} is Python ${major}.${minor}. ${HOW_TO_CHOOSE}`,
    };
  }
  if (facts.hasPydbg) return { kind: "executable", command: facts.executable, args: ["-m", "pydbg.adapter"] };
  if (bundledAdapterScript) return { kind: "executable", command: facts.executable, args: [bundledAdapterScript] };
  const fixCommand = `${quoteForShell(facts.executable)} -m pip install ${INSTALL_SOURCE}`;
  return {
    message:
      `pydbg is not installed in ${describe(chosen)}. Install it from a pydbg checkout, sdist or wheel ` +
      `(the package index has no release of it yet, and its "pydbg" is another project): ${fixCommand}`,
    fixCommand,
  };
}

function describe(chosen: ChosenInterpreter): string {
  return `${chosen.command.join(" ")} (from ${chosen.source})`;
}

function quoteForShell(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`;
}
