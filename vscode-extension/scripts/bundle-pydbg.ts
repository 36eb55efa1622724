// Copies pydbg, as installed in the given interpreter, into bundled/ so that `npm run package`
// ships it: npm run bundle-pydbg -- /path/to/python
import { execFileSync } from "child_process";
import { bundlePydbg } from "../src/bundle";
import { EXTENSION_ROOT } from "./paths";

const python = process.argv[2];
if (!python) {
  console.error("usage: npm run bundle-pydbg -- /path/to/python   (a Python with pydbg installed)");
  process.exit(2);
}
const packageDir = execFileSync(python, ["-c", "import os, pydbg; print(os.path.dirname(pydbg.__file__))"], {
  encoding: "utf8",
}).trim();
console.log(`bundled ${packageDir} as ${bundlePydbg(packageDir, EXTENSION_ROOT)}`);
