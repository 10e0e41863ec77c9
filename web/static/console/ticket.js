/* One ticket: its header and actions (take, transfer, status), what colleagues and the student
 * are doing, the thread, and the side column. The composer is in composer.js. */

import { S, ui } from "./state.js";
import { T } from "./texts.js";
import { clear, h } from "./dom.js";
import { fmtDate, fmtSize, heldByOther, isMine, parkReason, statusLabel } from "./format.js";
import { api, errorText } from "./api.js";
import { announce, toast, updateTitle } from "./feedback.js";
import { showAdmin, showView } from "./frame.js";
import { loadTeam } from "./accounts.js";
import { exportStudent } from "./privacy.js";
import { contactControl } from "./contact.js";
import { emit } from "./socket.js";
import { renderQueue, scheduleQueue } from "./queue.js";
import { draftFile, insertAnswer, insertOfficeText, renderComposer, renderComposerHint, renderComposerMode, saveDraft, stopTyping } from "./composer.js";

export function renderEmptyTicket() {
  ui.main.classList.remove("c-has-ticket");
  clear(ui.ticketPane).append(h("p", { class: "c-placeholder", text: T("pickTicket") }));
}

export async function openTicket(number) {
  // The ticket on screen stays, and keeps working, until the next one has loaded: one that
  // fails to load (a blip, an erased ticket) leaves the operator where they were.
  const asked = ++S.opening;
  // the team too: the transfer list must offer a colleague added since sign-in, and not one
  // deactivated since
  const [res] = await Promise.all([api("GET", "/api/console/tickets/" + encodeURIComponent(number)), loadTeam()]);
  if (asked !== S.opening) return; // another ticket was asked for meanwhile
  if (!res.ok) {
    toast(errorText(res.error), "error");
    return;
  }
  if (S.current && S.current.number !== number) leaveTicket();
  else saveDraft(); // the same ticket again (a refresh): the reply being written stays
  S.unread.delete(number);
  S.fresh.delete(number);
  updateTitle();
  S.current = res.data;
  S.currentAt = 0; // (found again by renderQueue below, when the queue lists it)
  S.viewers = res.data.viewers || [];
  S.studentOnline = !!res.data.student_online;
  S.studentTyping = false;
  S.typing.clear();
  S.mode = (S.drafts.get(number) || {}).mode || "reply";
  showView("queue");
  renderTicket();
  renderQueue();
  emit("open_ticket", { number });
  ui.main.classList.add("c-has-ticket");
  ui.ticketTitle.focus();
}

export function leaveTicket() {
  if (!S.current) return;
  saveDraft();
  stopTyping();
  emit("close_ticket", { number: S.current.number });
  S.current = null;
}

export async function reloadTicket(background) {
  if (!S.current) return;
  const number = S.current.number;
  const res = await api("GET", "/api/console/tickets/" + number, undefined, background === true);
  // the operator opened another ticket meanwhile: this one's answer would take its place,
  // and the reply being written would go to the ticket left
  if (!res.ok || !S.current || S.current.number !== number) return;
  // A colleague's change redraws the header and the side column under the operator: what
  // they were typing into the ready answers' search, and where the keyboard was, stay.
  // Nor may it move what they were reading: the thread keeps its place (unless they were at
  // its end, where the new message is followed), the side column its scroll and what was open.
  const focused = ui.ticketPane.contains(document.activeElement) ? document.activeElement.id : "";
  const asideTop = ui.aside.scrollTop;
  S.current = res.data;
  S.studentOnline = !!res.data.student_online;
  renderHeader();
  updateThread();
  renderAside(true);
  ui.aside.scrollTop = asideTop;
  renderWarnings();
  renderComposerMode();
  const again = focused && document.getElementById(focused);
  if (again) again.focus({ preventScroll: true });
}

function renderTicket() {
  ui.header = h("div", { class: "c-t-header" });
  ui.warnings = h("div", { class: "c-warnings", role: "status", "aria-live": "polite" });
  ui.thread = h("ol", { class: "c-thread", "aria-label": T("thread") });
  ui.aside = h("aside", { class: "c-aside" });
  ui.composer = h("div", { class: "c-composer" });
  clear(ui.ticketPane).append(
    h("button", { type: "button", class: "c-btn c-ghost c-back", onclick: backToQueue, text: "← " + T("back") }),
    ui.header,
    ui.warnings,
    h("div", { class: "c-t-body" },
      h("div", { class: "c-t-main" }, ui.thread, ui.composer),
      ui.aside,
    ),
  );
  renderHeader();
  renderWarnings();
  renderThread();
  renderComposer();
  renderAside();
}

function backToQueue() {
  leaveTicket();
  renderEmptyTicket();
  renderQueue();
  const first = ui.list.querySelector("button");
  if (first) first.focus();
}

function renderHeader() {
  const t = S.current;
  ui.ticketTitle = h("h2", { tabindex: "-1", class: "c-t-title" },
    h("span", { class: "c-num", text: T("ticket") + " " + t.number }), " ", h("span", { text: t.name }));
  const holder = t.operator
    ? (isMine(t) ? T("you") + " (" + t.operator.name + ")" : t.operator.name)
    : T("nobody");
  const take = isMine(t) ? null : h("button", {
    type: "button",
    class: "c-btn" + (t.operator ? "" : " c-primary"),
    onclick: () => assign(""),
    text: t.operator ? T("takeOver", { name: t.operator.name }) : T("take"),
  });
  const colleagues = S.team.filter((o) => o.active && o.username !== S.me.username && o.username !== (t.operator && t.operator.username));
  const online = new Set(S.online.map((o) => o.username));
  const select = h("select", { id: "c-transfer" },
    h("option", { value: "", text: T("chooseColleague") }),
    colleagues.map((o) => h("option", { value: o.username, text: o.name + (online.has(o.username) ? " · " + T("isOnline") : "") })));
  const transfer = h("form", { class: "c-transfer", onsubmit: (ev) => { ev.preventDefault(); if (select.value) assign(select.value); } },
    h("label", { for: "c-transfer", class: "c-label", text: T("transferTo") }), select,
    h("button", { type: "submit", class: "c-btn", text: T("transfer") }));
  const statusButtons = [];
  if (t.status !== "awaiting_user" && t.status !== "closed") {
    statusButtons.push(h("button", { type: "button", class: "c-btn", title: T("setAwaitingHelp"), onclick: () => setStatus("awaiting_user"), text: T("setAwaiting") }));
  }
  if (t.status !== "closed") statusButtons.push(h("button", { type: "button", class: "c-btn", onclick: () => setStatus("closed"), text: T("close") }));
  else statusButtons.push(h("button", { type: "button", class: "c-btn", onclick: () => setStatus("open"), text: T("reopen") }));
  clear(ui.header).append(
    h("div", { class: "c-t-titlebar" },
      ui.ticketTitle,
      h("span", { class: "c-status c-status-" + t.status, text: statusLabel(t.status) }),
      h("span", { class: "c-status-actions" }, statusButtons),
    ),
    h("p", { class: "c-t-sub" },
      h("span", { text: t.topic_label + " › " + t.subtopic_label }), " · ",
      h("span", { title: fmtDate(t.created_at), text: T("opened") + " " + fmtDate(t.created_at) }),
    ),
    h("div", { class: "c-t-actions" },
      h("p", { class: "c-holder-line" }, h("span", { class: "c-label", text: T("heldBy") + ": " }), h("strong", { text: holder })),
      take,
      transfer,
    ),
  );
}

export function renderWarnings() {
  if (!S.current || !ui.warnings) return;
  const t = S.current;
  const items = [];
  const others = S.viewers.filter((v) => v.username !== S.me.username);
  // A reply that could go out before this operator's is worth a wait; one from a colleague
  // who does not hold the ticket could not be sent (the student is not told of it either).
  const canSend = (username) => !t.operator || t.operator.username === username;
  const typing = [...S.typing.entries()];
  const typingReply = typing.filter(([u, x]) => !x.internal && canSend(u)).map(([, x]) => x);
  const drafting = typing.filter(([u, x]) => !x.internal && !canSend(u)).map(([, x]) => x);
  const typingNote = typing.filter(([, x]) => x.internal).map(([, x]) => x);
  for (const x of typingReply) items.push(h("p", { class: "c-warn c-warn-strong", text: T("colleagueTyping", { name: x.name }) }));
  for (const x of drafting) items.push(h("p", { class: "c-warn", text: T("colleagueDrafting", { name: x.name }) }));
  for (const x of typingNote) items.push(h("p", { class: "c-warn", text: T("colleagueNote", { name: x.name }) }));
  if (others.length && !typingReply.length && !drafting.length) {
    const names = others.map((o) => o.name).join(", ");
    items.push(h("p", { class: "c-warn", text: T(others.length > 1 ? "viewersWarnMany" : "viewersWarn", { names }) }));
  }
  // Why the send button is off; the button to take it over is in the header.
  if (heldByOther(t)) items.push(h("p", { class: "c-warn", text: T("heldWarn", { name: t.operator.name }) }));
  // The newest mail given up on: what the student has not been told, and how to reach them.
  const lost = t.undelivered_mail[t.undelivered_mail.length - 1];
  if (lost) {
    items.push(h("p", { class: "c-warn c-warn-strong", text: T("mailUndelivered", { email: t.email, phone: t.phone }) },
      h("br", {}), parkReason(lost), lost.last_error ? " " + T("detail", { detail: lost.last_error }) : ""));
  }
  if (S.studentTyping) items.push(h("p", { class: "c-info c-typing", text: T("studentTyping") }));
  const atEnd = threadAtEnd();
  clear(ui.warnings).append(...items);
  if (atEnd) scrollThreadToEnd();
  renderComposerHint();
}

function messageItem(m) {
  const cls = m.internal ? "c-msg c-msg-note" : "c-msg c-msg-" + m.author;
  const who = m.author === "student" ? T("student") + " · " + m.name
    : m.author === "operator" ? m.name
    : T("system");
  return h("li", { class: cls, "data-id": m.id },
    h("p", { class: "c-msg-head" },
      h("strong", { text: who }),
      m.internal ? h("span", { class: "c-note-tag", text: T("internalNote") }) : null,
      h("time", { datetime: m.at, text: fmtDate(m.at) })),
    h("p", { class: "c-msg-body", dir: "auto", text: m.body }), // Arabic or Persian reads right to left
    (m.attachments || []).length
      ? h("ul", { class: "c-attachments" }, m.attachments.map((a) => h("li", {},
        h("a", {
          href: "/api/tickets/" + S.current.number + "/attachments/" + encodeURIComponent(a.id),
          download: a.filename,
          text: T("attachment") + ": " + a.filename + " (" + fmtSize(a.size) + ")",
          "aria-label": T("download", { name: a.filename, size: fmtSize(a.size) }),
        }))))
      : null,
  );
}

function renderThread() {
  clear(ui.thread);
  for (const m of S.current.messages) ui.thread.append(messageItem(m));
  scrollThreadToEnd();
}

// The thread after a reload: the messages on screen stay, the new ones are appended (followed
// only by a reader at the end); a thread that changed otherwise is drawn again in its place.
function updateThread() {
  const shown = [...ui.thread.children].map((li) => li.dataset.id);
  const ids = S.current.messages.map((m) => String(m.id));
  if (shown.every((id, i) => id === ids[i])) {
    for (const m of S.current.messages.slice(shown.length)) appendMessage(m);
    return;
  }
  const atEnd = threadAtEnd();
  const top = ui.thread.scrollTop;
  clear(ui.thread);
  for (const m of S.current.messages) ui.thread.append(messageItem(m));
  if (atEnd) scrollThreadToEnd();
  else ui.thread.scrollTop = top;
}

const threadAtEnd = () => !ui.thread || ui.thread.scrollHeight - ui.thread.scrollTop - ui.thread.clientHeight < 120;
// After layout: the composer and the warnings change the thread's height once they render.
function scrollThreadToEnd() {
  requestAnimationFrame(() => {
    if (!ui.thread) return;
    ui.thread.scrollTop = ui.thread.scrollHeight;
  });
}

export function appendMessage(m) {
  const nearBottom = threadAtEnd();
  ui.thread.append(messageItem(m));
  if (nearBottom) scrollThreadToEnd();
}

/* take, transfer, status */

// A colleague took the ticket between the operator's look and their press: the ticket is
// drawn again (its header names the new holder) and the question says who holds it now and
// what pressing on would do to them.
// A ticket a colleague already held at the press is asked about once, before: without the
// force its request was sure to be refused, and the question after it said "meanwhile" of a
// holder that had been on screen all along.
async function withForce(call, question, asked = "") {
  const held = heldByOther(S.current) ? S.current.operator : null;
  if (held && !window.confirm((asked || T("heldAlready", { name: held.name })) + "\n\n" + question(held.name))) return null;
  let res = await call(!!held);
  if (!res.ok && res.status === 409 && res.error.code === "held_by_other") {
    await reloadTicket(true);
    const holder = S.current && S.current.operator;
    if (holder && !window.confirm(T("confirmForce", { name: holder.name }) + "\n\n" + question(holder.name))) return null;
    res = await call(true);
  }
  if (!res.ok) {
    toast(errorText(res.error), "error");
    return null;
  }
  return res;
}

async function assign(username) {
  const t = S.current;
  if (!t) return;
  const to = (S.team.find((o) => o.username === username) || { name: username }).name;
  const res = await withForce(
    (force) => api("POST", "/api/console/tickets/" + t.number + "/assign", { username, force }),
    (name) => (username ? T("forceTransfer", { name, to }) : T("forceTake", { name })));
  if (!res) return;
  announce(T("assignedTo", { number: t.number, name: res.data.ticket.operator ? res.data.ticket.operator.name : "" }));
  await reloadTicket();
  scheduleQueue();
  keepPlace();
}

// The header's buttons are drawn again after an action: focus, which was on the button
// pressed, would fall to the page's top; the ticket's title keeps the keyboard's place.
function keepPlace() {
  if (!ui.ticketPane.contains(document.activeElement)) ui.ticketTitle.focus();
}

// duplicateOf: closing because the same student's request goes on in that ticket (the student
// is told to follow it, and asked for no rating).
async function setStatus(status, duplicateOf) {
  const t = S.current;
  if (!t) return;
  // Closing, or asking the student for more, with the answer still in the box would mail the
  // student "resolved" or "read the operator's message" with no message to read.
  const unsent = S.mode === "reply" && ui.text && (ui.text.value.trim() || draftFile());
  if (unsent && status !== "open" && !window.confirm(T("confirmUnsent", { status: statusLabel(status) }))) {
    ui.text.focus();
    return;
  }
  // A colleague writing the answer that this change would make pointless (or mail past).
  const writing = [...S.typing.values()].find((x) => !x.internal);
  const warnWriting = !unsent && writing && status !== "open";
  // (the holder's own writing goes into the one question about their ticket)
  const holderWriting = warnWriting && heldByOther(t) && writing.name === t.operator.name;
  if (warnWriting && !holderWriting && !window.confirm(T("confirmColleagueWriting", { name: writing.name, status: statusLabel(status) }))) return;
  // the last message on screen: a closing that crosses the student's new one is refused
  const after = t.messages.length ? t.messages[t.messages.length - 1].id : undefined;
  const res = await withForce(
    (force) => api("POST", "/api/console/tickets/" + t.number + "/status", { status, force, after, ...(duplicateOf ? { duplicate_of: duplicateOf } : {}) }),
    (name) => T("forceStatus", { name, status: statusLabel(status) }),
    holderWriting ? T("heldWriting", { name: t.operator.name }) : "");
  if (!res) {
    await reloadTicket(true); // the refusal's reason, a student's new message, on screen
    return;
  }
  announce(T("statusChanged", { number: t.number, status: statusLabel(status) }));
  await reloadTicket();
  scheduleQueue();
  keepPlace();
}

// The same student's same request in two tickets (a deadline night, a page reloaded): this
// one closes, the other goes on.
function duplicateButton(t, other) {
  return h("button", {
    type: "button",
    class: "c-linklike",
    "aria-label": T("closeAsDuplicateLong", { number: t.number, other }),
    onclick: () => {
      if (window.confirm(T("confirmDuplicate", { number: t.number, other }))) setStatus("closed", other);
    },
    text: T("closeAsDuplicate"),
  });
}

/* the side column: student, chat before the ticket, canned answers, history */

// again: a reload of the ticket on screen, whose ready answers (what was typed in their
// search, which ones were open) and open transcript stay as they were.
function renderAside(again = false) {
  const t = S.current;
  const keep = again && ui.cannedInput && ui.cannedList;
  const transcriptOpen = again && !!ui.aside.querySelector(".c-transcript[open]");
  const dl = h("dl", { class: "c-facts" },
    h("dt", { text: T("email") }), h("dd", {}, h("span", { class: "c-copyable", text: t.email })),
    h("dt", { text: T("phone") }), h("dd", {}, h("a", { href: "tel:" + t.phone, text: t.phone })),
    h("dt", { text: T("topic") }), h("dd", { text: t.topic_label + " › " + t.subtopic_label }),
    h("dt", { text: T("language") }), h("dd", { text: t.lang === "en" ? T("langEn") : T("langIt") }),
    h("dt", { text: T("opened") }), h("dd", { text: fmtDate(t.created_at) }),
    t.references ? [h("dt", { text: T("follows") }), h("dd", {}, ticketLink(t.references))] : null,
    t.duplicate_of ? [h("dt", { text: T("duplicateOf") }), h("dd", {}, ticketLink(t.duplicate_of))] : null,
    h("dt", { text: T("otherTickets") }),
    h("dd", {}, t.other_tickets.length
      ? h("ul", { class: "c-inline-list" }, t.other_tickets.map((o) => h("li", {}, ticketLink(o.number), " ", h("span", { class: "c-muted", text: statusLabel(o.status) }),
        // the newer closes in favour of the earlier (the server keeps to it: no two closings cross)
        t.status !== "closed" && o.status !== "closed" && o.created_at < t.created_at ? [" ", duplicateButton(t, o.number)] : null)))
      : T("none")),
  );
  if (!keep) {
    ui.cannedInput = h("input", { id: "c-canned", type: "search", placeholder: T("cannedPlaceholder"), autocomplete: "off" });
    ui.cannedList = h("ul", { class: "c-canned-list" });
    let timer = null;
    ui.cannedInput.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(loadCanned, 250); });
  }
  clear(ui.aside).append(
    ...(t.rating ? [ratingCard(t.rating)] : []), // the DOM's own append writes a null as "null"
    h("section", { class: "c-card" }, h("h3", { text: T("studentData") }), dl,
      contactControl(t, redrawAside, reloadTicket),
      // The student's requests about their data (GDPR) are the admins' to carry out.
      S.me.role === "admin" ? h("div", { class: "c-privacy-actions" },
        h("button", { type: "button", class: "c-linklike", onclick: () => exportStudent(t.number), text: T("exportStudent") }),
        h("button", { type: "button", class: "c-linklike", onclick: () => showAdmin("privacy", t.email), text: T("eraseStudent") })) : null),
    h("section", { class: "c-card" }, h("h3", { text: T("beforeTicket") }), chatBefore(t, transcriptOpen)),
    h("section", { class: "c-card" },
      h("h3", {}, h("label", { for: "c-canned", text: T("canned") })),
      ui.cannedInput, ui.cannedList),
    h("section", { class: "c-card" }, h("h3", { text: T("history") }),
      h("ol", { class: "c-history" }, historyOf(t).map(([text, at]) => h("li", {},
        h("span", { text }), " ", h("time", { class: "c-muted", datetime: at, text: fmtDate(at) }))))),
  );
  if (!keep) loadCanned();
}

function redrawAside() {
  const top = ui.aside.scrollTop;
  renderAside(true);
  ui.aside.scrollTop = top;
}

// The status changes and the changes of hands, in the order they happened (stamps are UTC
// ISO text: they sort as text; a stable sort keeps a status change before the take-over it
// caused). Tickets changed before hands were recorded have status changes only.
function historyOf(t) {
  const who = (by, name) => by === "student" ? T("byStudent") : by === "system" ? T("bySystem") : name || by;
  const rows = [
    ...t.history.map((x) => [T("historyItem", { status: statusLabel(x.status), by: who(x.by, x.by_name) }), x.at]),
    ...(t.assignments || []).map((x) => [
      x.operator === null ? T("historyReleased", { by: x.by_name || x.by })
        : x.operator === x.by ? T("historyTaken", { by: x.by_name || x.by })
        : T("historyAssigned", { to: x.operator_name || x.operator, by: x.by_name || x.by }),
      x.at]),
  ];
  return rows.sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
}

// The student's verdict on the closed ticket, at the top: it is what the operator looks for.
function ratingCard(r) {
  return h("section", { class: "c-card c-rating" },
    h("h3", { text: T("ratingTitle") }),
    h("p", {},
      h("span", { class: "c-stars", "aria-hidden": "true", text: "\u2605".repeat(r.score) + "\u2606".repeat(5 - r.score) }),
      " ", h("strong", { text: T("ratingScore", { n: r.score }) }),
      " ", h("time", { class: "c-muted", datetime: r.at, text: fmtDate(r.at) })),
    r.comment ? h("blockquote", { class: "c-quote", text: r.comment }) : h("p", { class: "c-muted", text: T("ratingNoComment") }));
}

function ticketLink(number) {
  return h("button", { type: "button", class: "c-linklike", onclick: () => openTicket(number), text: "#" + number });
}

function chatBefore(t, open) {
  const c = t.conversation;
  if (!c) return h("p", { class: "c-muted", text: T("noChat") });
  const faqs = c.faqs || [];
  return h("div", {},
    faqs.length
      ? [h("p", { text: T("faqRefused") }), h("ul", { class: "c-faq-refused" }, faqs.map((f) => h("li", { text: f.question })))]
      : h("p", { class: "c-muted", text: T("noFaqShown") }),
    h("details", { class: "c-transcript", open },
      h("summary", { text: T("transcript", { n: c.transcript.length }) }),
      h("ol", {}, c.transcript.map((e) => h("li", { class: "c-tr c-tr-" + e.from },
        h("strong", { text: (e.from === "student" ? T("student") : T("bot")) + ": " }),
        e.kind === "faq" ? h("em", { text: T("faqShown") + ": " }) : null,
        e.text)))),
  );
}

async function loadCanned() {
  const t = S.current;
  if (!t) return;
  const params = new URLSearchParams({ lang: t.lang, topic: t.topic, subtopic: t.subtopic });
  const typed = ui.cannedInput.value.trim();
  // Before the operator types anything: the FAQs closest to what the student asked.
  const first = t.messages.find((m) => m.author === "student");
  const q = typed || (first ? first.body.slice(0, 300) : "");
  if (q) params.set("q", q);
  if (typed) params.set("find", typed);
  const res = await api("GET", "/api/console/faq?" + params.toString());
  // (a reload of the same ticket meanwhile keeps this list: the answer is still for it)
  if (!res.ok || !S.current || S.current.number !== t.number) return;
  const proposed = new Set(((t.conversation && t.conversation.faqs) || []).map((f) => f.id));
  clear(ui.cannedList);
  // the office's own texts first: a handful, the ones operators write every day
  for (const r of res.data.replies) {
    ui.cannedList.append(h("li", { class: "c-canned c-canned-office" },
      h("details", {},
        h("summary", {}, h("span", { class: "c-tag", text: T("officeText") }), " ", r.title),
        h("p", { class: "c-canned-answer", text: r.text })),
      h("button", { type: "button", class: "c-btn c-small-btn", "aria-label": T("insertLabel", { question: r.title }), onclick: () => insertOfficeText(r), text: T("insert") })));
  }
  if (!typed && res.data.faqs.length) ui.cannedList.append(h("li", { class: "c-muted c-small", text: T("cannedHint") }));
  if (!res.data.faqs.length) ui.cannedList.append(h("li", { class: "c-muted", text: T("cannedNone") }));
  for (const f of res.data.faqs) {
    ui.cannedList.append(h("li", { class: "c-canned" },
      h("details", {},
        h("summary", {}, f.question, proposed.has(f.id) ? h("span", { class: "c-tag", text: T("alreadyProposed") }) : null),
        h("p", { class: "c-canned-answer", text: f.answer })),
      h("button", { type: "button", class: "c-btn c-small-btn", "aria-label": T("insertLabel", { question: f.question }), onclick: () => insertAnswer(f), text: T("insert") })));
  }
}
