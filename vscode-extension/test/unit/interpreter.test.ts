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
  it("names the chosen interpreter in the configuration unless launch.json did", () => {
    const configuration = { request: "launch", program: "a.py" };
    assert.deepStrictEqual(withInterpreter(configuration, { command: ["/ext/python"], source: "the Python extension" }), {
      ...configuration,
      python: ["/ext/python"],
    });
    const given = { request: "launch", pythonPath: "/p" };
    assert.strictEqual(withInterpreter(given, { command: ["/p"], source: "launch.json" }), given);
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
