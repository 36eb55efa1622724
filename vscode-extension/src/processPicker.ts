import { execFile } from "child_process";
import * as path from "path";

/** A process as `ps` lists it. */
export interface ProcessEntry {
  pid: number;
  commandLine: string;
}

/** Parses `ps -eo pid=,args=`: a pid, then the command line, on each line. */
export function parsePs(output: string): ProcessEntry[] {
  const entries: ProcessEntry[] = [];
  for (const line of output.split("\n")) {
    const found = /^\s*(\d+)\s+(.*\S)\s*$/.exec(line);
    if (found) entries.push({ pid: Number(found[1]), commandLine: found[2] });
  }
  return entries;
}

/**
 * The processes worth offering for an attach by process id: those whose program is a Python
 * interpreter (python, python3, python3.13, a venv's python), except `ownPid` and pydbg's adapter.
 */
export function pythonProcesses(entries: ProcessEntry[], ownPid: number): ProcessEntry[] {
  return entries.filter(({ pid, commandLine }) => {
    const program = path.basename(commandLine.split(/\s+/)[0]);
    return pid !== ownPid && /^python(\d+(\.\d+)?)?$/.test(program) && !/\bpydbg[.-]adapter\b/.test(commandLine);
  });
}

export function listProcesses(): Promise<ProcessEntry[]> {
  return new Promise((resolve, reject) => {
    execFile("ps", ["-ww", "-eo", "pid=,args="], { maxBuffer: 16 * 1024 * 1024 }, (error, stdout) =>
      error ? reject(error) : resolve(parsePs(stdout)),
    );
  });
}
