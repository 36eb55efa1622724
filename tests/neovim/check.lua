-- One pydbg + nvim-dap check, chosen by $PYDBG_NVIM_CASE. Loaded by init.lua once Neovim has
-- started. Appends "PASS <case>: <what>" / "FAIL <case>: <what> (<why>)" lines to
-- $PYDBG_NVIM_RESULTS, then quits Neovim. The adapter definitions are the ones docs/neovim.md
-- gives, with absolute paths taken from $PYDBG_PYTHON.
local dap = require("dap")
local uv = vim.uv or vim.loop

local here = vim.fs.dirname(debug.getinfo(1, "S").source:sub(2))
local case = assert(os.getenv("PYDBG_NVIM_CASE"), "set PYDBG_NVIM_CASE")
local results_path = assert(os.getenv("PYDBG_NVIM_RESULTS"), "set PYDBG_NVIM_RESULTS")
local python = assert(os.getenv("PYDBG_PYTHON"), "set PYDBG_PYTHON")
local target = here .. "/target.py"
local BREAK_LINE = 8 -- `return total  # BREAK` in target.py
local TIMEOUT = 15000

local failed = false
local function emit(ok, what, why)
  local line = string.format("%s %s: %s", ok and "PASS" or "FAIL", case, what)
  if not ok then
    failed = true
    line = line .. " (" .. tostring(why) .. ")"
  end
  local f = assert(io.open(results_path, "a"))
  f:write(line, "\n")
  f:close()
end
local function check(cond, what, why)
  emit(cond and true or false, what, why)
  return cond
end

local function quit()
  vim.cmd("qa!")
end

-- Hard stop: whatever happens, Neovim leaves after 90 s.
local watchdog = uv.new_timer()
watchdog:start(90000, 0, vim.schedule_wrap(function()
  emit(false, "finished in time", "watchdog after 90 s")
  quit()
end))

local function wait(pred, ms)
  return vim.wait(ms or TIMEOUT, pred, 20)
end

local function free_port()
  local tcp = uv.new_tcp()
  tcp:bind("127.0.0.1", 0)
  local port = tcp:getsockname().port
  tcp:close()
  return port
end

local function alive(pid)
  -- kill(pid, 0): true while the process exists. A zombie counts as gone: ps says so.
  if not pid then
    return false
  end
  local out = vim.fn.system({ "ps", "-o", "stat=", "-p", tostring(pid) })
  return vim.v.shell_error == 0 and not out:match("Z")
end

local bin = vim.fs.dirname(python)

-- The adapters, as in docs/neovim.md.
local adapters = {
  -- launch (and attach with `connect`) through the stdio adapter
  console_script = { type = "executable", command = bin .. "/pydbg-adapter" },
  python_m = { type = "executable", command = python, args = { "-m", "pydbg.adapter" } },
}

-- Events the checks look at.
local ev = { stopped = {}, output = {}, exited = nil, terminated = false, initialized = 0, process = nil }
local order = {}
for _, name in ipairs({ "event_stopped", "event_output", "event_exited", "event_terminated",
  "event_initialized", "event_process", "launch", "attach", "configurationDone" }) do
  dap.listeners.after[name]["pydbg-check"] = function(_, a, b)
    table.insert(order, name)
    if name == "event_stopped" then
      table.insert(ev.stopped, a)
      ev.stopped_session = _
    elseif name == "event_output" then
      table.insert(ev.output, a)
    elseif name == "event_exited" then
      ev.exited = a
    elseif name == "event_terminated" then
      ev.terminated = true
    elseif name == "event_initialized" then
      ev.initialized = ev.initialized + 1
    elseif name == "event_process" then
      ev.process = a
    elseif name == "launch" or name == "attach" then
      ev.start_err = a
    end
  end
end

local function output_text(category)
  local parts = {}
  for _, o in ipairs(ev.output) do
    if category == nil or o.category == category then
      table.insert(parts, o.output)
    end
  end
  return table.concat(parts)
end

local function request(cmd, args, session)
  local s = session or dap.session()
  if not s then
    return nil, "no session"
  end
  local done, err, resp = false, nil, nil
  s:request(cmd, args, function(e, r)
    err, resp, done = e, r, true
  end)
  if not wait(function() return done end) then
    return nil, cmd .. " timed out"
  end
  return resp, err and tostring(err)
end

-- Wait until a stop has arrived and nvim-dap has no request in flight: it fetches the stack,
-- scopes, variables (and exceptionInfo) of every stop by itself. Resuming before that makes its
-- requests fail, as they would for a user who presses continue that fast.
local function idle()
  local s = dap.session()
  return s == nil or (next(s.message_callbacks) == nil and s.current_frame ~= nil)
end
local function wait_stopped(n)
  local ok = wait(function() return #ev.stopped >= n end)
  wait(idle, 5000)
  return ok
end

local function vars_of(frame_id)
  local scopes, err = request("scopes", { frameId = frame_id })
  if not scopes then
    return nil, err
  end
  local vars = {}
  local ref = scopes.scopes[1] and scopes.scopes[1].variablesReference
  local body, err2 = request("variables", { variablesReference = ref })
  if not body then
    return nil, err2
  end
  for _, v in ipairs(body.variables) do
    vars[v.name] = v.value
  end
  return vars, scopes.scopes[1].name
end

local function open_target_with_breakpoint(path, line)
  vim.cmd.edit(vim.fn.fnameescape(path or target))
  vim.api.nvim_win_set_cursor(0, { line or BREAK_LINE, 0 })
  dap.set_breakpoint()
  return vim.api.nvim_get_current_buf()
end

-- The part every case shares: stop at the breakpoint, read the stack and the variables,
-- evaluate, step once. Returns the stopped thread id (or nil).
local function at_breakpoint(bufnr)
  if not check(wait_stopped(1), "stopped at the breakpoint", "no stopped event; events: "
      .. table.concat(order, ",") .. (ev.start_err and ("; start error: " .. tostring(ev.start_err)) or "")) then
    return nil
  end
  local stopped = ev.stopped[1]
  check(stopped.reason == "breakpoint", "stop reason is breakpoint", vim.inspect(stopped))
  local bps = require("dap.breakpoints").get(bufnr)[bufnr] or {}
  local state = bps[1] and bps[1].state
  check(state and state.verified == true and state.line == BREAK_LINE,
    "nvim-dap shows the breakpoint as verified", vim.inspect(bps))

  local st, err = request("stackTrace", { threadId = stopped.threadId })
  if not check(st and #st.stackFrames >= 2, "stackTrace", err or vim.inspect(st)) then
    return stopped.threadId
  end
  local top, caller = st.stackFrames[1], st.stackFrames[2]
  check(top.name == "compute" and top.line == BREAK_LINE and top.source
    and top.source.path == target, "top frame is compute at target.py:" .. BREAK_LINE,
    vim.inspect(top))
  check(caller.name == "main", "second frame is main", vim.inspect(caller))

  local vars, scope_name = vars_of(top.id)
  check(vars and vars.n == "5" and vars.total == "10",
    "locals n=5 total=10 (scope " .. tostring(scope_name) .. ")", vim.inspect(vars))

  local r, e = request("evaluate", { expression = 'data["items"]', frameId = caller.id, context = "repl" })
  check(r and r.result == "[1, 2, 3]", "evaluate in the caller's frame", e or vim.inspect(r))

  -- nvim-dap's own view: its current frame and the cursor.
  wait(function()
    local s = dap.session()
    return s and s.current_frame ~= nil
  end, 3000)
  local s = dap.session()
  check(s and s.current_frame and s.current_frame.line == BREAK_LINE,
    "nvim-dap's current frame is the breakpoint line", s and vim.inspect(s.current_frame))
  check(vim.api.nvim_win_get_cursor(0)[1] == BREAK_LINE and vim.api.nvim_buf_get_name(0) == target,
    "cursor jumped to the breakpoint", vim.api.nvim_buf_get_name(0) .. ":" .. vim.api.nvim_win_get_cursor(0)[1])

  -- One step over `return total`: pydbg shows the calling line again.
  dap.step_over()
  if not check(wait_stopped(2), "stopped after step_over", table.concat(order, ",")) then
    return stopped.threadId
  end
  local st2 = request("stackTrace", { threadId = ev.stopped[2].threadId, levels = 1 })
  local f = st2 and st2.stackFrames[1]
  check(ev.stopped[2].reason == "step" and f and f.name == "main" and f.line == 13,
    "step_over lands in main line 13", vim.inspect({ ev.stopped[2], f }))

  -- One instruction step, as `.ni` in nvim-dap's REPL does: still in main, one instruction on.
  dap.step_over({ granularity = "instruction" })
  if check(wait_stopped(3), "stopped after an instruction step", table.concat(order, ",")) then
    local st3 = request("stackTrace", { threadId = ev.stopped[3].threadId, levels = 1 })
    local g = st3 and st3.stackFrames[1]
    check(ev.stopped[3].reason == "step" and g and g.name == "main" and f and f.instructionPointerReference
      and g.instructionPointerReference and g.instructionPointerReference ~= f.instructionPointerReference,
      "an instruction step moves one instruction within main", vim.inspect({ ev.stopped[3], f, g }))
  end
  return stopped.threadId
end

local function session_closed()
  return dap.session() == nil
end

local function run_to_end(expect_exit_code)
  -- nvim-dap turns on the exception filters marked default (pydbg: `uncaught`), and
  -- `sys.exit(3)` is an uncaught SystemExit with a non-zero code, so the program stops there
  -- once more, as under debugpy.
  local n = #ev.stopped
  dap.continue()
  wait(function() return ev.terminated or #ev.stopped > n end)
  if #ev.stopped > n then
    wait_stopped(n + 1)
    local stopped = ev.stopped[#ev.stopped]
    local info = request("exceptionInfo", { threadId = stopped.threadId })
    check(stopped.reason == "exception" and info and info.exceptionId:find("SystemExit", 1, true),
      "sys.exit(3) stops as an uncaught SystemExit", vim.inspect({ stopped, info }))
    dap.continue()
  end
  check(wait(function() return ev.terminated end), "terminated event after continue", table.concat(order, ","))
  if expect_exit_code ~= false then
    check(ev.exited and ev.exited.exitCode == expect_exit_code,
      "exited event with exitCode " .. tostring(expect_exit_code), vim.inspect(ev.exited))
  end
  check(wait(session_closed, 5000), "nvim-dap closed the session", "dap.session() still set")
end

-- Start `pydbg --listen PORT --wait-for-client target.py` as a job; returns port and a table
-- that gets .code when the job ends.
local function start_listener()
  local port = free_port()
  local job = { out = {} }
  job.id = vim.fn.jobstart({ python, "-m", "pydbg", "--listen", tostring(port), "--wait-for-client", target }, {
    on_exit = function(_, code) job.code = code end,
    on_stdout = function(_, data) vim.list_extend(job.out, data) end,
    on_stderr = function(_, data) vim.list_extend(job.out, data) end,
  })
  job.pid = vim.fn.jobpid(job.id)
  -- nvim-dap retries a refused connection 14 times, 250 ms apart; wait for the port anyway, so
  -- a slow start does not eat that budget.
  wait(function()
    local ok = vim.fn.system({ python, "-c",
      "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1'," .. port .. ")))" })
    return vim.v.shell_error == 0 and ok ~= nil
  end, 5000)
  return port, job
end

local cases = {}

-- :lua require("dap").restart_frame(): nvim-dap sends restartFrame for its current frame; the
-- frame starts over at its first line and nvim-dap shows the new stop (reason `restart`).
cases["restart-frame"] = function()
  dap.adapters.pydbg = adapters.console_script
  open_target_with_breakpoint()
  dap.run({ type = "pydbg", request = "launch", name = "Launch file", program = "${file}" })
  if not check(wait_stopped(1), "stopped at the breakpoint", table.concat(order, ",")) then
    return
  end
  dap.restart_frame()
  if check(wait_stopped(2), "stopped again after restart_frame", table.concat(order, ",")) then
    local st = request("stackTrace", { threadId = ev.stopped[2].threadId, levels = 1 })
    local top = st and st.stackFrames[1]
    check(ev.stopped[2].reason == "restart" and top and top.name == "compute" and top.line == 5,
      "compute restarted at its first line (5)", vim.inspect({ ev.stopped[2], top }))
  end
  -- The restarted body reaches the breakpoint again.
  dap.continue()
  check(wait_stopped(3) and ev.stopped[3].reason == "breakpoint", "the restarted body reached the breakpoint again",
    vim.inspect(ev.stopped[3]))
  run_to_end(3)
end

-- A data breakpoint through nvim-dap's Lua API, as docs/inspection.md shows it: stopped at
-- `total = 0`, watch `total` from the current frame's Locals with a condition, and continue.
cases["data-breakpoint"] = function()
  dap.adapters.pydbg = adapters.console_script
  open_target_with_breakpoint(nil, 5)
  dap.run({ type = "pydbg", request = "launch", name = "Launch file", program = "${file}" })
  if not check(wait_stopped(1), "stopped at total = 0", table.concat(order, ",")) then
    return
  end
  local session = dap.session()
  wait(function() return session.current_frame and session.current_frame.scopes end, 5000)
  local ref = session.current_frame.scopes and session.current_frame.scopes[1].variablesReference
  local info, err = request("dataBreakpointInfo", { variablesReference = ref, name = "total" })
  if not check(info and info.dataId, "dataBreakpointInfo offers total", err or vim.inspect(info)) then
    return
  end
  local placed, err2 = request("setDataBreakpoints", { breakpoints = { { dataId = info.dataId, condition = "total > 5" } } })
  check(placed and placed.breakpoints[1].verified, "setDataBreakpoints verified", err2 or vim.inspect(placed))
  dap.clear_breakpoints()
  dap.continue()
  if check(wait_stopped(2), "stopped on the data breakpoint", table.concat(order, ",")) then
    local stopped = ev.stopped[2]
    check(stopped.reason == "data breakpoint" and stopped.description == "total: 3 → 6",
      "reason data breakpoint, total: 3 → 6", vim.inspect(stopped))
    check(dap.session().current_frame and dap.session().current_frame.name == "compute",
      "nvim-dap's current frame is compute", vim.inspect(dap.session().current_frame))
  end
  request("setDataBreakpoints", { breakpoints = {} })
  run_to_end(3)
end

-- Step back, as docs/step-back.md shows it: a launch configuration with `record = true`, stopped at
-- `return total`, then require("dap").step_back() twice and reverse_continue(); continue replays
-- forward to the stop and runs on.
cases["step-back"] = function()
  dap.adapters.pydbg = adapters.console_script
  open_target_with_breakpoint()
  dap.run({ type = "pydbg", request = "launch", name = "Launch file", program = "${file}", record = true })
  if not check(wait_stopped(1), "stopped at the breakpoint", table.concat(order, ",")) then
    return
  end
  dap.step_back()
  check(wait_stopped(2), "stopped after step_back", table.concat(order, ","))
  dap.step_back()
  if check(wait_stopped(3), "stopped again after step_back", table.concat(order, ",")) then
    local stopped = ev.stopped[3]
    local st = request("stackTrace", { threadId = stopped.threadId })
    local top = st and st.stackFrames[1]
    check(stopped.reason == "step" and top and top.name == "compute [2 lines back]" and top.line == 7
      and top.presentationHint == nil, "compute [2 lines back] at line 7", vim.inspect({ stopped, top }))
    local vars = top and vars_of(top.id)
    check(vars and vars.i == "4" and vars.total == "6", "recorded locals i=4 total=6", vim.inspect(vars))
    check(dap.session().current_frame and dap.session().current_frame.line == 7,
      "nvim-dap's current frame is the past line", vim.inspect(dap.session().current_frame))
  end
  dap.reverse_continue()
  if check(wait_stopped(4), "stopped after reverse_continue", table.concat(order, ",")) then
    local st = request("stackTrace", { threadId = ev.stopped[4].threadId, levels = 1 })
    local top = st and st.stackFrames[1]
    check(top and top.name:find("^<module> %[") and top.line == 1, "the start of the history: <module> line 1",
      vim.inspect(top))
    check(wait(function() return output_text("console"):find("as far back as the history goes", 1, true) end, 5000),
      "the console says how far back the history goes", output_text("console"))
  end
  dap.clear_breakpoints()
  run_to_end(3)
end

-- nvim-dap-python's own `file` configuration, with its adapter wrapped as docs/neovim.md shows:
-- the program runs on the project's .venv (which has no pydbg), with the project's .env.
cases["dap-python"] = function()
  local dap_python = os.getenv("PYDBG_NVIM_DAP_PYTHON")
  if not check(dap_python and vim.fn.filereadable(dap_python .. "/lua/dap-python.lua") == 1,
      "nvim-dap-python is at hand", tostring(dap_python)) then
    return
  end
  vim.opt.runtimepath:prepend(dap_python)
  vim.env.VIRTUAL_ENV, vim.env.CONDA_PREFIX = nil, nil
  local project = vim.fn.tempname()
  vim.fn.mkdir(project, "p")
  local base = vim.trim(vim.fn.system({ python, "-c", "import sys; print(sys._base_executable)" }))
  vim.fn.system({ base, "-m", "venv", "--without-pip", project .. "/.venv" })
  if not check(vim.v.shell_error == 0, "made the project's own .venv", base) then
    return
  end
  vim.fn.writefile({ "GREETING=from-dotenv" }, project .. "/.env")
  vim.fn.writefile({
    "import os, sys",
    "here = 1",
    "print('exe', sys.executable)",
    "print('greeting', os.environ.get('GREETING'))",
  }, project .. "/app.py")
  vim.cmd.cd(project)

  require("dap-python").setup(python, { console = "internalConsole" })
  local debugpy_adapter = dap.adapters.python
  dap.adapters.python = function(callback, config)
    debugpy_adapter(function(adapter)
      if adapter.type == "executable" then
        adapter.command = bin .. "/pydbg-adapter"
        adapter.args = {}
      end
      callback(adapter)
    end, config)
  end
  dap.adapters.debugpy = dap.adapters.python

  vim.cmd.edit(project .. "/app.py")
  vim.api.nvim_win_set_cursor(0, { 3, 0 })
  dap.set_breakpoint()
  local file_config
  for _, config in ipairs(dap.configurations.python) do
    if config.name == "file" then file_config = config end
  end
  dap.run(file_config)
  if check(wait_stopped(1), "stopped at the breakpoint in the project's file", table.concat(order, ",")) then
    local st = request("stackTrace", { threadId = ev.stopped[1].threadId, levels = 1 })
    local top = st and st.stackFrames[1]
    check(top and top.line == 3 and top.source and top.source.path == project .. "/app.py",
      "the stop is on line 3 of app.py", vim.inspect(top))
    dap.continue()
  end
  check(wait(function() return ev.terminated end), "terminated after continue", table.concat(order, ","))
  local out = output_text("stdout")
  check(out:find("exe " .. project .. "/.venv/bin/python", 1, true),
    "the program ran on the project's .venv, found by nvim-dap-python", out)
  check(out:find("greeting from-dotenv", 1, true), "the project's .env reached the program", out)
end

-- launch through `pydbg-adapter`, output in the debug console (internalConsole).
function cases.launch()
  dap.adapters.pydbg = adapters.console_script
  local buf = open_target_with_breakpoint()
  dap.run({ type = "pydbg", request = "launch", name = "Launch file", program = "${file}" })
  at_breakpoint(buf)
  run_to_end(3)
  check(output_text("stdout"):find("result 10 2", 1, true), "program output in output events",
    vim.inspect(ev.output))
  check(ev.process and ev.process.systemProcessId and not alive(ev.process.systemProcessId),
    "program process gone", vim.inspect(ev.process))
end

-- The same through `python -m pydbg.adapter`.
cases["launch-python-m"] = function()
  dap.adapters.pydbg = adapters.python_m
  local buf = open_target_with_breakpoint()
  dap.run({ type = "pydbg", request = "launch", name = "Launch file", program = "${file}" })
  at_breakpoint(buf)
  run_to_end(3)
end

-- console = "integratedTerminal": nvim-dap answers runInTerminal with a terminal buffer.
function cases.terminal()
  dap.adapters.pydbg = adapters.console_script
  local buf = open_target_with_breakpoint()
  dap.run({ type = "pydbg", request = "launch", name = "Launch file in a terminal", program = "${file}",
    console = "integratedTerminal" })
  at_breakpoint(buf)
  local term
  for _, b in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_get_name(b):find("[dap-terminal]", 1, true) then
      term = b
    end
  end
  check(term and vim.bo[term].buftype == "terminal", "runInTerminal opened a [dap-terminal] buffer",
    "buffers: " .. vim.inspect(vim.tbl_map(vim.api.nvim_buf_get_name, vim.api.nvim_list_bufs())))
  run_to_end(3)
  if term then
    local text
    wait(function()
      text = table.concat(vim.api.nvim_buf_get_lines(term, 0, -1, false), "\n")
      return text:find("result 10 2", 1, true) ~= nil
    end, 5000)
    check(text:find("result 10 2", 1, true), "program output in the terminal buffer", text)
  end
  check(not output_text("stdout"):find("result 10 2", 1, true),
    "program output not also in the debug console", vim.inspect(ev.output))
end

-- attach: a `server` adapter straight to `pydbg --listen PORT`.
cases["attach-server"] = function()
  local port, job = start_listener()
  dap.adapters.pydbg_server = { type = "server", host = "127.0.0.1", port = port }
  local buf = open_target_with_breakpoint()
  dap.run({ type = "pydbg_server", request = "attach", name = "Attach to pydbg --listen" })
  at_breakpoint(buf)
  run_to_end(3)
  check(wait(function() return job.code ~= nil end, 5000) and job.code == 3,
    "pydbg exits with the program's code 3", tostring(job.code) .. " " .. table.concat(job.out, "\n"))
end

-- attach through the stdio adapter with `connect = { host, port }`.
cases["attach-connect"] = function()
  local port, job = start_listener()
  dap.adapters.pydbg = adapters.console_script
  local buf = open_target_with_breakpoint()
  dap.run({ type = "pydbg", request = "attach", name = "Attach through pydbg-adapter",
    connect = { host = "127.0.0.1", port = port } })
  at_breakpoint(buf)
  run_to_end(3)
  check(wait(function() return job.code ~= nil end, 5000) and job.code == 3,
    "pydbg exits with the program's code 3", tostring(job.code) .. " " .. table.concat(job.out, "\n"))
end

-- attach by process id, with nvim-dap's own picker (`processId = require("dap.utils").pick_process`,
-- as docs/neovim.md shows), to target.py run by plain python: pydbg-adapter injects pydbg. The
-- program waits until pydbg is in it and configured, so that the breakpoint is set in time.
cases["attach-pid"] = function()
  local wait_then_run = table.concat({
    "import runpy, sys, time",
    "while not (sys.modules.get('pydbg') and sys.modules['pydbg'].is_client_connected()):",
    "    time.sleep(0.02)",
    "sys.modules['pydbg'].wait_for_client()",
    "runpy.run_path(sys.argv[1], run_name='__main__')",
  }, "\n")
  local job = { out = {} }
  job.id = vim.fn.jobstart({ python, "-c", wait_then_run, target }, {
    on_exit = function(_, code) job.code = code end,
    on_stdout = function(_, data) vim.list_extend(job.out, data) end,
  })
  job.pid = vim.fn.jobpid(job.id)
  -- The user picks the program's line in the list pick_process shows.
  local offered = {}
  vim.ui.select = function(items, _, on_choice)
    offered = items
    for index, item in ipairs(items) do
      if item.pid == job.pid then
        return on_choice(item, index)
      end
    end
    on_choice(nil, nil)
  end
  dap.adapters.pydbg = adapters.console_script
  local buf = open_target_with_breakpoint()
  dap.run({ type = "pydbg", request = "attach", name = "Attach to a process",
    processId = require("dap.utils").pick_process })
  wait(function() return #offered > 0 end, 5000)
  check(vim.iter(offered):any(function(item) return item.pid == job.pid end),
    "pick_process offered the program's process", vim.inspect(offered))
  at_breakpoint(buf)
  check(ev.process and ev.process.systemProcessId == job.pid, "the process event names the picked process",
    vim.inspect(ev.process))
  -- The exit code an attach can see is whether an exception ended the program; the job's is real.
  run_to_end(false)
  check(wait(function() return job.code ~= nil end, 5000) and job.code == 3,
    "the program ran on to its own exit (3)", tostring(job.code) .. " " .. table.concat(job.out, "\n"))
end

-- :DapTerminate during a launch, stopped at a breakpoint inside `try`: the program ends, and
-- its `finally` block (which takes 0.5 s) runs. nvim-dap closes the session as soon as
-- `terminate` is answered, closing the adapter's stdin and sending it SIGINT.
cases["launch-terminate"] = function()
  dap.adapters.pydbg = adapters.console_script
  local marker = vim.fn.tempname()
  open_target_with_breakpoint(here .. "/cleanup.py", 7)
  dap.run({ type = "pydbg", request = "launch", name = "Launch cleanup.py", program = "${file}",
    args = { marker } })
  if not check(wait_stopped(1), "stopped at the breakpoint", table.concat(order, ",")) then
    return
  end
  local pid = ev.process and ev.process.systemProcessId
  check(pid and alive(pid), "process event names the running program", vim.inspect(ev.process))
  local done = false
  dap.terminate({ on_done = function() done = true end })
  check(wait(function() return done end), "terminate answered", table.concat(order, ","))
  check(wait(session_closed, 5000), "nvim-dap closed the session", "dap.session() still set")
  check(wait(function() return not alive(pid) end, 10000), "program process gone after terminate",
    "pid " .. tostring(pid) .. " still running")
  check(vim.fn.filereadable(marker) == 1, "the program's finally block ran", "no " .. marker)
end

-- :DapTerminate during a launch of a program that started a child process: the adapter kills
-- what is left of the program's process group (docs/launch.md, "The program's end").
cases["launch-terminate-child"] = function()
  dap.adapters.pydbg = adapters.console_script
  open_target_with_breakpoint(here .. "/child.py", 8)
  dap.run({ type = "pydbg", request = "launch", name = "Launch child.py", program = "${file}" })
  if not check(wait_stopped(1), "stopped at the breakpoint", table.concat(order, ",")) then
    return
  end
  local pid = ev.process and ev.process.systemProcessId
  local child = tonumber(output_text("stdout"):match("child (%d+)\n"))
  check(child and alive(child), "the program's child runs", output_text())
  dap.terminate()
  check(wait(session_closed, 5000), "nvim-dap closed the session", "dap.session() still set")
  check(wait(function() return not alive(pid) end, 10000), "program process gone after terminate",
    "pid " .. tostring(pid) .. " still running")
  local child_gone = wait(function() return not alive(child) end, 10000)
  check(child_gone, "the program's child is gone after terminate", "child " .. tostring(child) .. " still running")
  if not child_gone and child then
    uv.kill(child, "sigkill")
  end
end

-- :DapDisconnect during a launch (nvim-dap sends terminateDebuggee = false): the program runs on
-- to its end, printing as it goes, although nvim-dap closes the adapter's stdin and sends it SIGINT.
cases["launch-disconnect"] = function()
  dap.adapters.pydbg = adapters.console_script
  local marker = here .. "/.ticker-done-" .. tostring(uv.os_getpid())
  os.remove(marker)
  open_target_with_breakpoint(here .. "/ticker.py", 6)
  dap.run({ type = "pydbg", request = "launch", name = "Launch ticker.py", program = "${file}",
    args = { marker } })
  if not check(wait_stopped(1), "stopped at the breakpoint", table.concat(order, ",")) then
    return
  end
  local pid = ev.process and ev.process.systemProcessId
  vim.cmd("DapDisconnect")
  check(wait(session_closed, 5000), "nvim-dap closed the session", "dap.session() still set")
  local finished = wait(function() return vim.fn.filereadable(marker) == 1 end, 10000)
  check(finished, "the program ran on to its end", "no marker; program "
    .. (alive(pid) and "still running" or "gone"))
  os.remove(marker)
end

-- A child process (subProcess): pydbg-adapter sends `startDebugging`, nvim-dap starts a child
-- session with the same adapter (`dap.adapters[configuration.type]`), and a breakpoint in the
-- child stops there.
cases["subprocess"] = function()
  dap.adapters.pydbg = adapters.console_script
  open_target_with_breakpoint(here .. "/kid.py", 3)
  dap.run({ type = "pydbg", request = "launch", name = "Launch parent.py", program = here .. "/parent.py" })
  if not check(wait_stopped(1), "stopped in the child", table.concat(order, ",")) then
    return
  end
  local s = ev.stopped_session
  check(s and s.parent ~= nil, "the stop is in a child session of nvim-dap", s and s.config and s.config.name)
  local st = request("stackTrace", { threadId = ev.stopped[1].threadId }, s)
  local top = st and st.stackFrames[1]
  check(top and top.name == "work" and top.line == 3, "top frame is work at kid.py:3", vim.inspect(top))
  local vars = top and vars_of(top.id) -- through dap.session(): nvim-dap focuses the stopped one
  check(vars and vars.value == "42", "locals of the child", vim.inspect(vars))
  dap.continue()
  local done = wait(function()
    return output_text("stdout"):find("kid exited 0", 1, true) ~= nil
  end)
  check(done, "the child ran on, and the parent saw it exit 0", output_text())
  check(wait(function() return ev.terminated end), "terminated", table.concat(order, ","))
  wait(function() return next(dap.sessions()) == nil end, 5000)
  check(next(dap.sessions()) == nil, "every session closed", vim.inspect(vim.tbl_keys(dap.sessions())))
end

-- :DapDisconnect from a `server` attach: the program runs on, breakpoints removed, and exits.
cases["attach-server-disconnect"] = function()
  local port, job = start_listener()
  dap.adapters.pydbg_server = { type = "server", host = "127.0.0.1", port = port }
  local buf = open_target_with_breakpoint()
  dap.run({ type = "pydbg_server", request = "attach", name = "Attach to pydbg --listen" })
  if not check(wait_stopped(1), "stopped at the breakpoint", table.concat(order, ",")) then
    return
  end
  local done = false
  dap.disconnect({ terminateDebuggee = false }, function() done = true end)
  check(wait(function() return done end), "disconnect answered", table.concat(order, ","))
  check(wait(function() return job.code ~= nil end, 10000) and job.code == 3,
    "program ran on and pydbg exited with 3", tostring(job.code) .. " " .. table.concat(job.out, "\n"))
end

-- :DapTerminate from a `server` attach (nvim-dap sends `terminate`): the program ends.
cases["attach-server-terminate"] = function()
  local port, job = start_listener()
  dap.adapters.pydbg_server = { type = "server", host = "127.0.0.1", port = port }
  local buf = open_target_with_breakpoint()
  dap.run({ type = "pydbg_server", request = "attach", name = "Attach to pydbg --listen" })
  if not check(wait_stopped(1), "stopped at the breakpoint", table.concat(order, ",")) then
    return
  end
  local done = false
  dap.terminate({ on_done = function() done = true end })
  check(wait(function() return done end), "terminate answered", table.concat(order, ","))
  check(wait(function() return job.code ~= nil end, 10000), "pydbg ended after terminate",
    "still running: " .. table.concat(job.out, "\n"))
  check(job.code == 130, "pydbg exit code 130 (as Ctrl-C)", tostring(job.code))
end

local ok, err = xpcall(function()
  local fn = cases[case]
  if not fn then
    emit(false, "known case", "no case " .. case .. "; cases: " .. table.concat(vim.tbl_keys(cases), " "))
    return
  end
  fn()
end, debug.traceback)
if not ok then
  emit(false, "ran without a Lua error", err)
end
-- Let nvim-dap stop its adapter before leaving (it sends SIGINT after closing stdin).
if dap.session() then
  dap.terminate()
  wait(session_closed, 5000)
end
quit()
