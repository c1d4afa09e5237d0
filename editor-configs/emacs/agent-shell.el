;;; agent-shell.el --- LuminaMind as an agent-shell (xenodium/agent-shell) ACP agent  -*- lexical-binding: t; -*-

;; Paste into your init file after agent-shell is loaded.  `M-x luminamind-agent-shell' opens
;; a LuminaMind shell in the current project (the workspace); the agent runs as `luminamind acp'.
;; Model settings come from ~/.config/luminamind/config.toml or `luminamind-agent-shell-environment'.

(require 'agent-shell)

(defvar luminamind-agent-shell-command '("luminamind" "acp")
  "Command and arguments that start LuminaMind's ACP agent (absolute path if not on PATH).")

(defvar luminamind-agent-shell-environment nil
  "Extra environment, e.g. (agent-shell-make-environment-variables \"LUMINAMIND_MODEL\" \"ollama:qwen3\").")

(defun luminamind-agent-shell-config ()
  "An agent-shell configuration for LuminaMind."
  (agent-shell-make-agent-config
   :identifier 'luminamind
   :mode-line-name "LuminaMind"
   :buffer-name "LuminaMind"
   :shell-prompt "LuminaMind> "
   :shell-prompt-regexp "LuminaMind> "
   :client-maker (lambda (buffer)
                   (agent-shell--make-acp-client
                    :command (car luminamind-agent-shell-command)
                    :command-params (cdr luminamind-agent-shell-command)
                    :environment-variables luminamind-agent-shell-environment
                    :context-buffer buffer))
   :install-instructions "pip install luminamind (or make run in a checkout); see README, Editors."))

(defun luminamind-agent-shell ()
  "Start a LuminaMind agent shell."
  (interactive)
  (agent-shell--dwim :config (luminamind-agent-shell-config) :new-shell t))

;;; agent-shell.el ends here
