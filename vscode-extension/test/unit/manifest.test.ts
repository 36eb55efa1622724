import * as assert from "assert";
import * as fs from "fs";
import * as path from "path";
import { SHIPPED_CONFIGURATIONS } from "../../src/shippedConfigurations";
import { breakpointsContribution, debuggerContribution, fromSnippetBody, toSnippetBody } from "../../src/manifest";
import { ATTRIBUTES_FILE, EXTENSION_ROOT, VSCODE_DOC } from "../../scripts/paths";

const packageJson = JSON.parse(fs.readFileSync(path.join(EXTENSION_ROOT, "package.json"), "utf8"));
const attributes = JSON.parse(fs.readFileSync(ATTRIBUTES_FILE, "utf8"));
const debuggers = packageJson.contributes.debuggers;
const requests = ["launch", "attach"] as const;

describe("package.json", () => {
  it("contributes exactly one debugger, generated from attributes.json (run `npm run sync-manifest`)", () => {
    assert.strictEqual(debuggers.length, 1);
    assert.deepStrictEqual(debuggers[0], debuggerContribution(attributes, SHIPPED_CONFIGURATIONS));
  });

  it("lets users set breakpoints in Python files without any other extension (contributes.breakpoints)", () => {
    assert.deepStrictEqual(packageJson.contributes.breakpoints, breakpointsContribution());
    assert.ok(packageJson.contributes.breakpoints.some((b: { language: string }) => b.language === "python"));
  });

  it("describes every launch and attach attribute of the adapter", () => {
    for (const request of requests) {
      const names = Object.keys(attributes[request].properties);
      assert.ok(names.length > 0, `${request} has attributes`);
      for (const name of names) {
        const property = debuggers[0].configurationAttributes[request].properties[name];
        assert.ok(property, `${request}.${name} is in package.json`);
        assert.ok(property.description?.length > 0, `${request}.${name} has a description`);
        assert.ok(property.type, `${request}.${name} has a type`);
      }
    }
  });

  it("is the pydbg debugger for Python, with a main file that exists after compiling", () => {
    assert.strictEqual(debuggers[0].type, "pydbg");
    assert.deepStrictEqual(debuggers[0].languages, ["python"]);
    assert.ok(fs.existsSync(path.join(EXTENSION_ROOT, packageJson.main)), packageJson.main);
  });

  it("ships configurations that use only attributes the adapter accepts", () => {
    for (const { configuration } of SHIPPED_CONFIGURATIONS) {
      const known = Object.keys(attributes[configuration.request as string].properties);
      for (const name of Object.keys(configuration)) {
        assert.ok(["name", "type", "request", ...known].includes(name), `${configuration.name}: ${name}`);
      }
    }
  });
});

describe("snippet bodies", () => {
  it("escape variables for the snippet syntax and decode back to the configuration", () => {
    for (const { configuration } of SHIPPED_CONFIGURATIONS) {
      assert.deepStrictEqual(fromSnippetBody(toSnippetBody(configuration)), configuration);
    }
    assert.deepStrictEqual(toSnippetBody({ program: "${file}", cwd: "plain" }), { program: '^"\\${file}"', cwd: "plain" });
    const tricky = { args: ['a "q" \\ ${x}'] };
    assert.deepStrictEqual(toSnippetBody(tricky), { args: ['^"a \\\\"q\\\\" \\\\\\\\ \\${x}"'] });
    assert.deepStrictEqual(fromSnippetBody(toSnippetBody(tricky)), tricky);
  });
});

describe("docs/vscode.md", () => {
  it("documents every attribute", () => {
    const doc = fs.readFileSync(VSCODE_DOC, "utf8");
    for (const request of requests) {
      for (const name of Object.keys(attributes[request].properties)) {
        assert.ok(doc.includes("`" + name + "`"), `docs/vscode.md mentions \`${name}\` (${request})`);
      }
    }
  });
});
