import * as assert from "assert";
import { resolveConfiguration, serverAddress } from "../../src/resolveConfiguration";
import { CURRENT_FILE } from "../../src/shippedConfigurations";
import { isProblem } from "../../src/problem";

describe("resolveConfiguration", () => {
  const pythonFile = { activeFile: { path: "/w/app.py", languageId: "python" } };

  it("debugs the active Python file when launch.json is empty", () => {
    const resolved = resolveConfiguration({}, pythonFile);
    assert.deepStrictEqual(resolved, CURRENT_FILE.configuration);
    assert.notStrictEqual(resolved, CURRENT_FILE.configuration, "the shipped configuration must not be handed out");
  });

  it("keeps what VS Code put in a configuration without a request", () => {
    const resolved = resolveConfiguration({ type: "pydbg", noDebug: true }, pythonFile);
    assert.deepStrictEqual(resolved, { ...CURRENT_FILE.configuration, noDebug: true });
  });

  it("reports a problem for an empty configuration when no Python file is active", () => {
    for (const editor of [{}, { activeFile: { path: "/w/notes.md", languageId: "markdown" } }]) {
      const resolved = resolveConfiguration({}, editor);
      assert.ok(isProblem(resolved));
      assert.match(resolved.message, /open a Python file/);
    }
  });

  it("keeps a configuration from launch.json as it is", () => {
    const configuration = { type: "pydbg", request: "launch", name: "x", module: "m", justMyCode: false };
    assert.strictEqual(resolveConfiguration(configuration, {}), configuration);
  });
});

describe("serverAddress", () => {
  it("is the connect address of an attach, with 127.0.0.1 as the default host", () => {
    assert.deepStrictEqual(serverAddress({ request: "attach", connect: { host: "h", port: 1 } }), { host: "h", port: 1 });
    assert.deepStrictEqual(serverAddress({ request: "attach", connect: { port: 2 } }), { host: "127.0.0.1", port: 2 });
  });

  it("accepts the legacy top-level host and port", () => {
    assert.deepStrictEqual(serverAddress({ request: "attach", host: "h", port: 3 }), { host: "h", port: 3 });
    assert.deepStrictEqual(serverAddress({ request: "attach", port: 4 }), { host: "127.0.0.1", port: 4 });
  });

  it("is undefined for launch, attach with listen, and attach without a port", () => {
    assert.strictEqual(serverAddress({ request: "launch", connect: { port: 1 } }), undefined);
    assert.strictEqual(serverAddress({ request: "attach", listen: { port: 5 } }), undefined);
    assert.strictEqual(serverAddress({ request: "attach", host: "h" }), undefined);
  });
});
