// Drives a real VS Code (code-server) in headless Chromium through debugging sessions with the
// pydbg extension, asserting on what the page shows. One workspace a case:
//   everyday:       F9, F5 on a launch.json entry, the stop, Variables, a step, the Debug Console,
//                   then "pydbg: Debug Test at Cursor" in a pytest test;
//   no launch.json: F5 debugs the active file;
//   not installed:  the error names the fix, and its "Copy command" button copies it;
//   attach:         the shipped attach snippet reaches a `pydbg --listen --wait-for-client`;
//   attach process: the "attach to a process" snippet, its process picked in the quick pick, to
//                   a program run by plain python (pid PLAIN_PID);
//   data breakpoint: "Break on Value Change" on a local in the Variables view, then its stops;
//                   then on a list's item, in the same workspace.
//   step back:      a launch.json entry with `record`, then the toolbar's Step Back (twice) and
//                   Reverse Continue, and Continue back to the present and on.
//   node drive.cjs BASE_URL SHOTS_DIR EVERYDAY NO_LAUNCH_JSON NOT_INSTALLED ATTACH ATTACH_PROCESS PLAIN_PID \
//                  DATA_BREAKPOINT STEP_BACK
// scripts/test-vscode makes the workspaces, starts code-server and runs this (with
// playwright-core on NODE_PATH).
const { chromium } = require("playwright-core");
const path = require("path");

const [baseUrl, shots, everyday, noLaunchJson, notInstalled, attach, attachProcess, plainPid, dataBreakpoint, stepBack] =
  process.argv.slice(2);
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

const STOP = /Paused on breakpoint/i;
const CALL_STACK = ".debug-call-stack, .debug-pane, .pane-header";
const VARIABLES = ".debug-variables, .debug-view-content";
const CONSOLE = ".repl, .debug-console, .panel";

/** Opens one workspace folder in a fresh tab and waits for the workbench. */
async function openWorkspace(context, folder) {
  const page = await context.newPage();
  await page.bringToFront(); // the clipboard works only in the focused page
  await page.goto(`${baseUrl}/?folder=${encodeURIComponent(folder)}`, { timeout: TIMEOUT });
  await page.waitForSelector(".monaco-workbench", { timeout: TIMEOUT });
  return page;
}

/** app.py's stop on line 4, in add(2, 3): the Call Stack and the Variables view. */
async function stoppedInAdd(page, pass, how) {
  await waitForText(page, CALL_STACK, STOP, `the stop (${how})`);
  await waitForText(page, ".debug-call-stack", /add[\s\S]*<module>/, `the whole stack (${how})`);
  const variables = await waitForText(page, VARIABLES, /a\s*=\s*2/, `Variables view (${how})`);
  if (!/b\s*=\s*3/.test(variables)) fail(`the Variables view shows a = 2 but not b = 3:\n${variables}`);
  pass(`${how}: stopped in add, Call Stack add then <module>, Variables a = 2 and b = 3`);
}

/** F5 in a workspace with no launch.json: the extension's own configuration debugs the file. */
async function f5WithoutLaunchJson(page) {
  await page.keyboard.press("F5");
  // VS Code asks which debugger only when more than one could debug Python.
  const picker = page.locator(".quick-input-widget");
  if (await picker.isVisible().catch(() => false)) {
    await page.keyboard.type("pydbg");
    await page.keyboard.press("Enter");
  }
}

async function continueToEnd(page) {
  await page.keyboard.press("F5");
  await page.waitForSelector(".debug-toolbar", { state: "hidden", timeout: TIMEOUT });
}

async function everydayCase(context, pass) {
  const page = await openWorkspace(context, everyday);
  pass("the workbench loaded");
  // Open app.py from the Explorer and put a breakpoint on line 4 (`total = a + b`) with F9,
  // as a user does.
  await breakpointAt(page, "app.py", 4);
  pass("F9 set a breakpoint in a .py file (contributes.breakpoints)");

  await page.keyboard.press("F5");
  await stoppedInAdd(page, pass, "F5 on a launch.json entry");
  await page.screenshot({ path: path.join(shots, "stopped-with-variables.png") });

  await page.keyboard.press("F10");
  await waitForText(page, VARIABLES, /total\s*=\s*5/, "after one step");
  pass("one step over: total = 5 appears in Variables");

  await page.keyboard.press("F5");
  await command(page, "Debug Console: Focus on Debug Console View");
  await waitForText(page, CONSOLE, /the sum is 5/, "program output");
  pass("continue ran the program to its end; its output is in the Debug Console");
  await page.screenshot({ path: path.join(shots, "ended.png") });

  // A pytest test, started from the command palette with the cursor in it.
  await page.waitForSelector(".debug-toolbar", { state: "hidden", timeout: TIMEOUT });
  await breakpointAt(page, "test_calc.py", 7);
  await command(page, "pydbg: Debug Test at Cursor");
  await page.keyboard.press("Control+Shift+D"); // the Run and Debug view, where the stop shows
  await waitForText(page, CALL_STACK, STOP, "the test's stop");
  await waitForText(page, ".debug-call-stack", /test_double/, "the test in the Call Stack");
  await waitForText(page, VARIABLES, /value\s*=\s*42/, "the test's Variables");
  pass("Debug Test at Cursor ran the test under pydbg and stopped in it (value = 42)");
  await page.keyboard.press("F5");
  await command(page, "Debug Console: Focus on Debug Console View");
  await waitForText(page, CONSOLE, /1 passed/, "pytest's summary");
  pass("the test ran to its end: 1 passed");
  await page.close();
}

async function noLaunchJsonCase(context, pass) {
  const page = await openWorkspace(context, noLaunchJson);
  await breakpointAt(page, "app.py", 4);
  await f5WithoutLaunchJson(page);
  await stoppedInAdd(page, pass, "F5 with no launch.json");
  await page.screenshot({ path: path.join(shots, "no-launch-json.png") });
  await continueToEnd(page);
  pass("F5 with no launch.json: the program ran to its end");
  await page.close();
}

async function notInstalledCase(context, pass) {
  const page = await openWorkspace(context, notInstalled);
  await breakpointAt(page, "app.py", 4);
  await page.keyboard.press("F5");
  const toasts = ".notifications-toasts";
  const message = await waitForText(page, toasts, /pydbg is not installed in/, "the not-installed error");
  if (!/bare-venv\/bin\/python \(from the pydbg\.python setting\)/.test(message)) {
    fail(`the error does not name the interpreter and where it came from:\n${message}`);
  }
  if (!/-m pip install/.test(message)) fail(`the error does not give the install command:\n${message}`);
  pass("F5 with an interpreter without pydbg: the error names it, its source and the install command");
  await page.screenshot({ path: path.join(shots, "not-installed.png") });
  await page.locator(toasts).getByRole("button", { name: "Copy command" }).click({ timeout: TIMEOUT });
  // The extension host writes the clipboard asynchronously, after the click.
  let copied = "";
  for (const deadline = Date.now() + TIMEOUT; !copied && Date.now() < deadline; ) {
    await page.waitForTimeout(200);
    copied = await page.evaluate(() => globalThis.navigator.clipboard.readText());
  }
  if (!/bare-venv\/bin\/python -m pip install \S+/.test(copied)) {
    fail(`"Copy command" copied ${JSON.stringify(copied)}, not the install command`);
  }
  pass(`"Copy command" put the install command on the clipboard: ${copied}`);
  if (await page.locator(".debug-toolbar").isVisible()) fail("a debug session started without pydbg");
  pass("no debug session was left behind");
  await page.close();
}

async function attachCase(context, pass) {
  const page = await openWorkspace(context, attach);
  await breakpointAt(page, "app.py", 4);
  await page.keyboard.press("F5");
  await stoppedInAdd(page, pass, "the shipped attach snippet, to pydbg --listen --wait-for-client");
  await page.screenshot({ path: path.join(shots, "attached.png") });
  await continueToEnd(page);
  pass("attach: continue, and the session ended with the program");
  await page.close();
}

async function attachProcessCase(context, pass) {
  const page = await openWorkspace(context, attachProcess);
  await breakpointAt(page, "app.py", 4);
  await page.keyboard.press("F5");
  await waitForText(page, ".quick-input-widget", new RegExp(`\\b${plainPid}\\b`), "the process picker");
  await page.screenshot({ path: path.join(shots, "process-picker.png") });
  pass(`\${command:pickProcess} lists the plain Python program (pid ${plainPid})`);
  await page.keyboard.type(plainPid);
  await page.waitForTimeout(300);
  await page.keyboard.press("Enter");
  await stoppedInAdd(page, pass, "attach by process id, picked in the list");
  await continueToEnd(page);
  pass("attach by process id: continue, and the session ended with the program");
  await page.close();
}

/** The user's way: right-click a row of VARIABLES, then the menu's "Break on Value Change"; the
 * data breakpoint must show in BREAKPOINTS as `listed`. */
async function breakOnValueChange(page, row, listed) {
  await row.waitFor({ timeout: TIMEOUT });
  await row.click({ button: "right" });
  await page.getByRole("menuitem", { name: "Break on Value Change" }).hover({ timeout: TIMEOUT });
  await page.keyboard.press("Enter");
  await waitForText(page, ".debug-breakpoints", listed, "the data breakpoint in BREAKPOINTS");
}

async function dataBreakpointCase(context, pass) {
  const page = await openWorkspace(context, dataBreakpoint);
  await breakpointAt(page, "count.py", 3);
  await f5WithoutLaunchJson(page);
  await waitForText(page, CALL_STACK, STOP, "the stop before the loop (line 3, run once)");
  await waitForText(page, VARIABLES, /total\s*=\s*0/, "total = 0 in Variables");
  await breakOnValueChange(page, page.locator(".debug-variables .monaco-list-row", { hasText: "total" }).first(),
    /`total` changes/);
  pass("Break on Value Change on total: VS Code lists the data breakpoint");
  await page.keyboard.press("F5");
  // i = 0 leaves total at 0: the first change is 0 -> 1.
  await waitForText(page, CALL_STACK, /total: 0 → 1/, "the data breakpoint's stop");
  await waitForText(page, VARIABLES, /total\s*=\s*1/, "total = 1 in Variables");
  // The write is on line 5, the loop's last; the line after it is the loop's own, line 4.
  await waitForText(page, ".debug-call-stack", /count\s*count\.py\s*4:1/, "the stop on the line after the write");
  await page.screenshot({ path: path.join(shots, "data-breakpoint.png") });
  pass("F5: stopped on the line after the write (4), total: 0 → 1 in the Call Stack, total = 1 in Variables");
  await page.keyboard.press("F5");
  await waitForText(page, CALL_STACK, /total: 1 → 3/, "the next change");
  pass("F5 again: total: 1 → 3");
  await page.keyboard.press("F5");
  await waitForText(page, CALL_STACK, /total: 3 → 6/, "the last change");
  await continueToEnd(page);
  pass("the watch ended with count's call, and the program ran to its end");
  await page.close();
}

async function listItemDataBreakpointCase(context, pass) {
  const page = await openWorkspace(context, dataBreakpoint);
  await breakpointAt(page, "tally.py", 3);
  await f5WithoutLaunchJson(page);
  await waitForText(page, CALL_STACK, STOP, "the stop before tally's loop (line 3)");
  // Expand `seen`, then right-click its item 1 (VS Code labels a row "NAME, value VALUE").
  await page.locator(".debug-variables .monaco-list-row", { hasText: "seen" }).first().click();
  await breakOnValueChange(page, page.locator('.debug-variables .monaco-list-row[aria-label="1, value 0"]'),
    /`seen\[1\]` changes/);
  pass("Break on Value Change on item 1 of the list seen: VS Code lists the data breakpoint");
  await page.keyboard.press("F5");
  // 2 counts in seen[0]; 3 is the first odd value.
  await waitForText(page, CALL_STACK, /seen\[1\]: 0 → 1/, "the list item's first change");
  await waitForText(page, ".debug-call-stack", /tally\s*tally\.py\s*4:1/, "the stop on the line after the write");
  pass("F5: stopped on the line after the item's write (4), seen[1]: 0 → 1 in the Call Stack");
  await page.keyboard.press("F5");
  await waitForText(page, CALL_STACK, /seen\[1\]: 1 → 2/, "the list item's next change");
  await continueToEnd(page);
  pass("F5 again: seen[1]: 1 → 2, and the program ran to its end");
  await page.close();
}

/** Clicks a button of the debug toolbar, by its icon. */
async function toolbarButton(page, icon) {
  await page.locator(`.debug-toolbar .codicon-${icon}`).click({ timeout: TIMEOUT });
}

async function stepBackCase(context, pass) {
  const page = await openWorkspace(context, stepBack);
  await breakpointAt(page, "walk.py", 5);
  await page.keyboard.press("F5");
  await waitForText(page, CALL_STACK, STOP, "the stop at walk's return (line 5)");
  await waitForText(page, VARIABLES, /total\s*=\s*6/, "total = 6 in Variables");
  await page.locator(".debug-toolbar .codicon-debug-step-back").waitFor({ timeout: TIMEOUT });
  pass("record in launch.json: VS Code shows Step Back and Reverse Continue in the debug toolbar");
  await toolbarButton(page, "debug-step-back");
  await waitForText(page, ".debug-call-stack", /walk \[1 line back\]\s*walk\.py\s*3:1/, "one line back: the loop's test");
  await toolbarButton(page, "debug-step-back");
  await waitForText(page, ".debug-call-stack", /walk \[2 lines back\]\s*walk\.py\s*4:1/, "two lines back: the last addition");
  await waitForText(page, VARIABLES, /total\s*=\s*3/, "total = 3 in Variables, before the last addition");
  await waitForText(page, VARIABLES, /i\s*=\s*3/, "i = 3 in Variables");
  await page.screenshot({ path: path.join(shots, "step-back.png") });
  // The frames of the past are shown, not folded away behind "Show More Stack Frames".
  if (!(await page.locator(".debug-call-stack .monaco-list-row", { hasText: "walk [2 lines back]" }).isVisible())) {
    fail("the Call Stack does not show walk [2 lines back] as a row");
  }
  pass("Step Back twice: walk [2 lines back] on line 4 in the Call Stack, total = 3 and i = 3 in Variables");
  await toolbarButton(page, "debug-reverse-continue");
  await waitForText(page, ".debug-call-stack", /<module> \[\d+ lines back\]\s*walk\.py\s*1:1/, "the start of the history");
  await command(page, "Debug Console: Focus on Debug Console View");
  await waitForText(page, CONSOLE, /as far back as the history goes/, "how far back the history goes");
  pass("Reverse Continue: the start of the recording, and the Debug Console says how far back it goes");
  // No recorded breakpoint hit lies before the stop: Continue replays to it and runs on live.
  await continueToEnd(page);
  await waitForText(page, CONSOLE, /walked 6/, "the program's output");
  pass("Continue from the past: back to the stop, then live to the end (walked 6)");
  await page.close();
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
  const context = await browser.newContext({
    viewport: { width: 1600, height: 1000 },
    permissions: ["clipboard-read", "clipboard-write"],
  });
  const checks = [];
  function pass(what) {
    checks.push(what);
    console.log(`PASS ${what}`);
  }
  try {
    await everydayCase(context, pass);
    await noLaunchJsonCase(context, pass);
    await notInstalledCase(context, pass);
    await attachCase(context, pass);
    await attachProcessCase(context, pass);
    await dataBreakpointCase(context, pass);
    await listItemDataBreakpointCase(context, pass);
    await stepBackCase(context, pass);
  } catch (error) {
    for (const page of context.pages()) {
      await page.screenshot({ path: path.join(shots, "failure.png") }).catch(() => {});
    }
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
