/* The queue: status tabs, filters and search, the list of tickets. */

import { boot, lang, QUEUE_MAX, QUEUE_PAGE, S, saveFilters, ui } from "./state.js";
import { STATUS_TABS, T } from "./texts.js";
import { clear, h } from "./dom.js";
import { ageClass, fmtAge, fmtDate, isMine, statusLabel, subtopicLabel } from "./format.js";
import { api, errorText } from "./api.js";
import { openTicket } from "./ticket.js";
import { catchUp } from "./catchup.js";

export function renderQueuePane() {
  const f = S.filters;
  const tabs = h("div", { class: "c-tabs", role: "group", "aria-label": T("statusFilter") });
  ui.tabs = tabs;
  for (const status of [...boot.statuses, ""]) {
    tabs.append(
      h("button", {
        type: "button",
        class: "c-tab",
        "data-status": status,
        "aria-pressed": String(f.status === status),
        onclick: () => {
          S.filters.status = status;
          saveFilters();
          for (const b of tabs.children) b.setAttribute("aria-pressed", String(b.dataset.status === status));
          loadQueue();
        },
      }, h("span", { text: status ? STATUS_TABS[lang][status] : T("all") }), h("span", { class: "c-count", "data-count": status })),
    );
  }
  ui.search = h("input", { id: "c-search", type: "search", placeholder: T("searchPlaceholder"), value: f.q, autocomplete: "off" });
  let searchTimer = null;
  ui.search.addEventListener("input", () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(search, 250);
  });
  const assigned = h("select", { id: "c-assigned", onchange: (ev) => { S.filters.assigned = ev.target.value; saveFilters(); loadQueue(); } },
    [["me,none", T("assignedMineFree")], ["me", T("assignedMine")], ["none", T("assignedFree")], ["all", T("assignedAll")]].map(
      ([v, label]) => h("option", { value: v, selected: f.assigned === v, text: label })));
  const subtopic = h("select", { id: "c-subtopic", onchange: (ev) => { S.filters.subtopic = ev.target.value; saveFilters(); loadQueue(); } },
    h("option", { value: "", text: T("anySubtopic") }),
    boot.topics.map((tp) => h("optgroup", { label: tp.label },
      tp.subtopics.map((st) => h("option", { value: tp.id + "/" + st.id, selected: f.subtopic === tp.id + "/" + st.id, text: st.label })))));
  const sort = h("select", { id: "c-sort", onchange: (ev) => { S.filters.sort = ev.target.value; saveFilters(); loadQueue(); } },
    [["oldest", T("sortOldest")], ["newest", T("sortNewest")], ["waiting", T("sortWaiting")]].map(
      ([v, label]) => h("option", { value: v, selected: f.sort === v, text: label })));
  ui.list = h("ul", { class: "c-list", "aria-busy": "true" });
  ui.queueInfo = h("p", { class: "c-muted c-small", role: "status" });
  clear(ui.queuePane).append(
    h("h2", { id: "c-queue-title", class: "c-sr", text: T("queue") }),
    tabs,
    h("form", { class: "c-filters", role: "search", onsubmit: (ev) => { ev.preventDefault(); search(); } },
      h("label", { for: "c-search", class: "c-label", text: T("searchLabel") }),
      ui.search,
      h("div", { class: "c-filter-row" },
        h("label", { class: "c-field" }, h("span", { class: "c-label", text: T("assigned") }), assigned),
        h("label", { class: "c-field" }, h("span", { class: "c-label", text: T("sort") }), sort),
        h("label", { class: "c-field c-field-wide" }, h("span", { class: "c-label", text: T("subtopic") }), subtopic),
      ),
    ),
    ui.queueInfo,
    ui.list,
  );
}

// The search box emptied ends a search "Cerca in tutti i ticket" widened: the operator's own
// filters come back.
function search() {
  S.filters.q = ui.search.value.trim();
  if (!S.filters.q && S.widened) {
    Object.assign(S.filters, S.widened);
    S.widened = null;
    renderQueuePane();
    ui.search.focus();
  }
  loadQueue();
}

// One reload for the changes of a moment, at most 300-800 ms after the first: restarting the
// wait at each change (a debounce) left the queue still while changes kept coming, as at a
// deadline. Every open console hears the same change: the random part spreads their reloads
// instead of landing forty of them on the server in the same instant.
export function scheduleQueue() {
  if (S.queueTimer) return;
  S.queueTimer = setTimeout(() => { S.queueTimer = null; loadQueue(true); }, 300 + Math.random() * 500);
}

export async function loadQueue(background) {
  if (!S.me || !ui.list) return;
  // One background reload at a time: on a slow server they would pile up, each adding to
  // the wait of the next. A change heard meanwhile reloads once the one under way is done.
  if (background === true && S.queueLoading) {
    S.queueAgain = true;
    return;
  }
  // Only the latest request's answer is shown: a filter changed while a reload was under way
  // must not be overwritten by that reload's older list.
  const mine = ++S.queueSeq;
  S.queueLoading = true;
  try {
    await fetchQueue(background, mine);
    // after the list rather than beside it: on a slow server, two requests wait longer
    if (S.catchUpDue) {
      S.catchUpDue = false;
      await catchUp();
    }
  } finally {
    if (mine === S.queueSeq) {
      S.queueLoading = false;
      if (S.queueAgain) {
        S.queueAgain = false;
        scheduleQueue();
      }
    }
  }
}

async function fetchQueue(background, mine) {
  const f = S.filters;
  const params = new URLSearchParams({ assigned: f.assigned, sort: f.sort });
  if (f.status) params.set("status", f.status);
  if (f.q) params.set("q", f.q);
  if (f.subtopic) {
    const [topic, subtopic] = f.subtopic.split("/");
    params.set("topic", topic);
    params.set("subtopic", subtopic);
  }
  if (f.q && f.sort === "oldest") params.set("sort", "newest");
  const key = params.toString();
  if (key !== S.queueKey) {
    S.queueKey = key;
    S.queueLimit = QUEUE_PAGE;
  }
  params.set("limit", String(S.queueLimit));
  const res = await api("GET", "/api/console/tickets?" + params.toString(), undefined, background === true);
  if (mine !== S.queueSeq) return;
  if (!res.ok) {
    if (res.status !== 401) ui.queueInfo.textContent = errorText(res.error);
    return;
  }
  S.queue = res.data.tickets;
  S.counts = res.data.counts;
  S.total = res.data.total;
  // A student on the phone gives their number or email: with the default filters (open, mine
  // or free) a colleague's or a closed ticket is found nowhere, and "no ticket" sounds like a
  // wrong number. How many the search finds outside the filters is said, one press away.
  S.elsewhere = 0;
  if (f.q && !S.total && (f.status || f.assigned !== "all" || f.subtopic)) {
    const wide = new URLSearchParams({ q: f.q, assigned: "all", limit: "1" });
    const found = await api("GET", "/api/console/tickets?" + wide.toString(), undefined, background === true);
    if (mine !== S.queueSeq) return;
    if (found.ok) S.elsewhere = found.data.total;
  }
  renderQueue();
}

// Widened for this search only (search() above), unless the operator chooses filters meanwhile
// (saveFilters forgets the ones set aside then).
function searchEverywhere() {
  const { status, assigned, subtopic } = S.filters;
  S.widened = S.widened || { status, assigned, subtopic };
  Object.assign(S.filters, { status: "", assigned: "all", subtopic: "" });
  renderQueuePane();
  loadQueue().then(() => {
    const first = ui.list.querySelector(".c-item");
    if (first) first.focus();
  });
}

export function renderQueue() {
  for (const el of ui.tabs.querySelectorAll("[data-count]")) {
    const status = el.dataset.count;
    const n = status ? S.counts[status] || 0 : Object.values(S.counts).reduce((a, b) => a + b, 0);
    el.textContent = String(n);
  }
  ui.list.setAttribute("aria-busy", "false");
  const more = S.queue.length < S.total && S.queueLimit < QUEUE_MAX;
  ui.queueInfo.textContent = S.queue.length < S.total
    ? T(more ? "shown" : "shownMax", { shown: S.queue.length, total: S.total }) : "";
  // The list is rebuilt at every change anywhere: a press on an item would lose its click, so
  // the rebuild waits for the release; the scroll position and the focused item stay.
  if (S.pressingQueue) {
    S.queueStale = true;
    return;
  }
  S.queueStale = false;
  const top = ui.list.scrollTop;
  const active = ui.list.contains(document.activeElement) ? document.activeElement : null;
  const focused = active ? (active.dataset.number || ("more" in active.dataset ? "more" : null)) : null;
  clear(ui.list);
  if (!S.queue.length) {
    ui.list.append(h("li", { class: "c-empty", text: T("emptyQueue") }));
    if (S.elsewhere) {
      ui.list.append(h("li", { class: "c-empty" }, T("foundElsewhere", { n: S.elsewhere }), " ",
        h("button", { type: "button", class: "c-btn c-small-btn", onclick: searchEverywhere, text: T("searchEverywhere") })));
    }
    return;
  }
  for (const t of S.queue) ui.list.append(queueItem(t));
  const at = S.queue.findIndex((t) => S.current && t.number === S.current.number);
  if (at >= 0) S.currentAt = at;
  if (more) {
    ui.list.append(h("li", { class: "c-more" },
      h("button", { type: "button", class: "c-btn c-ghost", "data-more": "", onclick: showMore, text: T("showMore") })));
  }
  ui.list.scrollTop = top;
  const again = focused && ui.list.querySelector(focused === "more" ? "[data-more]" : `[data-number="${focused}"]`);
  if (again) again.focus({ preventScroll: true });
}

// The next page (the queue API has a limit, no offset: the list grows by a page). The
// keyboard goes on from the first ticket it adds.
async function showMore() {
  const before = S.queue.length;
  S.queueLimit = Math.min(S.queueLimit + QUEUE_PAGE, QUEUE_MAX);
  await loadQueue();
  const first = ui.list.querySelectorAll(".c-item")[before];
  if (first) first.focus();
}

document.addEventListener("pointerdown", (ev) => {
  S.pressingQueue = !!(ui.list && ui.list.contains(ev.target));
});
for (const end of ["pointerup", "pointercancel"]) {
  document.addEventListener(end, () => {
    if (!S.pressingQueue) return;
    S.pressingQueue = false;
    // after the click this release makes (which renders anyway when it opens a ticket)
    setTimeout(() => S.queueStale && renderQueue());
  });
}

function queueItem(t) {
  const selected = S.current && S.current.number === t.number;
  const unread = S.unread.has(t.number);
  const fresh = S.fresh.has(t.number);
  const waiting = t.status !== "closed" && (t.last_author === "student" || t.last_author === null);
  const holder = t.operator ? (isMine(t) ? T("mine") : t.operator.name) : T("unassigned");
  return h("li", {},
    h("button", {
      type: "button",
      class: "c-item" + (selected ? " c-item-current" : "") + (unread ? " c-item-unread" : ""),
      "aria-current": selected ? "true" : null,
      "data-number": t.number,
      onclick: () => openTicket(t.number),
    },
      // number and name on one line: forty tickets are more lines on a laptop's screen
      h("span", { class: "c-item-top" },
        h("span", { class: "c-num", text: t.number }),
        h("span", { class: "c-item-name", text: t.name }),
        fresh ? h("span", { class: "c-badge c-badge-new", text: T("newBadge") }) : null,
        unread ? h("span", { class: "c-dot", title: T("unreadLabel") }, h("span", { class: "c-sr", text: T("unreadLabel") })) : null,
        h("span", { class: ageClass(t), title: T("ageTitle", { age: fmtAge(t.created_at), date: fmtDate(t.created_at) }), text: fmtAge(t.created_at) }),
      ),
      h("span", { class: "c-item-meta" },
        h("span", { text: subtopicLabel(t.topic, t.subtopic) }),
        h("span", { class: "c-status c-status-" + t.status, text: statusLabel(t.status) }),
      ),
      h("span", { class: "c-item-meta" },
        h("span", { class: t.operator ? (isMine(t) ? "c-holder c-holder-me" : "c-holder") : "c-holder c-holder-none", text: holder }),
        waiting ? h("span", { class: "c-needs", title: waitedFor(t) }, T("needsReply"), t.student_waiting_since ? " · " + fmtAge(t.student_waiting_since) : "") : null,
      ),
    ),
  );
}

// The line's age is the ticket's; a student who wrote again after an answer has waited far
// less, one opened a minute ago after a day of silence not at all: "Da rispondere" says since
// when the office owes the answer, the order of "Fermi da più tempo".
function waitedFor(t) {
  return t.student_waiting_since ? T("waitingTitle", { date: fmtDate(t.student_waiting_since) }) : "";
}

setInterval(() => {
  if (S.me && ui.list && S.view === "queue") renderQueue();
}, 60000);
