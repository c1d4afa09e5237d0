"""Logs, metrics, traces and the audit log."""

from luminamind.observability.audit import AuditLog, AuditSink, NullAuditLog
from luminamind.observability.metrics import Metrics, get_metrics

__all__ = ["AuditLog", "AuditSink", "Metrics", "NullAuditLog", "get_metrics"]
