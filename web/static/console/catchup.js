/* What happened while the live connection was down, or while the server could not hear the
 * other processes (a `resync`), was pushed to nobody: once the connection is back it gets the
 * badge and the count in the title that the events would have given (onQueueEvent in
 * socket.js). */

import { boot, QUEUE_MAX, S } from "./state.js";
import { T } from "./texts.js";
import { isMine } from "./format.js";
import { api } from "./api.js";
import { announce, beep, updateTitle } from "./feedback.js";
import { renderQueue } from "./queue.js";

// The list on screen follows the operator's filters (a search, "Chiusi", a subtopic, a first
// page): news outside them would go unmarked. The catch-up reads its own list, of the tickets
// an event would have marked (not a colleague's, not closed), the latest changed first.
const FIRST = 50;

// The latest change heard of (an event, this module's list): what comes after it would have been
// pushed next. Not the list on screen's: a search read while the connection was already dead,
// before anyone noticed, would mark as seen a time the tickets outside it changed before.
export function seen(ticket) {
  S.seenUntil = Math.max(S.seenUntil, changedAt(ticket));
}

// Asked for once the connection is back (or at a resync), by the queue's load that follows; the
// first time, with nothing missed, it only says up to when this operator's tickets are known.
export async function catchUp() {
  const me = S.me;
  const since = S.missedSince;
  const drops = S.drops;
  const tickets = await concerning(since);
  // signed out meanwhile (the next operator's news are not these), or the server out of reach
  // (the next reconnection tries again from the same moment)
  if (tickets === null || S.me !== me) return;
  let missed = 0;
  for (const t of tickets) {
    if (since !== null && changedAt(t) > since && !(t.operator && !isMine(t))) {
      const onScreen = S.current && S.current.number === t.number && !document.hidden;
      if (Date.parse(t.created_at) > since) missed += add(S.fresh, t.number);
      else if (t.last_author === "student" && !onScreen) missed += add(S.unread, t.number);
    }
    seen(t);
  }
  // a drop while this was asked for is caught up on by the reconnection that ends it
  if (S.missedSince === since && S.drops === drops) S.missedSince = null;
  if (!missed) return;
  updateTitle();
  renderQueue();
  beep();
  announce(T(missed === 1 ? "missedWhileOfflineOne" : "missedWhileOffline", { n: missed }));
}

// A page of them, and a larger one while the whole page changed after `since`.
async function concerning(since) {
  const params = new URLSearchParams({
    status: boot.statuses.filter((s) => s !== "closed").join(","),
    assigned: "me,none",
    sort: "updated",
  });
  for (let limit = FIRST; ; limit = Math.min(limit * 4, QUEUE_MAX)) {
    params.set("limit", String(limit));
    const res = await api("GET", "/api/console/tickets?" + params.toString(), undefined, true);
    if (!res.ok) return null;
    const tickets = res.data.tickets;
    const last = tickets[tickets.length - 1];
    if (since === null || !last || changedAt(last) <= since || tickets.length >= res.data.total || limit === QUEUE_MAX) {
      return tickets;
    }
  }
}

function changedAt(ticket) {
  return Date.parse(ticket.updated_at) || 0;
}

function add(set, number) {
  const had = set.has(number);
  set.add(number);
  return had ? 0 : 1;
}
