"""The audit log: who changed what, when."""

from kehu.audit.models import AuditEntry
from kehu.audit.operations import record
from kehu.audit.queries import list_audit_entries

__all__ = ["AuditEntry", "list_audit_entries", "record"]
