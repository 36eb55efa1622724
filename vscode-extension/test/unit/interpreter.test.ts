import * as assert from "assert";
import { chooseInterpreter, DEFAULT_INTERPRETER, InterpreterSources, probeInterpreter, withInterpreter } from "../../src/interpreter";
import { pydbgPython } from "../support/python";

function sources(pythonExtension?: string, setting?: string): InterpreterSources & { asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    pythonExtension: async () => (asked.push("pythonExtension"), pythonExtension),
    setting: () => (asked.push("setting"), setting),
  };
}

describe("chooseInterpreter", () => {
  it("takes python from launch.json first, as a command list", async () => {
    const from = sources("/ext/python", "/setting/python");
    assert.deepStrictEqual(await chooseInterpreter({ python: "/given/python" }, from), {
      command: ["/given/python"],
      source: "launch.json",
    });
    assert.deepStrictEqual((await chooseInterpreter({ python: ["/py", "-X", "dev"] }, from)).command, ["/py", "-X", "dev"]);
    assert.deepStrictEqual(from.asked, [], "no other source is asked when launch.json names one");
  });

  it("takes pythonPath when python is absent", async () => {
    assert.deepStrictEqual((await chooseInterpreter({ pythonPath: "/legacy" }, sources())).command, ["/legacy"]);
  });

  it("then the Python extension, then the setting, then python3", async () => {
    assert.deepStrictEqual(await chooseInterpreter({}, sources("/ext/python", "/setting/python")), {
      command: ["/ext/python"],
      source: "the Python extension",
    });
    assert.deepStrictEqual(await chooseInterpreter({}, sources(undefined, "/setting/python")), {
      command: ["/setting/python"],
      source: "the pydbg.python setting",
    });
    const none = sources();
    assert.deepStrictEqual(await chooseInterpreter({ python: "", pythonPath: [] }, none), {
      command: [DEFAULT_INTERPRETER],
      source: "the default",
    });
    assert.deepStrictEqual(none.asked, ["pythonExtension", "setting"]);
  });
});

describe("withInterpreter", () => {
  it("names the chosen interpreter in a launch that does not name one", async () => {
    const configuration = { request: "launch", program: "a.py" };
    assert.deepStrictEqual(await withInterpreter(configuration, sources("/ext/python")), {
      ...configuration,
      python: ["/ext/python"],
    });
  });

  it("keeps a launch that names its interpreter, and any attach, as they are", async () => {
    for (const configuration of [
      { request: "launch", pythonPath: "/p" },
      { request: "attach", listen: { port: 1 } },
      { request: "attach", connect: { port: 1 } },
    ]) {
      assert.strictEqual(await withInterpreter(configuration, sources("/ext/python")), configuration);
    }
  });
});

describe("probeInterpreter", () => {
  it("reports the version, the executable and that pydbg is importable", async () => {
    const facts = await probeInterpreter([pydbgPython()]);
    assert.ok(facts.version[0] === 3 && facts.version[1] >= 12, `version ${facts.version}`);
    assert.strictEqual(facts.hasPydbg, true);
    assert.ok(facts.executable.length > 0);
  });

  it("rejects, with the reason, when the interpreter cannot run", async () => {
    await assert.rejects(probeInterpreter(["/no/such/python"]), /ENOENT/);
    await assert.rejects(probeInterpreter([pydbgPython(), "-c", "raise SystemExit('broken')"]), /broken/);
  });
});
