import * as assert from "assert";
import { detectRunner, testAt, testConfiguration, testDefinitions } from "../../src/testAtCursor";

const FILE = [
  "import pytest",              // 0
  "",                           // 1
  "def helper():",              // 2
  "    return 1",               // 3
  "",                           // 4
  "def test_plain():",          // 5
  "    assert helper() == 1",   // 6
  "",                           // 7
  "class TestMath:",            // 8
  "    def test_add(self):",    // 9
  "        # a comment",        // 10
  "        assert 1 + 1 == 2",  // 11
  "",                           // 12
  "    def not_a_test(self):",  // 13
  "        def test_inner():",  // 14
  "            pass",           // 15
  "",                           // 16
  "async def test_async():",    // 17
  "    pass",                   // 18
  "x = 1",                      // 19
].join("\n");

describe("testDefinitions and testAt", () => {
  it("finds test functions and methods with their classes, not nested functions", () => {
    assert.deepStrictEqual(testDefinitions(FILE), [
      { name: "test_plain", classes: [], line: 5 },
      { name: "test_add", classes: ["TestMath"], line: 9 },
      { name: "test_async", classes: [], line: 17 },
    ]);
  });

  it("picks the test whose body holds the cursor", () => {
    assert.strictEqual(testAt(FILE, 6)?.name, "test_plain");
    assert.strictEqual(testAt(FILE, 5)?.name, "test_plain");
    assert.deepStrictEqual(testAt(FILE, 11), { name: "test_add", classes: ["TestMath"], line: 9 });
    assert.strictEqual(testAt(FILE, 10)?.name, "test_add", "comments and blank lines stay in the body");
    assert.strictEqual(testAt(FILE, 3), undefined, "helper is not a test");
    assert.strictEqual(testAt(FILE, 14), undefined, "not_a_test is past test_add's body");
    assert.strictEqual(testAt(FILE, 19), undefined, "module code after the last test");
  });
});

describe("detectRunner", () => {
  const files = (present: Record<string, string>) => (name: string) => present[name];
  it("is pytest where the project configures pytest, unittest otherwise", () => {
    assert.strictEqual(detectRunner(files({ "pytest.ini": "" })), "pytest");
    assert.strictEqual(detectRunner(files({ "conftest.py": "" })), "pytest");
    assert.strictEqual(detectRunner(files({ "pyproject.toml": "[tool.pytest.ini_options]\n" })), "pytest");
    assert.strictEqual(detectRunner(files({ "setup.cfg": "[tool:pytest]\n" })), "pytest");
    assert.strictEqual(detectRunner(files({ "tox.ini": "[pytest]\n" })), "pytest");
    assert.strictEqual(detectRunner(files({ "pyproject.toml": "[tool.black]\n" })), "unittest");
    assert.strictEqual(detectRunner(files({})), "unittest");
  });
});

describe("testConfiguration", () => {
  const test = { name: "test_add", classes: ["TestMath"], line: 9 };
  it("runs one pytest node id", () => {
    const configuration = testConfiguration("pytest", test, "/w/tests/test_math.py", "/w");
    assert.deepStrictEqual(configuration.args, ["-q", "-p", "no:cacheprovider", "/w/tests/test_math.py::TestMath::test_add"]);
    assert.strictEqual(configuration.module, "pytest");
    assert.strictEqual(configuration.type, "pydbg");
    assert.strictEqual(configuration.cwd, "/w");
  });
  it("runs one unittest name, dotted from the workspace folder", () => {
    const configuration = testConfiguration("unittest", test, "/w/tests/test_math.py", "/w");
    assert.deepStrictEqual(configuration.args, ["-v", "tests.test_math.TestMath.test_add"]);
    assert.strictEqual(configuration.module, "unittest");
  });
});
