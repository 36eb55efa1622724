/** Something the user has to fix before a session can start, shown as an error message. */
export interface Problem {
  message: string;
  /** A shell command that fixes it, offered to copy. */
  fixCommand?: string;
}

export function isProblem(value: object): value is Problem {
  return "message" in value;
}
