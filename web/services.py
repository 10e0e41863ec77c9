"""What the handlers share, built once by create_app and reached through one typed app key."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import socketio
from aiohttp import web

from storage import Operator, Storage
from web.config import Config
from web.faqs import LiveFaq
from web.limits import RateLimiter, RecentKeys
from web.mail import OutboxWorker
from web.tokens import TokenSigner


@dataclass
class Limits:
    create_per_ip: RateLimiter
    # A campus network shares addresses, so the main creation limit keys on the email.
    create_per_email: RateLimiter
    lookup_failures_per_ip: RateLimiter
    lookup_failures_per_number: RateLimiter
    lookup_failures_per_email: RateLimiter
    login_failures_per_ip: RateLimiter
    # Strict, but only for one username from one address: someone guessing an operator's
    # password from elsewhere cannot lock that operator out of their own desk...
    login_failures_per_user_address: RateLimiter
    # ...while guesses spread over many addresses still meet a ceiling per username.
    login_failures_per_user: RateLimiter
    # (username, address) pairs that signed in lately: the per-username ceiling, there
    # against guessing from many addresses, never locks an operator out of their own desk
    trusted_logins: RecentKeys
    student_messages_per_ticket: RateLimiter
    uploads_per_conversation: RateLimiter
    # Unauthenticated chats cost disk: new conversations and uploads per address, and the
    # events of one conversation (each one is a FAQ search and a durable write).
    conversations_per_ip: RateLimiter
    uploads_per_ip: RateLimiter
    chat_events_per_conversation: RateLimiter

    @classmethod
    def from_config(cls, config: Config) -> Limits:
        return cls(
            create_per_ip=RateLimiter(config.create_per_ip_per_minute, 60),
            create_per_email=RateLimiter(5, 3600),
            lookup_failures_per_ip=RateLimiter(20, 900),
            lookup_failures_per_number=RateLimiter(10, 900),
            lookup_failures_per_email=RateLimiter(10, 900),
            login_failures_per_ip=RateLimiter(20, 900),
            login_failures_per_user_address=RateLimiter(5, 900),
            login_failures_per_user=RateLimiter(50, 900),
            trusted_logins=RecentKeys(30 * 24 * 3600),
            student_messages_per_ticket=RateLimiter(30, 600),
            uploads_per_conversation=RateLimiter(10, 600),
            conversations_per_ip=RateLimiter(config.chats_per_ip_per_hour, 3600),
            uploads_per_ip=RateLimiter(config.uploads_per_ip_per_hour, 3600),
            chat_events_per_conversation=RateLimiter(40, 60),
        )


async def _nobody(_request: web.Request) -> Operator | None:
    return None


@dataclass
class Services:
    config: Config
    storage: Storage
    faq: LiveFaq
    sio: socketio.AsyncServer
    signer: TokenSigner
    limits: Limits
    # The outbox worker, set when it starts (the console retries parked mail through it).
    mail: OutboxWorker | None = None
    # The operator signed in on this request, if any; set by the console's session module.
    operator_of: Callable[[web.Request], Awaitable[Operator | None]] = field(default=_nobody)
    _conversation_locks: weakref.WeakValueDictionary[str, asyncio.Lock] = field(
        default_factory=weakref.WeakValueDictionary
    )

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


SERVICES = web.AppKey("services", Services)
