"""``python -m luminamind_lsp``: the language server on stdio."""

from luminamind_lsp import serve_stdio

serve_stdio()
