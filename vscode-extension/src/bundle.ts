import * as fs from "fs";
import * as path from "path";

/**
 * An optional copy of the pydbg package inside the extension (`npm run bundle-pydbg -- PYTHON`),
 * used when the chosen interpreter does not have pydbg. It holds a native adapter and core, so a
 * .vsix with it is for one platform only.
 */
export function bundledPackageDir(extensionRoot: string): string {
  return path.join(extensionRoot, "bundled", "pydbg");
}

export function bundledAdapterScript(extensionRoot: string): string | undefined {
  const script = path.join(bundledPackageDir(extensionRoot), "adapter.py");
  return fs.existsSync(script) ? script : undefined;
}

/** Copies an installed pydbg package (the directory of pydbg/__init__.py) into the extension. */
export function bundlePydbg(installedPackageDir: string, extensionRoot: string): string {
  const target = bundledPackageDir(extensionRoot);
  fs.rmSync(target, { recursive: true, force: true });
  fs.cpSync(installedPackageDir, target, {
    recursive: true,
    filter: (source) => path.basename(source) !== "__pycache__",
  });
  return target;
}
