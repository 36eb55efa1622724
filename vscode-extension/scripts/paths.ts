import * as path from "path";

/** vscode-extension/, from its compiled location out/scripts/ or out/test/... */
export const EXTENSION_ROOT = path.resolve(__dirname, "..", "..");
export const REPOSITORY_ROOT = path.resolve(EXTENSION_ROOT, "..");
export const ATTRIBUTES_FILE = path.join(REPOSITORY_ROOT, "adapter", "attributes.json");
export const VSCODE_DOC = path.join(REPOSITORY_ROOT, "docs", "vscode.md");
