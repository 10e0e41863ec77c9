"""The console's queue: which tickets an operator's filters keep, how many there are of each
status, and one page of them in the order asked for.

The data folder answers from memory: `page_by_status` from its tickets kept by status and
counted by a tally, `page_of` for a search over the tickets that match; PostgreSQL answers the
same QueueQuery in SQL (storage/postgres/tickets.py). Either way a queue that reloads at every
change of any ticket, in every console, never reads every ticket.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from .models import TICKET_STATUSES, TicketSummary

# name -> (sort key, newest first). Applied to tickets already newest created first, so that
# ties keep that order.
SORTS: dict[str, tuple[Callable[[TicketSummary], str | tuple[bool, str]], bool]] = {
    "newest": (lambda s: s.created_at, True),
    "oldest": (lambda s: s.created_at, False),
    # The students waiting the longest for an answer first, from their first message we have
    # not answered in public (a reminder or an internal note does not move a ticket); then
    # the tickets that wait on nobody in the office, the longest untouched by either side first.
    "waiting": (lambda s: (not s.awaits_office, s.waiting_since), False),
    "updated": (lambda s: s.updated_at, True),
}


@dataclass(frozen=True)
class QueueQuery:
    statuses: frozenset[str] = frozenset()  # none: every status
    topic: str = ""
    subtopic: str = ""
    holders: frozenset[str] | None = None  # usernames, "" for nobody; None: held or not
    sort: str = "newest"  # a key of SORTS
    limit: int = 200
    # A search: the tickets whose number, email, name, phone or messages (internal notes too)
    # contain every word of the text, in any order and any case (ticket_index.needles: a
    # phone number is compared by its digits), and the ticket numbered `number` ("#412" names
    # 000412) whatever its text. The other filters and the counts apply to all of them, not to
    # a first batch.
    text: str = ""
    number: str = ""


@dataclass(frozen=True)
class QueuePage:
    tickets: list[TicketSummary]
    total: int  # the tickets of the chosen statuses, beyond the page too
    counts: dict[str, int] = field(default_factory=dict)  # per status, whatever is chosen


# What the filters but the status look at, the same for thousands of tickets: an index can
# count its tickets by these (Tally) instead of reading each one for the counts.
TallyKey = tuple[str, str, str, str, bool]  # status, topic, subtopic, operator or "", anonymised


def tally_key(summary: TicketSummary) -> TallyKey:
    return (summary.status, summary.topic, summary.subtopic, summary.operator or "",
            summary.anonymised)


def _passes(key: TallyKey, query: QueueQuery) -> bool:
    """Everything the filters ask but the status; an anonymised ticket is nobody's to find."""
    _, topic, subtopic, operator, anonymised = key
    return (
        not anonymised
        and (not query.topic or topic == query.topic)
        and (not query.subtopic or subtopic == query.subtopic)
        and (query.holders is None or operator in query.holders)
    )


def kept(summary: TicketSummary, query: QueueQuery) -> bool:
    return _passes(tally_key(summary), query)


def page_of(
    summaries: Iterable[TicketSummary], query: QueueQuery, *, keep_order: bool = False
) -> QueuePage:
    """The page of `summaries` (newest created first). keep_order: a search's own order (the
    exact number first) instead of the query's sort."""
    pool = [s for s in summaries if kept(s, query)]
    counts: dict[str, int] = dict.fromkeys(TICKET_STATUSES, 0)
    for s in pool:
        counts[s.status] += 1
    chosen = [s for s in pool if not query.statuses or s.status in query.statuses]
    return _page(chosen, query, counts, sort=not keep_order)


def page_by_status(
    by_status: Mapping[str, Iterable[TicketSummary]],
    tally: Mapping[TallyKey, int],
    query: QueueQuery,
) -> QueuePage:
    """page_of for an index that keeps its tickets by status and counts them by TallyKey:
    only the chosen statuses' tickets are read, so the queue of the open tickets costs what
    they number, not what the season does."""
    counts: dict[str, int] = dict.fromkeys(TICKET_STATUSES, 0)
    for tallied, n in tally.items():
        if n and _passes(tallied, query):
            counts[tallied[0]] += n
    statuses = query.statuses or TICKET_STATUSES
    chosen = [s for status in statuses for s in by_status.get(status, ()) if kept(s, query)]
    chosen.sort(key=lambda s: (s.created_at, s.number), reverse=True)  # page_of's own order
    return _page(chosen, query, counts)


def _page(
    chosen: list[TicketSummary], query: QueueQuery, counts: dict[str, int], *, sort: bool = True
) -> QueuePage:
    """The first `limit` of the chosen tickets in the query's order (a stable sort: ties keep
    the newest created first), and how many there are."""
    if sort:
        key, reverse = SORTS[query.sort]
        chosen.sort(key=key, reverse=reverse)
    return QueuePage(chosen[: query.limit], len(chosen), counts)

