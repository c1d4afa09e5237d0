-- LuminaMind for Neovim (0.10+): starts `luminamind lsp` for every buffer and adds user commands
-- that send `workspace/executeCommand` requests. Proposed edits arrive as `workspace/applyEdit`;
-- Neovim has no refactor preview, so the server first asks with `window/showMessageRequest`
-- (Apply / Reject / Show diff), which Neovim shows as a choice list (vim.ui.select). A change of
-- several hunks is reviewed hunk by hunk on 0.11+ (lua/luminamind/review.lua: accept / reject /
-- edit each, or all the remaining ones); the server applies the kept hunks to the buffers.
-- tests/e2e/test_neovim.py runs this file in headless Neovim 0.11 against the real server.
local M = {}

M.config = {
  cmd = { "luminamind", "lsp" },
  thread_id = nil, -- nil: one thread per workspace folder (the server's default)
  root_markers = { ".git", "pyproject.toml", "package.json", ".luminamind.toml" },
}

local function client()
  return vim.lsp.get_clients({ name = "luminamind", bufnr = 0 })[1]
    or vim.lsp.get_clients({ name = "luminamind" })[1]
end

local function selection_range(opts)
  if opts and opts.range and opts.range > 0 then
    local first, last = opts.line1 - 1, opts.line2 - 1
    local last_line = vim.api.nvim_buf_get_lines(0, last, last + 1, false)[1] or ""
    return { start = { line = first, character = 0 }, ["end"] = { line = last, character = #last_line } }
  end
  return nil
end

local function argument(prompt, opts)
  return {
    prompt = prompt,
    uri = vim.uri_from_bufnr(0),
    range = selection_range(opts),
    threadId = M.config.thread_id,
  }
end

--- Send one LuminaMind command; `on_result(err, result)` is optional.
function M.execute(command, arg, on_result)
  local c = client()
  if not c then
    vim.notify("LuminaMind: language server not running", vim.log.levels.ERROR)
    return
  end
  -- The real buffer number, not 0: Neovim flushes a buffer's pending (debounced) didChange
  -- before a request only when given its number, and the server must see unsaved edits.
  local bufnr = vim.api.nvim_get_current_buf()
  local params = { command = command, arguments = { arg } }
  local function handler(err, result)
    if on_result then
      on_result(err, result)
    elseif err then
      vim.notify("LuminaMind: " .. (err.message or vim.inspect(err)), vim.log.levels.ERROR)
    end
  end
  if vim.fn.has("nvim-0.11") == 1 then
    c:request("workspace/executeCommand", params, handler, bufnr)
  else -- 0.10: request is a plain function field, not a method
    c.request("workspace/executeCommand", params, handler, bufnr)
  end
end

local function with_prompt(command, question)
  return function(opts)
    local text = opts.args ~= "" and opts.args or nil
    local function go(prompt)
      if prompt and prompt ~= "" then
        M.execute(command, argument(prompt, opts))
      end
    end
    if text then
      go(text)
    else
      vim.ui.input({ prompt = question }, go)
    end
  end
end

function M.setup(opts)
  M.config = vim.tbl_deep_extend("force", M.config, opts or {})
  vim.api.nvim_create_autocmd("FileType", {
    group = vim.api.nvim_create_augroup("luminamind", { clear = true }),
    callback = function(ev)
      if vim.bo[ev.buf].buftype ~= "" then
        return
      end
      local capabilities = vim.lsp.protocol.make_client_capabilities()
      if vim.fn.has("nvim-0.11") == 1 then -- server requests run in a coroutine that can wait
        capabilities.experimental = { luminamind = { hunkReview = true } }
      end
      vim.lsp.start({
        name = "luminamind",
        cmd = M.config.cmd,
        root_dir = vim.fs.root(ev.buf, M.config.root_markers) or vim.fn.getcwd(),
        capabilities = capabilities,
        handlers = { ["luminamind/reviewHunks"] = require("luminamind.review").handler },
      }, { bufnr = ev.buf })
    end,
  })
  local cmd = vim.api.nvim_create_user_command
  cmd("LuminaAsk", with_prompt("luminamind.ask", "Ask LuminaMind: "), { nargs = "*", range = true })
  cmd("LuminaEdit", with_prompt("luminamind.edit", "Edit instruction: "), { nargs = "*", range = true })
  cmd("LuminaTask", with_prompt("luminamind.runTask", "Task: "), { nargs = "*" })
  cmd("LuminaExplain", function(o)
    M.execute("luminamind.explain", argument("", o))
  end, { range = true })
  cmd("LuminaThreads", function()
    M.execute("luminamind.threads", {}, function(err, result)
      if err then
        vim.notify("LuminaMind: " .. err.message, vim.log.levels.ERROR)
      else
        vim.notify(vim.inspect(result))
      end
    end)
  end, {})
  for name, command in pairs({ LuminaApprove = "luminamind.approve", LuminaCancel = "luminamind.cancel" }) do
    cmd(name, function(o)
      M.execute(command, { threadId = o.args ~= "" and o.args or M.config.thread_id })
    end, { nargs = "?" })
  end
  cmd("LuminaReject", function(o)
    M.execute("luminamind.reject", { threadId = M.config.thread_id, prompt = o.args })
  end, { nargs = "*" })
end

return M
