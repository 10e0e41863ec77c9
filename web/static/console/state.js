/* What the page starts with (the boot JSON the server renders into it) and what it holds while
 * it runs: S is the console's state, ui the elements that later renders update. */

export const boot = JSON.parse(document.getElementById("console-boot").textContent);
export const lang = boot.lang === "en" ? "en" : "it";
export const locale = lang === "en" ? "en-GB" : "it-IT";
export const root = document.getElementById("console-root");
// The queue's page, and the most the server lists at once (web/console/tickets.py).
export const QUEUE_PAGE = 200;
export const QUEUE_MAX = 1000;

export const S = {
  me: boot.me,
  socket: null,
  connected: false,
  filters: loadFilters(),
  queue: [],
  counts: {},
  total: 0,
  current: null,
  viewers: [],
  typing: new Map(), // username -> {name, internal}
  studentTyping: false,
  studentOnline: false,
  unread: new Set(),
  fresh: new Set(),
  seenUntil: 0, // the latest change heard of (ms): what came after it has not been seen
  missedSince: null, // the live connection dropped with the changes heard up to then (catchup.js)
  drops: 0, // how many times it dropped (or the server missed what others pushed: a resync)
  catchUpDue: false, // connected again (or a resync): the next queue load catches up (catchup.js)
  drafts: new Map(),
  opening: 0, // the latest ticket asked for: an older answer arriving later is dropped
  currentAt: 0, // the place in the queue of the ticket on screen, kept once it leaves the list
  interrupted: null, // {username, number}: where the end of the session found the operator
  mode: "reply",
  team: [],
  online: [],
  sound: localStorage.getItem("helpdesk-console:sound") === "on",
  typingSent: 0,
  typingTimer: null,
  offlineTimer: null, // the live connection is down: the banner after a few seconds (frame.js)
  activeSent: 0,
  queueTimer: null,
  queueLoading: false, // a reload of the queue is under way (loadQueue)
  queueAgain: false, // and another was asked for meanwhile
  queueSeq: 0, // the latest queue request: only its answer is shown
  pressingQueue: false, // a pointer is down on the queue: its rebuild waits (queue.js)
  queueStale: false,
  queueLimit: QUEUE_PAGE, // how many tickets the queue asks for: "Mostra altri" asks for more
  queueKey: "", // the filters the limit was raised for: other filters start at one page again
  widened: null, // {status, assigned, subtopic}: the filters "Cerca in tutti i ticket" set aside
  view: "queue",
  reportDays: 30,
};
export const ui = {};

function loadFilters() {
  const base = { status: "open", assigned: "me,none", subtopic: "", q: "", sort: "oldest" };
  try {
    const saved = JSON.parse(sessionStorage.getItem("helpdesk-console:filters") || "{}");
    return { ...base, ...saved, q: "" };
  } catch (e) {
    return base;
  }
}
export function saveFilters() {
  S.widened = null; // (queue.js: a filter chosen is the operator's own again)
  const { status, assigned, subtopic, sort } = S.filters;
  sessionStorage.setItem("helpdesk-console:filters", JSON.stringify({ status, assigned, subtopic, sort }));
}
