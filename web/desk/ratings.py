"""The student's rating of a closed ticket (CONTRACT.md section 8): a score from 1 to 5 and an
optional comment, once per ticket. What a body must hold, and how a rating looks on the wire."""

from __future__ import annotations

from typing import Any

from storage import Rating, Ticket
from web.desk.errors import ApiError

COMMENT_MAX = 1000


def read_rating(data: dict[str, Any]) -> Rating:
    """A Rating from a request body, or 422 naming the field that is wrong."""
    score = data.get("score")
    # bool is an int in Python: `true` is no score
    if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
        raise ApiError(422, "validation_failed", fields={"score": "rating.field.score"})
    comment = data.get("comment")
    if comment is None:
        comment = ""
    if not isinstance(comment, str) or len(comment.strip()) > COMMENT_MAX:
        raise ApiError(422, "validation_failed", fields={"comment": "rating.field.comment"})
    return Rating(score=score, comment=comment.strip())


def check_ratable(ticket: Ticket) -> None:
    """Under the ticket's lock: closed, and not rated yet (409 otherwise)."""
    if ticket.duplicate_of:
        # a duplicate was closed unanswered: the help is rated on the ticket that goes on
        raise ApiError(409, "duplicate_not_ratable", params={"number": ticket.duplicate_of})
    if ticket.status != "closed":
        raise ApiError(409, "ticket_not_closed")
    if ticket.rating is not None:
        raise ApiError(409, "already_rated")


def rating_view(rating: Rating | None) -> dict[str, Any] | None:
    return None if rating is None else {"score": rating.score, "comment": rating.comment}
