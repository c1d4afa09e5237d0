-- Hunk-by-hunk review of the agent's proposed changes (answers the server's
-- `luminamind/reviewHunks` request; Neovim 0.11+, which runs server requests in a coroutine).
--
-- Each hunk is shown as a diff in a floating window, then a choice (vim.ui.select):
--   Accept / Reject / Edit / Accept all remaining / Reject all remaining
-- Reject asks for an optional reason (the agent reads it). Edit opens the proposed lines in a
-- scratch buffer: change them and `:w` to use them (closing it without writing asks again).
-- The answer goes back to the server, which applies the kept hunks to the buffers and tells the
-- agent which hunks were applied, rejected (with the reason) or edited (with their text).
local M = {}

local ACCEPT, REJECT, EDIT = "Accept", "Reject", "Edit"
local ACCEPT_REST, REJECT_REST = "Accept all remaining", "Reject all remaining"

local function lines_of(text)
  local lines = vim.split(text, "\n", { plain = true })
  if lines[#lines] == "" then
    table.remove(lines)
  end
  return lines
end

-- Show a hunk's diff in a float; returns a function closing it.
local function show(hunk, total)
  local buf = vim.api.nvim_create_buf(false, true)
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines_of(hunk.diff))
  vim.bo[buf].filetype = "diff"
  vim.bo[buf].modifiable = false
  local width = math.min(100, math.max(40, vim.o.columns - 4))
  local height = math.min(#lines_of(hunk.diff), math.max(3, vim.o.lines - 8))
  local ok, win = pcall(vim.api.nvim_open_win, buf, false, {
    relative = "editor",
    row = 1,
    col = 2,
    width = width,
    height = height,
    style = "minimal",
    border = "rounded",
    title = string.format(" hunk %d/%d  %s ", hunk.index, total, hunk.path),
  })
  return function()
    if ok and vim.api.nvim_win_is_valid(win) then
      vim.api.nvim_win_close(win, true)
    end
    if vim.api.nvim_buf_is_valid(buf) then
      vim.api.nvim_buf_delete(buf, { force = true })
    end
  end
end

-- Wait (in the request's coroutine) for a callback-style UI function to answer.
local function await(fn)
  local co = coroutine.running()
  local answered, value = false, nil
  fn(function(result)
    answered, value = true, result
    vim.schedule(function()
      if coroutine.status(co) == "suspended" then
        coroutine.resume(co)
      end
    end)
  end)
  while not answered do
    coroutine.yield()
  end
  return value
end

-- The user's text for an edited hunk: a scratch buffer with the proposal; `:w` sends it.
local function edit_text(hunk)
  return await(function(done)
    local buf = vim.api.nvim_create_buf(false, true)
    vim.api.nvim_buf_set_name(buf, string.format("luminamind://hunk/%d", hunk.index))
    vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines_of(hunk.new))
    vim.bo[buf].buftype = "acwrite"
    local sent = false
    vim.api.nvim_create_autocmd("BufWriteCmd", {
      buffer = buf,
      callback = function()
        sent = true
        local text = table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), "\n") .. "\n"
        vim.bo[buf].modified = false
        vim.schedule(function()
          pcall(vim.api.nvim_buf_delete, buf, { force = true })
        end)
        done(text)
      end,
    })
    vim.api.nvim_create_autocmd("BufWipeout", {
      buffer = buf,
      callback = function()
        if not sent then
          done(nil)
        end
      end,
    })
    vim.cmd("split")
    vim.api.nvim_win_set_buf(0, buf)
    vim.notify(string.format("LuminaMind: edit hunk %d, then :w to use it", hunk.index))
  end)
end

local function choose(hunk, total)
  local items = { ACCEPT, REJECT }
  if hunk.editable then
    table.insert(items, EDIT)
  end
  vim.list_extend(items, { ACCEPT_REST, REJECT_REST })
  local close = show(hunk, total)
  local choice = await(function(done)
    vim.ui.select(items, {
      kind = "luminamind_hunk",
      prompt = string.format("LuminaMind: hunk %d/%d in %s %s", hunk.index, total, hunk.path, hunk.header),
    }, done)
  end)
  close()
  return choice
end

local function reason_for(hunk)
  local reason = await(function(done)
    vim.ui.input({ prompt = string.format("Why reject hunk %d? (optional) ", hunk.index) }, done)
  end)
  if reason == nil or reason == "" then
    return nil
  end
  return reason
end

--- The decisions for `params.hunks` (nil when the user dismissed the review).
function M.review(params)
  local hunks = params.hunks or {}
  if params.notice and params.notice ~= vim.NIL then
    vim.notify("LuminaMind: " .. params.notice, vim.log.levels.WARN)
  end
  local decisions, rest = {}, nil
  local i = 1
  while i <= #hunks do
    local hunk = hunks[i]
    local choice = rest or choose(hunk, #hunks)
    if choice == nil then
      return nil
    end
    if choice == ACCEPT_REST or choice == REJECT_REST then
      rest = choice
    end
    if choice == EDIT then
      local text = edit_text(hunk)
      if text ~= nil then
        table.insert(decisions, { hunk = hunk.index, action = "edit", text = text })
        i = i + 1
      end
    elseif choice == ACCEPT or choice == ACCEPT_REST then
      table.insert(decisions, { hunk = hunk.index, action = "accept" })
      i = i + 1
    else
      local reason = choice == REJECT and reason_for(hunk) or nil
      table.insert(decisions, { hunk = hunk.index, action = "reject", reason = reason })
      i = i + 1
    end
  end
  return decisions
end

--- The handler for the server's `luminamind/reviewHunks` request.
function M.handler(_, params)
  if not coroutine.isyieldable() then
    return vim.NIL -- Neovim 0.10 cannot wait here; the server then reads it as a dismissal
  end
  local ok, decisions = pcall(M.review, params)
  if not ok then
    vim.notify("LuminaMind: review failed: " .. tostring(decisions), vim.log.levels.ERROR)
    return vim.NIL
  end
  if decisions == nil then
    return vim.NIL
  end
  return { decisions = decisions }
end

return M
