"""The errors a user can cause, as both sides report them: the HTTP API turns one into
CONTRACT.md section 4's error shape, the sockets into an `error` event with the same code."""

from __future__ import annotations

from collections.abc import Mapping

# A database that went away is usually back within seconds (a restart, a failover).
UNAVAILABLE_RETRY_SECONDS = 5


class ApiError(Exception):
    """An error a user can cause; `code` is an i18n key under `error.`, `status` the HTTP status
    that fits it (the sockets use the code alone)."""

    def __init__(
        self,
        status: int,
        code: str,
        *,
        fields: Mapping[str, str] | None = None,
        params: Mapping[str, object] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.fields = dict(fields or {})  # field -> i18n key
        self.params = dict(params or {})
        self.headers = dict(headers or {})


def rate_limited(retry_after: float) -> ApiError:
    seconds = max(1, round(retry_after))
    if seconds >= 120:
        return ApiError(
            429,
            "rate_limited",
            params={"minutes": -(-seconds // 60)},
            headers={"Retry-After": str(seconds)},
        )
    return ApiError(
        429,
        # one second has its own text, not "1 secondi" / "1 seconds"
        "rate_limited_second" if seconds == 1 else "rate_limited_seconds",
        params={"seconds": seconds},
        headers={"Retry-After": str(seconds)},
    )


def unavailable() -> ApiError:
    """The storage cannot be reached (storage.DatabaseUnavailable) or its disk refused a write
    (storage.refused_by_disk): nothing was done, and the same request may be sent again
    shortly."""
    return ApiError(
        503, "unavailable", headers={"Retry-After": str(UNAVAILABLE_RETRY_SECONDS)}
    )
