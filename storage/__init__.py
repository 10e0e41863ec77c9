"""Persistence behind small typed stores. See storage/README.md for the layout on disk, why no
acknowledged write is lost, and how another backend would fit."""

from .attachments import AttachmentStore, Upload
from .check import check_data
from .conversations import ConversationStore
from .errors import DamagedFile, DataFolderBusy, StorageError, TicketNotFound
from .journal import AuditLog, FaqEventLog
from .models import (
    Attachment,
    AuditEntry,
    Conversation,
    ConversationBrief,
    FaqEvent,
    Message,
    Operator,
    OutboxMail,
    Purge,
    StatusChange,
    Ticket,
    TicketSummary,
    utcnow,
)
from .operators import OperatorStore
from .store import Storage
from .tickets import TicketStore

__all__ = [
    "Attachment",
    "AttachmentStore",
    "AuditEntry",
    "AuditLog",
    "Conversation",
    "ConversationBrief",
    "ConversationStore",
    "DamagedFile",
    "DataFolderBusy",
    "FaqEvent",
    "FaqEventLog",
    "Message",
    "Operator",
    "OperatorStore",
    "OutboxMail",
    "Purge",
    "StatusChange",
    "Storage",
    "StorageError",
    "Ticket",
    "TicketNotFound",
    "TicketStore",
    "TicketSummary",
    "Upload",
    "check_data",
    "utcnow",
]
