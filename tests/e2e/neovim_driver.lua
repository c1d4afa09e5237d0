-- Drives editor-configs/neovim inside a headless Neovim for tests/e2e/test_neovim.py.
-- Loaded with --cmd, before the config, so these hooks exist when the server attaches:
--   * vim.ui.select answers "Apply" (Neovim routes window/showMessageRequest through it) and
--     records what was asked; the plugin's per-hunk review gets the answers in $LM_E2E_HUNKS
--     (comma-separated, in order) and vim.ui.input (the reason for a rejection) $LM_E2E_REASON;
--     an "Edit" gets the hunk buffer's lines replaced by $LM_E2E_EDIT, then :w;
--   * window/showMessage is recorded; the message containing $LM_E2E_DONE ends the run;
--   * once the luminamind client attaches, optionally edit the buffer without saving
--     ($LM_E2E_UNSAVED, a line put on top), then run :LuminaEdit $LM_E2E_PROMPT.
-- The outcome (buffer lines, questions, messages, error) goes to $LM_E2E_RESULT as JSON, then
-- Neovim quits without saving. A timer ends a stuck run so the test sees why, not just a hang.
local out = assert(vim.env.LM_E2E_RESULT)
local file = assert(vim.env.LM_E2E_FILE)
local result = { asked = {}, messages = {}, lines = {}, error = vim.NIL }
local finished = false

local function finish(err)
  if finished then
    return
  end
  finished = true
  result.error = err or vim.NIL
  local buf = vim.fn.bufnr(file)
  if buf > 0 then
    result.lines = vim.api.nvim_buf_get_lines(buf, 0, -1, false)
    result.modified = vim.bo[buf].modified
  end
  local f = assert(io.open(out, "w"))
  f:write(vim.json.encode(result))
  f:close()
  vim.cmd("qall!")
end

vim.defer_fn(function()
  finish("timed out waiting for: " .. vim.env.LM_E2E_DONE)
end, tonumber(vim.env.LM_E2E_TIMEOUT_MS or "45000"))

local hunk_answers = vim.split(vim.env.LM_E2E_HUNKS or "", ",", { trimempty = true })
result.hunks_asked = {}

vim.ui.input = function(opts, on_confirm)
  table.insert(result.asked, { prompt = opts.prompt, items = {} })
  on_confirm(vim.env.LM_E2E_REASON)
end

vim.ui.select = function(items, opts, on_choice)
  if opts.kind == "luminamind_hunk" then
    table.insert(result.hunks_asked, { prompt = opts.prompt, items = items })
    local answer = table.remove(hunk_answers, 1)
    for _, item in ipairs(items) do
      if item == answer then
        return on_choice(item)
      end
    end
    return on_choice(nil)
  end
  local titles = {}
  for _, item in ipairs(items) do
    table.insert(titles, item.title)
  end
  table.insert(result.asked, { prompt = opts.prompt, items = titles })
  for _, item in ipairs(items) do
    if item.title == "Apply" then
      return on_choice(item)
    end
  end
  on_choice(nil)
end

vim.api.nvim_create_autocmd("BufWinEnter", {
  pattern = "luminamind://hunk/*",
  callback = function(ev)
    vim.schedule(function()
      vim.api.nvim_buf_set_lines(ev.buf, 0, -1, false, vim.split(vim.env.LM_E2E_EDIT or "", "\n"))
      vim.api.nvim_buf_call(ev.buf, function()
        vim.cmd("write")
      end)
    end)
  end,
})

local show_message = vim.lsp.handlers["window/showMessage"]
vim.lsp.handlers["window/showMessage"] = function(err, params, ctx)
  table.insert(result.messages, params.message)
  if params.message:find(vim.env.LM_E2E_DONE, 1, true) then
    vim.schedule(finish)
  end
  return show_message(err, params, ctx)
end

vim.api.nvim_create_autocmd("LspAttach", {
  callback = function(ev)
    local client = vim.lsp.get_client_by_id(ev.data.client_id)
    if not client or client.name ~= "luminamind" then
      return
    end
    vim.schedule(function()
      local ok, err = pcall(function()
        if vim.env.LM_E2E_UNSAVED then
          vim.api.nvim_buf_set_lines(ev.buf, 0, 0, false, { vim.env.LM_E2E_UNSAVED })
        end
        vim.cmd("LuminaEdit " .. vim.env.LM_E2E_PROMPT)
      end)
      if not ok then
        finish("LuminaEdit failed: " .. tostring(err))
      end
    end)
  end,
})
