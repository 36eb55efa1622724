// Drives a real VS Code (code-server) in headless Chromium through debugging sessions with the
// pydbg extension, asserting on what the page shows: F9 on a line, F5, the stop, a variable in
// the Variables view, one step, continue, the program's output in the Debug Console; then
// "pydbg: Debug Test at Cursor" in a pytest test.
//   node drive.cjs URL SHOTS_DIR
// scripts/test-vscode starts code-server and runs this (with playwright-core on NODE_PATH).
const { chromium } = require("playwright-core");
const path = require("path");

const [url, shots] = process.argv.slice(2);
const TIMEOUT = 60_000;

function fail(message) {
  throw new Error(message);
}

async function textOf(page, selector) {
  return (await page.locator(selector).allInnerTexts()).join("\n");
}

async function waitForText(page, selector, wanted, what) {
  const deadline = Date.now() + TIMEOUT;
  let seen = "";
  while (Date.now() < deadline) {
    seen = await textOf(page, selector).catch(() => "");
    if (wanted.test(seen)) return seen;
    await page.waitForTimeout(250);
  }
  await page.screenshot({ path: path.join(shots, "failure.png") });
  fail(`${what}: ${wanted} never appeared in ${selector}; it showed:\n${seen.slice(0, 2000)}`);
}

/** Opens `file` from the Explorer and sets a breakpoint on `line` with F9. */
async function breakpointAt(page, file, line) {
  await page.keyboard.press("Control+Shift+E");
  await page.getByRole("treeitem", { name: file }).click({ timeout: TIMEOUT });
  await page.waitForFunction((name) => document.querySelector(".tab.active")?.textContent?.includes(name), file, {
    timeout: TIMEOUT,
  });
  const before = await page.locator(".codicon-debug-breakpoint").count();
  await page.locator(".monaco-editor .view-lines").first().click();
  await page.keyboard.press("Control+G");
  await page.keyboard.type(String(line));
  await page.keyboard.press("Enter");
  // F9 does nothing until the extension host has read the extensions' breakpoint languages,
  // which can be after the file shows: press it again until the breakpoint appears.
  for (let attempt = 0; ; attempt++) {
    await page.keyboard.press("F9");
    const placed = await page
      .waitForFunction((count) => document.querySelectorAll(".codicon-debug-breakpoint").length > count, before, {
        timeout: 1000,
      })
      .then(() => true, () => false);
    if (placed) return;
    if (attempt === 30) fail(`F9 never set a breakpoint on ${file}`);
  }
}

async function command(page, name) {
  await page.keyboard.press("Control+Shift+P");
  await page.waitForSelector(".quick-input-widget input", { timeout: TIMEOUT });
  await page.keyboard.type(name);
  await page.waitForTimeout(500);
  await page.keyboard.press("Enter");
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
  const checks = [];
  function pass(what) {
    checks.push(what);
    console.log(`PASS ${what}`);
  }
  const page = await browser.newPage({ viewport: { width: 1600, height: 1000 } });
  try {
    await page.goto(url, { timeout: TIMEOUT });
    await page.waitForSelector(".monaco-workbench", { timeout: TIMEOUT });
    pass("the workbench loaded");

    // Open app.py from the Explorer and put a breakpoint on line 4 (`total = a + b`) with F9,
    // as a user does.
    await breakpointAt(page, "app.py", 4);
    pass("F9 set a breakpoint in a .py file (contributes.breakpoints)");

    await page.keyboard.press("F5");
    await waitForText(page, ".debug-call-stack, .debug-pane, .pane-header", /Paused on breakpoint/i, "the stop");
    pass("F5 started pydbg and the Call Stack shows the stop");
    await waitForText(page, ".debug-call-stack", /add[\s\S]*<module>/, "the whole stack");
    pass("the Call Stack shows add, then <module>");
    await page.screenshot({ path: path.join(shots, "stopped.png") });

    const variables = await waitForText(page, ".debug-variables, .debug-view-content", /a\s*=\s*2/, "Variables view");
    if (!/b\s*=\s*3/.test(variables)) fail(`the Variables view shows a = 2 but not b = 3:\n${variables}`);
    pass("the Variables view shows a = 2 and b = 3");
    await page.screenshot({ path: path.join(shots, "variables.png") });

    await page.keyboard.press("F10");
    await waitForText(page, ".debug-variables, .debug-view-content", /total\s*=\s*5/, "after one step");
    pass("one step over: total = 5 appears in Variables");

    await page.keyboard.press("F5");
    await command(page, "Debug Console: Focus on Debug Console View");
    await waitForText(page, ".repl, .debug-console, .panel", /the sum is 5/, "program output");
    pass("continue ran the program to its end; its output is in the Debug Console");
    await page.screenshot({ path: path.join(shots, "ended.png") });

    // A pytest test, started from the command palette with the cursor in it.
    await page.waitForSelector(".debug-toolbar", { state: "hidden", timeout: TIMEOUT });
    await breakpointAt(page, "test_calc.py", 7);
    await command(page, "pydbg: Debug Test at Cursor");
    await page.keyboard.press("Control+Shift+D"); // the Run and Debug view, where the stop shows
    await waitForText(page, ".debug-call-stack, .debug-pane, .pane-header", /Paused on breakpoint/i, "the test's stop");
    await waitForText(page, ".debug-call-stack", /test_double/, "the test in the Call Stack");
    await waitForText(page, ".debug-variables, .debug-view-content", /value\s*=\s*42/, "the test's Variables");
    pass("Debug Test at Cursor ran the test under pydbg and stopped in it (value = 42)");
    await page.keyboard.press("F5");
    await command(page, "Debug Console: Focus on Debug Console View");
    await waitForText(page, ".repl, .debug-console, .panel", /1 passed/, "pytest's summary");
    pass("the test ran to its end: 1 passed");
  } catch (error) {
    await page.screenshot({ path: path.join(shots, "failure.png") }).catch(() => {});
    throw error;
  } finally {
    await browser.close();
  }
  console.log(`${checks.length} checks passed`);
}

main().catch((error) => {
  console.error(`FAIL ${error.message}`);
  process.exit(1);
});
