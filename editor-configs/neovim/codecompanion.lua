-- CodeCompanion (olimorris/codecompanion.nvim) with LuminaMind as an ACP agent.
-- Paste into your CodeCompanion setup (or require this file from it). The agent is started as
-- `luminamind acp` in Neovim's working directory, which becomes the workspace.
-- CodeCompanion shows each change as a diff to approve and writes through the buffer.
-- "opencode" is extended because, like LuminaMind, it needs no ACP authentication; only the
-- command, the names and the MCP servers differ.
require("codecompanion").setup({
  adapters = {
    acp = {
      luminamind = function()
        return require("codecompanion.adapters").extend("opencode", {
          name = "luminamind",
          formatted_name = "LuminaMind",
          commands = {
            default = { "luminamind", "acp" }, -- or the absolute path to the executable
          },
          defaults = {
            mcpServers = {},
          },
        })
      end,
    },
  },
  interactions = {
    chat = { adapter = "luminamind" },
  },
})
