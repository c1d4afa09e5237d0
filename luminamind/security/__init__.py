"""Security rules applied in the tools' call path: paths, commands, URLs, secrets."""

from luminamind.security.redaction import REDACTED, is_secret_name, redact, redact_text
from luminamind.security.shell_policy import CheckedCommand, PathResolver, ShellPolicy
from luminamind.security.url_guard import GuardedUrl, UrlGuard
from luminamind.security.workspace import Workspace, WorkspaceRoot

__all__ = [
    "REDACTED",
    "CheckedCommand",
    "GuardedUrl",
    "PathResolver",
    "ShellPolicy",
    "UrlGuard",
    "Workspace",
    "WorkspaceRoot",
    "is_secret_name",
    "redact",
    "redact_text",
]
