-- Minimal init for checking pydbg with nvim-dap in a headless Neovim.
--   PYDBG_NVIM_DAP=/path/to/nvim-dap PYDBG_PYTHON=/path/to/python PYDBG_NVIM_CASE=launch \
--   PYDBG_NVIM_RESULTS=/tmp/results.txt nvim --headless --clean -u tests/neovim/init.lua
-- scripts/try-neovim runs every case this way.
local here = vim.fs.dirname(debug.getinfo(1, "S").source:sub(2))
local nvim_dap = assert(os.getenv("PYDBG_NVIM_DAP"), "set PYDBG_NVIM_DAP to an nvim-dap checkout")

vim.opt.runtimepath:prepend(nvim_dap)
vim.opt.runtimepath:prepend(here)
vim.o.swapfile = false
vim.o.shadafile = "NONE"
vim.o.lines = 40
vim.o.columns = 120

require("dap").set_log_level(os.getenv("PYDBG_NVIM_LOG_LEVEL") or "TRACE")

vim.api.nvim_create_autocmd("VimEnter", {
  once = true,
  callback = function()
    vim.schedule(function()
      local ok, err = pcall(dofile, here .. "/check.lua")
      if not ok then
        local f = io.open(os.getenv("PYDBG_NVIM_RESULTS") or "/dev/stderr", "a")
        f:write(string.format("FAIL %s: check.lua loads (%s)\n", os.getenv("PYDBG_NVIM_CASE"), err))
        f:close()
        vim.cmd("qa!")
      end
    end)
  end,
})
