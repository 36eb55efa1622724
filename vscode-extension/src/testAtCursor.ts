// "pydbg: Debug Test at Cursor": which test the cursor is in, which runner the project uses, and
// the launch configuration that runs that one test under pydbg. No `vscode` import, so mocha tests
// it in plain node.
import * as path from "path";
import { DEBUG_TYPE, PydbgConfiguration } from "./pydbgConfiguration";

export type Runner = "pytest" | "unittest";

/** A test function or method found in a file: where it starts, and the classes around it. */
export interface TestDefinition {
  name: string;
  classes: string[];
  /** 0-based line of its `def`. */
  line: number;
}

const DEFINITION = /^(\s*)(?:async\s+)?(def|class)\s+([A-Za-z_]\w*)/;

/**
 * Every `def test*` in `text`, with its enclosing classes (by indentation), as pytest and
 * unittest both collect them.
 */
export function testDefinitions(text: string): TestDefinition[] {
  const found: TestDefinition[] = [];
  const scopes: { indent: number; kind: string; name: string }[] = [];
  text.split(/\r?\n/).forEach((line, index) => {
    const match = DEFINITION.exec(line);
    if (!match) return;
    const [, spaces, kind, name] = match;
    const indent = spaces.length;
    while (scopes.length > 0 && scopes[scopes.length - 1].indent >= indent) scopes.pop();
    const classes = scopes.filter((s) => s.kind === "class").map((s) => s.name);
    const insideFunction = scopes.some((s) => s.kind === "def");
    if (kind === "def" && name.startsWith("test") && !insideFunction) found.push({ name, classes, line: index });
    scopes.push({ indent, kind, name });
  });
  return found;
}

/** The test whose definition is at or above the 0-based `line`, and whose body holds it. */
export function testAt(text: string, line: number): TestDefinition | undefined {
  const lines = text.split(/\r?\n/);
  const candidates = testDefinitions(text).filter((t) => t.line <= line);
  const test = candidates[candidates.length - 1];
  if (!test) return undefined;
  const indent = /^\s*/.exec(lines[test.line])![0].length;
  for (let i = test.line + 1; i <= line; i++) {
    const content = lines[i];
    if (content.trim() === "" || content.trimStart().startsWith("#")) continue;
    if (/^\s*/.exec(content)![0].length <= indent) return undefined; // the cursor is past its body
  }
  return test;
}

/**
 * The project's runner, as nvim-dap-python decides: pytest when a pytest configuration is there
 * (pytest.ini, a [tool.pytest...] table in pyproject.toml, [tool:pytest] in setup.cfg or tox.ini,
 * or a conftest.py), unittest otherwise.
 */
export function detectRunner(readFile: (name: string) => string | undefined): Runner {
  if (readFile("pytest.ini") !== undefined || readFile("conftest.py") !== undefined) return "pytest";
  if (/^\[tool\.pytest/m.test(readFile("pyproject.toml") ?? "")) return "pytest";
  if (/^\[tool:pytest\]/m.test(readFile("setup.cfg") ?? "")) return "pytest";
  if (/^\[pytest\]/m.test(readFile("tox.ini") ?? "")) return "pytest";
  return "unittest";
}

/** The launch configuration that runs one test of `file` (absolute) under pydbg. */
export function testConfiguration(
  runner: Runner,
  test: TestDefinition,
  file: string,
  workspaceFolder: string,
): PydbgConfiguration {
  const id =
    runner === "pytest"
      ? [file, ...test.classes, test.name].join("::")
      : [moduleName(file, workspaceFolder), ...test.classes, test.name].join(".");
  const args = runner === "pytest" ? ["-q", "-p", "no:cacheprovider", id] : ["-v", id];
  return {
    type: DEBUG_TYPE,
    request: "launch",
    name: `Debug test ${[...test.classes, test.name].join(".")}`,
    module: runner,
    args,
    cwd: workspaceFolder,
    console: "internalConsole",
  };
}

/** `tests/test_math.py` under the workspace folder: `tests.test_math`. */
function moduleName(file: string, workspaceFolder: string): string {
  const relative = path.relative(workspaceFolder, file).replace(/\.py$/, "");
  return relative.split(path.sep).join(".");
}
