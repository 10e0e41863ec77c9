"""What the application layer shares, built once by create_app: the stores, the FAQ, the live
channel, the token signer, the limits and presence (in memory, or shared through Redis), the
mail worker, the retention sweep, the closing of unanswered tickets, the attachments' scanner."""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from storage import Backend
from web.config import Config
from web.desk.antivirus import Antivirus
from web.desk.faqs import LiveFaq
from web.desk.limits import Limits
from web.desk.live import LiveEvents
from web.desk.mail import OutboxWorker
from web.desk.meter import Meter, NoMeter
from web.desk.presence import Presence
from web.desk.retention import Retention
from web.desk.tokens import TokenSigner
from web.desk.waiting import WaitWatch

if TYPE_CHECKING:
    from web.desk.unanswered import UnansweredClosing


@dataclass
class Services:
    config: Config
    storage: Backend
    faq: LiveFaq
    live: LiveEvents
    signer: TokenSigner
    limits: Limits
    presence: Presence
    # The outbox worker, set when it starts (the console retries parked mail through it).
    mail: OutboxWorker | None = None
    waits: WaitWatch = field(init=False)
    antivirus: Antivirus | None = field(init=False)
    # What the desk reports for the dashboards (web/ops/metrics.py, set by create_app).
    meter: Meter = field(default_factory=NoMeter)
    # The daily retention sweep, set when it starts (tests run one at a chosen moment).
    retention: Retention | None = None
    # The daily closing of tickets the student left unanswered, set when it starts (the same).
    unanswered: UnansweredClosing | None = None
    _conversation_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = field(
        default_factory=weakref.WeakValueDictionary
    )

    def __post_init__(self) -> None:
        self.waits = WaitWatch(self.storage, self.live, self.config.office_hours)
        self.antivirus = Antivirus(self.config.clamd) if self.config.clamd else None

    def mail_folder(self) -> Path | None:
        """Where mail is written as .eml files (no SMTP server set): an erasure empties it too."""
        return self.mail.outbox_dir if self.mail is not None else None

    def wake_mail(self) -> None:
        """A mail was queued: send it now rather than at the worker's next look."""
        if self.mail is not None:
            self.mail.wake()

    def conversation_lock(self, conversation_id: str) -> asyncio.Lock:
        """One writer per conversation: Socket.IO runs a client's events concurrently, and an
        upload may land while the chat is stepping."""
        lock = self._conversation_locks.get(conversation_id)
        if lock is None:
            lock = asyncio.Lock()
            self._conversation_locks[conversation_id] = lock
        return lock
