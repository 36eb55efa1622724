import * as assert from "assert";
import AdmZip from "adm-zip";
import { builtinModules } from "module";
import * as fs from "fs";
import * as path from "path";
import { EXTENSION_ROOT } from "../../scripts/paths";

const packageJson = JSON.parse(fs.readFileSync(path.join(EXTENSION_ROOT, "package.json"), "utf8"));
const vsixPath = path.join(EXTENSION_ROOT, `${packageJson.name}-${packageJson.version}.vsix`);

// The .vsix that `npm run package` made: a zip whose extension/ folder VS Code installs.
describe(`${path.basename(vsixPath)}`, () => {
  const zip = new AdmZip(vsixPath);
  const files = zip.getEntries().map((entry) => entry.entryName);
  const manifest = JSON.parse(zip.readAsText("extension/package.json"));

  it("has the manifest of the pydbg debugger", () => {
    assert.strictEqual(manifest.name, "pydbg");
    assert.strictEqual(manifest.version, packageJson.version);
    assert.deepStrictEqual(
      manifest.contributes.debuggers.map((debuggerEntry: { type: string }) => debuggerEntry.type),
      ["pydbg"],
    );
    assert.deepStrictEqual(manifest.contributes, packageJson.contributes);
  });

  it("contains the main file and every compiled module it loads", () => {
    const main = path.posix.join("extension", manifest.main);
    assert.ok(files.includes(main), `${main} in ${files.join(", ")}`);
    const compiled = fs
      .readdirSync(path.join(EXTENSION_ROOT, "out", "src"))
      .filter((name) => name.endsWith(".js"))
      .map((name) => `extension/out/src/${name}`);
    assert.ok(compiled.length > 1);
    for (const file of compiled) assert.ok(files.includes(file), `${file} is packaged`);
  });

  it("needs nothing at run time beyond node, vscode and its own files (so --no-dependencies is right)", () => {
    const requires = files
      .filter((name) => name.endsWith(".js"))
      .flatMap((file) => [...zip.readAsText(file).matchAll(/require\("([^"]+)"\)/g)].map((match) => [file, match[1]]));
    assert.ok(requires.some(([, required]) => required === "vscode"), "the extension's requires were found");
    for (const [file, required] of requires) {
      const resolved = path.posix.join(path.posix.dirname(file), required) + ".js";
      const ok = required === "vscode" || builtinModules.includes(required) || files.includes(resolved);
      assert.ok(ok, `${file} requires ${required}`);
    }
  });

  it("has its README and LICENSE, and no sources, tests or node_modules", () => {
    for (const file of ["extension/readme.md", "extension/LICENSE.txt"]) {
      assert.ok(files.some((name) => name.toLowerCase() === file.toLowerCase()), `${file} in ${files.join(", ")}`);
    }
    const unwanted = files.filter((name) => /^extension\/(src|test|scripts|node_modules|out\/test)\//.test(name));
    assert.deepStrictEqual(unwanted, []);
  });
});
