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
  [attribute: string]: unknown;
}

/** The debug type this extension contributes. */
export const DEBUG_TYPE = "pydbg";
