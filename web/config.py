"""Settings of CONTRACT.md section 2, read once from a mapping into a frozen Config."""

from __future__ import annotations

import difflib
import ipaddress
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parseaddr
from pathlib import Path
from urllib.parse import urlsplit

from web.desk.office_hours import OfficeHours

MAX_ATTACHMENT_BYTES = 2 * 1024 * 1024
MAX_PORT = 65535
# A hundred years: longer than any retention a data protection officer would sign, and far
# short of the ~700,000 days back to year 1, where the cutoff date stops being a date.
MAX_RETENTION_DAYS = 36500
# A drawn key has 64 characters (token_urlsafe(48), or the folder's own); a shorter one is a
# placeholder or a word, and whoever guesses it opens every student's ticket.
MIN_KEY_CHARACTERS = 32


class ConfigError(ValueError):
    """A setting has a value the service cannot use."""


def _int(
    environ: Mapping[str, str],
    name: str,
    default: int,
    *,
    minimum: int = 0,
    maximum: int | None = None,
) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, not {value}")
    if maximum is not None and value > maximum:
        raise ConfigError(f"{name} must be at most {maximum}, not {value}")
    return value


def _redis_url(environ: Mapping[str, str]) -> str | None:
    url = environ.get("HELPDESK_REDIS_URL", "").strip() or None
    if url is None:
        return None
    if url.partition("://")[0] not in ("redis", "rediss", "unix"):
        raise ConfigError("HELPDESK_REDIS_URL must start with redis://, rediss:// or unix://")
    # redis-py's own reading of the URL, so that one it would refuse at the first request
    # (a port that is not a number) is refused here, before anything starts.
    from redis.connection import parse_url

    try:
        parse_url(url)  # type: ignore[no-untyped-call]
    except ValueError as e:  # its messages never quote the password
        raise ConfigError(
            f"HELPDESK_REDIS_URL is not a usable Redis URL ({e}); expected redis://host:port/db"
        ) from None
    return url


def _public_url(environ: Mapping[str, str]) -> str | None:
    """The base of every link in the mails, if set: without a scheme and a host a mail client
    would take the link for a relative one, and no student could open their ticket."""
    url = environ.get("HELPDESK_PUBLIC_URL", "").strip().rstrip("/")
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(
            f"HELPDESK_PUBLIC_URL: {url!r} is not an address students can open; "
            "expected https://host, e.g. https://helpdesk.unipg.it"
        )
    return url


def _mail_from(environ: Mapping[str, str]) -> str:
    """The sender, with or without a display name; one the SMTP server can take (a bare name
    would be refused as sender at every try, and no mail would leave)."""
    value = environ.get("HELPDESK_MAIL_FROM", "").strip() or "noreply@localhost"
    local, at, domain = parseaddr(value)[1].rpartition("@")
    if not (local and at and domain):
        raise ConfigError(
            f"HELPDESK_MAIL_FROM: {value!r} is not an email address; "
            "expected e.g. noreply@unipg.it or 'Assistenza UniPG <noreply@unipg.it>'"
        )
    return value


def _origins(environ: Mapping[str, str]) -> tuple[str, ...]:
    """The pages' origins, each as a browser sends it (scheme://host[:port]): one written
    otherwise (www.unipg.it, or a page's address) matches no request, and the widget on those
    pages would fail to connect with nothing in the log to say why."""
    origins = tuple(
        o.strip().rstrip("/")
        for o in environ.get("HELPDESK_ALLOWED_ORIGINS", "").split(",")
        if o.strip()
    )
    if "null" in origins or "*" in origins:
        # A wildcard or the "null" origin would let any page drive the widget's API
        # with the student's credentials (ASVS 14.5.3).
        raise ConfigError("HELPDESK_ALLOWED_ORIGINS must list real origins, not * or null")
    return tuple(_browser_origin(origin) for origin in origins)


DEFAULT_PORTS = {"http": 80, "https": 443}


def _browser_origin(origin: str) -> str:
    """`origin` as a browser's Origin header writes it, which the CORS check compares as text:
    the host in lower case and no default port (HTTPS://www.UniPG.it:443 is sent as
    https://www.unipg.it)."""
    parts = urlsplit(origin)
    try:
        port = parts.port
    except ValueError:
        port = -1  # not a number, or out of range
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname or port == -1 or (
        parts.path or parts.query or parts.fragment or parts.username
    ):
        raise ConfigError(
            f"HELPDESK_ALLOWED_ORIGINS: {origin!r} is not an origin; expected "
            "scheme://host[:port] as the browser sends it, e.g. https://www.unipg.it"
        )
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    if port is not None and port != DEFAULT_PORTS[parts.scheme]:
        host = f"{host}:{port}"
    return f"{parts.scheme}://{host}"


def _networks(environ: Mapping[str, str], name: str) -> tuple[str, ...]:
    """A comma-separated list of addresses or networks (10.0.0.0/8), each checked."""
    found = tuple(p.strip() for p in environ.get(name, "").split(",") if p.strip())
    for network in found:
        try:
            ipaddress.ip_network(network, strict=False)
        except ValueError:
            raise ConfigError(f"{name}: {network!r} is not an address or network") from None
    return found


def _clamd(environ: Mapping[str, str]) -> str | None:
    value = environ.get("HELPDESK_CLAMD", "").strip()
    if not value or value.startswith("/"):
        return value or None
    host, colon, port = value.rpartition(":")
    if not (colon and host and port.isdigit() and 0 < int(port) <= MAX_PORT):
        raise ConfigError(
            f"HELPDESK_CLAMD: {value!r} is neither clamd's socket nor host:port; "
            "e.g. /run/clamav/clamd.ctl or 127.0.0.1:3310"
        )
    return value


DRAW_A_KEY = "Draw one with python3 -c 'import secrets; print(secrets.token_urlsafe(48))'"


def _secret_key(environ: Mapping[str, str]) -> str | None:
    """The guide's placeholder (docs/deploy.md: HELPDESK_SECRET_KEY=...) stops the start; any
    other short key is only warned about (setting_warnings), since CONTRACT.md sets no length
    and a test bench may well use a word."""
    key = environ.get("HELPDESK_SECRET_KEY") or None
    if key is not None and not key.strip(". \t"):
        raise ConfigError(
            "HELPDESK_SECRET_KEY is the guide's placeholder: whoever reads the guide could "
            f"open every student's ticket. {DRAW_A_KEY}"
        )
    return key


def _office_hours(environ: Mapping[str, str]) -> OfficeHours | None:
    hours = environ.get("HELPDESK_OFFICE_HOURS", "").strip()
    closed = environ.get("HELPDESK_OFFICE_CLOSED", "").strip()
    if not hours:
        if closed:
            raise ConfigError("HELPDESK_OFFICE_CLOSED needs HELPDESK_OFFICE_HOURS")
        return None
    try:
        return OfficeHours.parse(hours, closed)
    except ValueError as e:
        raise ConfigError(f"HELPDESK_OFFICE_HOURS / HELPDESK_OFFICE_CLOSED: {e}") from None


@dataclass(frozen=True)
class Config:
    host: str = "127.0.0.1"
    port: int = 8080
    data_dir: Path = Path("var")
    faq_dir: Path = Path("faq_data")
    public_url: str = "http://127.0.0.1:8080"
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_user: str | None = None
    smtp_password: str | None = None
    # "starttls", "tls" (implicit, usually port 465) or "none"
    smtp_security: str = "none"
    mail_from: str = "noreply@localhost"
    mail_max_attempts: int = 8
    # None: generated once and kept in data_dir (see web/desk/secret.py)
    secret_key: str | None = None
    allowed_origins: tuple[str, ...] = field(default_factory=tuple)
    create_per_ip_per_minute: int = 30
    # A class behind one school or library address opens many chats at once: generous
    # defaults, and 0 turns either off.
    chats_per_ip_per_hour: int = 600
    uploads_per_ip_per_hour: int = 100
    # Failed ticket look-ups per address. The ceilings per email and per number (10 in 15
    # minutes each) already make guessing one student's ticket take years; this one only slows
    # guesses spread over many emails, and a campus network or a mobile carrier puts thousands
    # of students, each of whom may mistype once at the deadline, behind one address.
    lookup_failures_per_ip_per_hour: int = 200
    # The university's reverse proxies: behind them the peer is always the proxy, so the
    # student's address is read from X-Forwarded-For (only when the peer is one of these).
    trusted_proxies: tuple[str, ...] = ()
    session_idle_minutes: int = 30
    # How long a closed ticket keeps its student's data (CONTRACT.md section 9), and whom the
    # privacy notice names as the data protection officer (the deployment's to say).
    retention_days: int = 730
    # Days a ticket awaiting its student's answer stays so before the system closes it, which
    # also starts its retention (web/desk/unanswered.py); 0: never.
    awaiting_close_days: int = 0
    dpo_contact: str | None = None
    # postgresql://user:password@host:port/db: everything kept lives there instead of in
    # data_dir, and several processes may share it (CONTRACT.md section 7)
    database_url: str | None = None
    # redis://host:port/db: live events, limits and presence shared by several processes
    # (CONTRACT.md section 7); None: one process keeps them in memory
    redis_url: str | None = None
    # When the office answers (web/desk/office_hours.py): the wait a student is told is counted
    # in its working time. None: unknown, and the widget says its estimate does not know them.
    office_hours: OfficeHours | None = None
    # clamd's Unix socket or host:port: every attachment is scanned before it is kept
    # (web/desk/antivirus.py). None: attachments are kept unscanned, as the type check allows.
    clamd: str | None = None
    ticket_token_hours: int = 24
    faq_reload_seconds: float = 2.0
    # How long a client may take to send a request's headers, and then its body (a phone
    # uploading 2 MiB on a poor connection included), before the connection is dropped or the
    # request refused with 408; also how long an idle keep-alive connection stays open.
    read_timeout_seconds: int = 60
    # On SIGTERM, how long requests in flight may take to finish before the process exits.
    shutdown_seconds: int = 20
    # "text" for a person at a terminal, "json" (one object a line) for the log collector.
    log_format: str = "text"
    # Who may read GET /metrics: addresses or networks (the Prometheus server).
    metrics_allow: tuple[str, ...] = ("127.0.0.0/8", "::1")

    @property
    def own_origin(self) -> str:
        return self.public_url.rstrip("/")

    @property
    def cors_origins(self) -> list[str]:
        """The server's own origins plus the university pages that embed the widget."""
        own = {self.own_origin, f"http://{self.host}:{self.port}"}
        if self.host in ("127.0.0.1", "localhost"):
            own |= {f"http://127.0.0.1:{self.port}", f"http://localhost:{self.port}"}
        return sorted(own | set(self.allowed_origins))

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Config:
        host = environ.get("HELPDESK_HOST", "").strip() or "127.0.0.1"
        port = _int(environ, "HELPDESK_PORT", 8080, minimum=0, maximum=MAX_PORT)
        security = environ.get("HELPDESK_SMTP_SECURITY", "").strip().lower() or "none"
        if security not in ("none", "starttls", "tls"):
            raise ConfigError("HELPDESK_SMTP_SECURITY must be none, starttls or tls")
        log_format = environ.get("HELPDESK_LOG_FORMAT", "").strip().lower() or "text"
        if log_format not in ("text", "json"):
            raise ConfigError("HELPDESK_LOG_FORMAT must be text or json")
        origins = _origins(environ)
        proxies = _networks(environ, "HELPDESK_TRUSTED_PROXIES")
        redis_url = _redis_url(environ)
        return cls(
            office_hours=_office_hours(environ),
            clamd=_clamd(environ),
            trusted_proxies=proxies,
            host=host,
            port=port,
            data_dir=Path(environ.get("HELPDESK_DATA_DIR", "").strip() or "var"),
            faq_dir=Path(environ.get("HELPDESK_FAQ_DIR", "").strip() or "faq_data"),
            public_url=_public_url(environ) or f"http://{host}:{port}",
            smtp_host=environ.get("HELPDESK_SMTP_HOST", "").strip() or None,
            smtp_port=_int(environ, "HELPDESK_SMTP_PORT", 25, minimum=1, maximum=MAX_PORT),
            smtp_user=environ.get("HELPDESK_SMTP_USER", "").strip() or None,
            smtp_password=environ.get("HELPDESK_SMTP_PASSWORD") or None,
            smtp_security=security,
            mail_from=_mail_from(environ),
            mail_max_attempts=_int(environ, "HELPDESK_MAIL_MAX_ATTEMPTS", 8, minimum=1),
            secret_key=_secret_key(environ),
            allowed_origins=origins,
            create_per_ip_per_minute=_int(environ, "HELPDESK_CREATE_PER_IP_PER_MINUTE", 30),
            chats_per_ip_per_hour=_int(environ, "HELPDESK_CHATS_PER_IP_PER_HOUR", 600),
            uploads_per_ip_per_hour=_int(environ, "HELPDESK_UPLOADS_PER_IP_PER_HOUR", 100),
            lookup_failures_per_ip_per_hour=_int(
                environ, "HELPDESK_LOOKUP_FAILURES_PER_IP_PER_HOUR", 200
            ),
            session_idle_minutes=_int(environ, "HELPDESK_SESSION_IDLE_MINUTES", 30, minimum=1),
            retention_days=_int(
                environ, "HELPDESK_RETENTION_DAYS", 730, minimum=1, maximum=MAX_RETENTION_DAYS
            ),
            awaiting_close_days=_int(
                environ, "HELPDESK_AWAITING_CLOSE_DAYS", 0, maximum=MAX_RETENTION_DAYS
            ),
            dpo_contact=environ.get("HELPDESK_DPO_CONTACT", "").strip() or None,
            database_url=environ.get("HELPDESK_DATABASE_URL", "").strip() or None,
            read_timeout_seconds=_int(environ, "HELPDESK_READ_TIMEOUT_SECONDS", 60, minimum=1),
            shutdown_seconds=_int(environ, "HELPDESK_SHUTDOWN_SECONDS", 20, minimum=1),
            log_format=log_format,
            metrics_allow=_networks(environ, "HELPDESK_METRICS_ALLOW") or cls.metrics_allow,
            redis_url=redis_url,
        )


class _Asked(Mapping[str, str]):
    """The environment, noting every name the settings look up."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        self._environ = environ
        self.names: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.names.add(name)
        return self._environ[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._environ)

    def __len__(self) -> int:
        return len(self._environ)


def setting_warnings(environ: Mapping[str, str]) -> list[str]:
    """What the start warns about, one line each: a secret key shorter than a drawn one, and
    the HELPDESK_ names set that no setting reads, with the setting each is likely a typo of.
    Ignored, not refused: an env file may already hold a newer version's settings
    (docs/deploy.md has them added before a rolling update). But a mistyped
    HELPDESK_DATABASE_URL would otherwise leave a process on the data folder, unsaid."""
    asked = _Asked(environ)
    Config.from_env(asked)
    prefix = "HELPDESK_"
    known = sorted(n.removeprefix(prefix) for n in asked.names)
    lines = []
    key = (environ.get("HELPDESK_SECRET_KEY") or "").strip()
    if key and len(key) < MIN_KEY_CHARACTERS:
        lines.append(
            f"HELPDESK_SECRET_KEY has {len(key)} characters, fewer than {MIN_KEY_CHARACTERS}: "
            f"whoever guesses it opens every student's ticket. {DRAW_A_KEY}"
        )
    for name in sorted(n for n in environ if n.startswith(prefix) and n not in asked.names):
        # Without the prefix every name shares, or every typo would look like some setting.
        close = difflib.get_close_matches(name.removeprefix(prefix), known, n=1, cutoff=0.75)
        hint = f"did you mean {prefix}{close[0]}?" if close else "README.md lists the settings"
        lines.append(f"{name} is not a setting of this version and is ignored ({hint})")
    return lines
