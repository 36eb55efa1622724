import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { PydbgConfiguration } from "../../../src/pydbgConfiguration";

const PROGRAM = `def total(items):
    result = sum(items)
    return result  # breakpoint


print(total([1, 2, 3]))
`;

/** A temporary workspace folder with one small program, and what a stop in it should show. */
export class Workspace {
  readonly folder = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), "pydbg-vscode-")));
  readonly program = this.addFile("app.py");
  readonly breakpointLine = PROGRAM.split("\n").findIndex((line) => line.includes("# breakpoint")) + 1;
  readonly variable = { name: "result", value: "6" };

  /** Writes the program as the file that runs `python -m name`. */
  addModule(name: string): string {
    return this.addFile(name.replace(/\./g, path.sep) + ".py");
  }

  /** A copy of the workspace elsewhere, as a remote machine would have it. */
  copyTo(folder: string): void {
    fs.cpSync(this.folder, folder, { recursive: true });
  }

  remove(): void {
    fs.rmSync(this.folder, { recursive: true, force: true });
  }

  /** VS Code's variable substitution, for the variables the shipped configurations use. */
  substitute(configuration: PydbgConfiguration, activeFile: string): PydbgConfiguration {
    const values: Record<string, string> = { file: activeFile, workspaceFolder: this.folder };
    const text = JSON.stringify(configuration).replace(/\$\{(\w+)\}/g, (whole, name: string) => {
      if (!(name in values)) throw new Error(`the test does not substitute ${whole}`);
      return values[name];
    });
    return JSON.parse(text);
  }

  private addFile(relative: string): string {
    const file = path.join(this.folder, relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, PROGRAM);
    return file;
  }
}
