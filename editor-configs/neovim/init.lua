-- Minimal Neovim config using LuminaMind: `nvim -u editor-configs/neovim/init.lua`.
-- In your own config, add this folder to 'runtimepath' and call require("luminamind").setup().
local here = vim.fs.dirname(debug.getinfo(1, "S").source:sub(2))
vim.opt.runtimepath:prepend(here)
require("luminamind").setup({
  cmd = { vim.env.LUMINAMIND_BIN or "luminamind", "lsp" },
})
