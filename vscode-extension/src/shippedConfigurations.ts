import { DEBUG_TYPE, PydbgConfiguration } from "./pydbgConfiguration";

/** A ready-made launch.json entry, offered as an initial configuration and as a snippet. */
export interface ShippedConfiguration {
  label: string;
  description: string;
  configuration: PydbgConfiguration;
}

export const CURRENT_FILE: ShippedConfiguration = {
  label: "pydbg: current file",
  description: "Debug the Python file in the active editor.",
  configuration: { name: "pydbg: current file", type: DEBUG_TYPE, request: "launch", program: "${file}" },
};

export const MODULE: ShippedConfiguration = {
  label: "pydbg: module",
  description: "Debug a module, as `python -m mypackage` runs it. Change the module name.",
  configuration: {
    name: "pydbg: module",
    type: DEBUG_TYPE,
    request: "launch",
    module: "mypackage",
    cwd: "${workspaceFolder}",
  },
};

export const ATTACH_LOCAL: ShippedConfiguration = {
  label: "pydbg: attach to pydbg --listen 5678",
  description: "Attach to a program started with `pydbg --listen 5678 program.py` on this machine.",
  configuration: {
    name: "pydbg: attach to pydbg --listen 5678",
    type: DEBUG_TYPE,
    request: "attach",
    connect: { host: "127.0.0.1", port: 5678 },
  },
};

export const ATTACH_REMOTE: ShippedConfiguration = {
  label: "pydbg: attach to a remote host",
  description:
    "Attach to `pydbg --listen 0.0.0.0:5678 program.py` on another machine or in a container. " +
    "Change the host; remoteRoot is the workspace's folder there (relative to the program's working directory).",
  configuration: {
    name: "pydbg: attach to a remote host",
    type: DEBUG_TYPE,
    request: "attach",
    connect: { host: "localhost", port: 5678 },
    pathMappings: [{ localRoot: "${workspaceFolder}", remoteRoot: "." }],
  },
};

export const ATTACH_PROCESS: ShippedConfiguration = {
  label: "pydbg: attach to a process",
  description: "Attach to a Python 3.12 or 3.13 process that runs without pydbg: pick it from a list. Needs gdb.",
  configuration: {
    name: "pydbg: attach to a process",
    type: DEBUG_TYPE,
    request: "attach",
    processId: "${command:pickProcess}",
  },
};

export const SHIPPED_CONFIGURATIONS: readonly ShippedConfiguration[] = [
  CURRENT_FILE,
  MODULE,
  ATTACH_LOCAL,
  ATTACH_REMOTE,
  ATTACH_PROCESS,
];
