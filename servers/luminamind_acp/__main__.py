"""``python -m luminamind_acp``: the ACP agent on stdio, configured from the environment."""

from luminamind.config import load_settings_tolerant
from luminamind.observability.logging import configure_logging
from luminamind_acp import serve_stdio

# stdout carries the protocol: logs go to stderr, as JSON lines.
configure_logging(level="WARNING", fmt="json")
serve_stdio(*load_settings_tolerant())
