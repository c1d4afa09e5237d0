-- avante.nvim (yetone/avante.nvim) with LuminaMind as an ACP agent. Merge into your avante
-- options (lazy.nvim: the `opts` table). The agent runs as `luminamind acp`; Neovim's working
-- directory is the workspace.
require("avante").setup({
  provider = "luminamind",
  acp_providers = {
    ["luminamind"] = {
      command = "luminamind", -- or the absolute path to the executable
      args = { "acp" },
      env = {
        -- Model settings may go here (or in ~/.config/luminamind/config.toml):
        -- LUMINAMIND_MODEL = "openai:gpt-4.1", OPENAI_API_KEY = os.getenv("OPENAI_API_KEY"),
      },
    },
  },
})
