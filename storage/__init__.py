"""Persistence behind small typed stores. See storage/README.md for the layout on disk, why no
acknowledged write is lost, and how another backend would fit."""

from .attachments import AttachmentStore, Upload
from .backend import open_backend, open_operators, where
from .backup import backup_folder
from .check import check_data
from .conversations import ConversationStore
from .errors import (
    ConversationChanged,
    DamagedFile,
    DatabaseUnavailable,
    DataFolderBusy,
    StorageError,
    TicketNotFound,
    refused_by_disk,
)
from .journal import AuditLog, FaqEventLog
from .models import (
    Assignment,
    Attachment,
    AuditEntry,
    ChatsReached,
    Conversation,
    ConversationBrief,
    FaqEvent,
    Lifetime,
    Message,
    Operator,
    OperatorSession,
    OutboxMail,
    Purge,
    Rating,
    StatusChange,
    Ticket,
    TicketSummary,
    TicketTimes,
    utcnow,
)
from .operators import OperatorStore
from .protocol import Backend
from .store import Storage
from .tickets import TicketStore

__all__ = [
    "Assignment",
    "Attachment",
    "AttachmentStore",
    "AuditEntry",
    "AuditLog",
    "Backend",
    "ChatsReached",
    "Conversation",
    "ConversationBrief",
    "ConversationChanged",
    "ConversationStore",
    "DamagedFile",
    "DatabaseUnavailable",
    "DataFolderBusy",
    "FaqEvent",
    "FaqEventLog",
    "Lifetime",
    "Message",
    "Operator",
    "OperatorSession",
    "OperatorStore",
    "OutboxMail",
    "Purge",
    "Rating",
    "StatusChange",
    "Storage",
    "StorageError",
    "Ticket",
    "TicketNotFound",
    "TicketStore",
    "TicketSummary",
    "TicketTimes",
    "Upload",
    "backup_folder",
    "check_data",
    "open_backend",
    "open_operators",
    "utcnow",
    "where",
    "refused_by_disk",
]
