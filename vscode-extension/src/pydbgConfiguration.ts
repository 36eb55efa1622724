/** The fields of a launch.json entry that the extension reads; every other attribute passes through. */
export interface PydbgConfiguration {
  type?: string;
  request?: string;
  name?: string;
  python?: string | string[];
  pythonPath?: string | string[];
  connect?: { host?: string; port?: number };
  listen?: { host?: string; port?: number };
  host?: string;
  port?: number;
  /** Set by the adapter in a child process's session (startDebugging): that process's id. */
  subProcessId?: number;
  [attribute: string]: unknown;
}

/** The debug type this extension contributes. */
export const DEBUG_TYPE = "pydbg";
