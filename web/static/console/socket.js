/* The live connection to the /console namespace (docs/protocol.md, section /console): server
 * events update the queue, the open ticket and who is online. */

import { lang, S } from "./state.js";
import { T } from "./texts.js";
import { api } from "./api.js";
import { announce, beep, toast, updateTitle } from "./feedback.js";
import { signedOut } from "./signin.js";
import { renderOnline, setLive } from "./frame.js";
import { loadQueue, renderQueue, scheduleQueue } from "./queue.js";
import { seen } from "./catchup.js";
import { appendMessage, leaveTicket, reloadTicket, renderEmptyTicket, renderWarnings } from "./ticket.js";
import { renderComposerHint } from "./composer.js";
import { statusLabel } from "./format.js";

export function connect() {
  if (typeof io !== "function") {
    setLive(false);
    return;
  }
  const socket = (S.socket = io("/console", {
    path: "/socket.io",
    auth: { csrf_token: S.me.csrf_token, lang },
    reconnectionDelayMax: 10000,
  }));
  let retryDelay = 0;
  let connectedBefore = false;
  socket.on("connect", () => {
    retryDelay = 0;
    setLive(true);
    if (S.current) socket.emit("open_ticket", { number: S.current.number });
    S.catchUpDue = true;
    loadQueue(true);
    // What happened while the connection was down (a student's message, a colleague's reply
    // or closing) was pushed to nobody: the ticket on screen is read again, the draft kept.
    if (connectedBefore) reloadTicket(true);
    connectedBefore = true;
  });
  socket.on("disconnect", () => {
    setLive(false);
    missedFrom();
  });
  // Connected all along, but the server lost what other processes pushed meanwhile (Redis
  // away): as after a reconnection, the queue and the ticket on screen are read again.
  socket.on("resync", () => {
    missedFrom();
    S.catchUpDue = true;
    // every console on the process hears it at once: the reloads are spread, as a change's are
    scheduleQueue();
    setTimeout(() => reloadTicket(true), Math.random() * 1000);
  });
  socket.on("connect_error", async (err) => {
    setLive(false);
    if (err && ["unauthorized", "csrf", "forbidden"].includes(err.message)) {
      // The session is gone (expired, revoked, or the server restarted without a word, as
      // after a crash): ask for a new login. Which it was the console cannot tell: an unknown
      // session looks the same to the server either way; a restart on purpose says so first.
      const res = await api("GET", "/api/console/me");
      if (!res.ok && S.me) signedOut(T("sessionGone"));
      else if (res.ok) {
        S.me.csrf_token = res.data.csrf_token;
        socket.auth = { csrf_token: res.data.csrf_token, lang };
        setTimeout(() => S.socket === socket && socket.connect(), 2000);
      }
    } else if (err && err.message === "unavailable") {
      // The server refused us while its database was out of reach; a refused connection is
      // not retried by the client on its own: try again, more slowly each time.
      retryDelay = Math.min((retryDelay || 1000) * 2, 30000);
      // (unless signed out meanwhile: this socket is then no longer the console's)
      setTimeout(() => S.socket === socket && socket.connect(), retryDelay);
    }
  });
  socket.on("session_expired", (p) => {
    const reason = p && p.reason;
    const known = { revoked: "revoked", replaced: "replaced", restart: "restarted", password_changed: "passwordChanged", role_changed: "roleChanged" };
    signedOut(T(known[reason] || "expired"));
  });
  socket.on("presence", (p) => {
    S.online = (p && p.operators) || [];
    renderOnline();
  });
  socket.on("queue", onQueueEvent);
  socket.on("ticket_message", onTicketMessage);
  socket.on("viewers", (p) => {
    if (!S.current || p.number !== S.current.number) return;
    S.viewers = p.operators || [];
    for (const username of [...S.typing.keys()]) {
      if (!S.viewers.some((v) => v.username === username)) S.typing.delete(username);
    }
    renderWarnings();
  });
  socket.on("operator_typing", (p) => {
    if (!S.current || p.number !== S.current.number || p.username === S.me.username) return;
    if (p.typing) S.typing.set(p.username, { name: p.name, internal: !!p.internal });
    else S.typing.delete(p.username);
    renderWarnings();
  });
  socket.on("student_typing", (p) => {
    if (!S.current || p.number !== S.current.number) return;
    S.studentTyping = !!p.typing;
    clearTimeout(S.studentTypingTimer);
    if (S.studentTyping) S.studentTypingTimer = setTimeout(() => { S.studentTyping = false; renderWarnings(); }, 8000);
    renderWarnings();
  });
  socket.on("student_online", (p) => {
    if (!S.current || p.number !== S.current.number) return;
    S.studentOnline = !!p.online;
    renderWarnings();
    renderComposerHint();
  });
  socket.on("error", (p) => p && p.message && toast(p.message, "error"));
}

// What comes after the latest change heard of was pushed to nobody (catchup.js badges it once
// the connection is back).
function missedFrom() {
  S.drops += 1;
  if (S.missedSince === null && S.seenUntil) S.missedSince = S.seenUntil;
}

export function emit(event, payload) {
  if (S.socket && S.connected) S.socket.emit(event, payload);
}

// The idle timeout counts from the operator's last action, not from the last server push.
function noteActivity() {
  const now = Date.now();
  if (now - S.activeSent > 60000) {
    S.activeSent = now;
    emit("active", {});
  }
}
document.addEventListener("keydown", noteActivity, { passive: true });
document.addEventListener("pointerdown", noteActivity, { passive: true });

// A student's message in the ticket on screen, while the operator was in another tab (the
// university's records, the mail), counted as unread: back here, they are reading it.
document.addEventListener("visibilitychange", () => {
  if (document.hidden || !S.current || S.view !== "queue" || !S.unread.delete(S.current.number)) return;
  updateTitle();
  renderQueue();
});

function onQueueEvent(p) {
  const t = p && p.ticket;
  if (!t) return;
  seen(t);
  const byMe = p.by === S.me.username;
  // A ticket a colleague holds, or one closed, is not this operator's to catch up on: the
  // title's count and the beeps are about the tickets that wait for them.
  const colleagues = t.operator && t.operator.username !== S.me.username;
  if (colleagues || t.status === "closed") {
    S.fresh.delete(t.number);
    S.unread.delete(t.number);
  }
  if (p.reason === "created") {
    S.fresh.add(t.number);
    beep();
    announce(T("newTicket", { number: t.number, name: t.name }));
  } else if (p.reason === "message" && p.by === "student" && !colleagues) {
    if (!S.current || S.current.number !== t.number || document.hidden) {
      S.unread.add(t.number);
      beep();
      announce(T("newMessage", { number: t.number }));
    }
  } else if (p.reason === "assigned" && !byMe && t.operator && t.operator.username === S.me.username) {
    toast(T("assignedToYou", { by: nameOf(p.by), number: t.number }), "info");
    beep();
  }
  if (p.reason === "anonymised" && S.current && S.current.number === t.number) {
    // Erased while on screen: nothing of it may stay in front of the operator.
    leaveTicket();
    renderEmptyTicket();
    toast(T("erasedCurrent", { number: t.number }), "info");
  }
  // nor in a draft, which the page would keep asking to save and could never send
  if (p.reason === "anonymised") S.drafts.delete(t.number);
  updateTitle();
  scheduleQueue();
  // a colleague's reply may also have taken the ticket: the open copy must say who holds it
  const changed = ["status", "assigned", "rated", "contact"].includes(p.reason) || (p.reason === "message" && p.by !== "student");
  if (S.current && S.current.number === t.number && changed && !byMe) reloadTicket(true);
  // A colleague closing the ticket being answered only greyed out Send: say who did what.
  if (S.current && S.current.number === t.number && p.reason === "status" && !byMe && p.by !== "student") {
    toast(T("statusChangedBy", { by: p.by === "system" ? T("bySystem") : nameOf(p.by), number: t.number, status: statusLabel(t.status) }), "info");
  }
}

function nameOf(username) {
  const found = S.team.find((o) => o.username === username) || S.online.find((o) => o.username === username);
  return found ? found.name : username;
}

function onTicketMessage(p) {
  if (!S.current || !p || p.number !== S.current.number || !p.message) return;
  if (S.current.messages.some((m) => m.id === p.message.id)) return;
  S.current.messages.push(p.message);
  if (p.message.author === "student") S.studentTyping = false;
  if (p.message.author === "operator") {
    for (const [username, x] of S.typing) if (x.name === p.message.name) S.typing.delete(username);
  }
  appendMessage(p.message, true);
  renderWarnings();
  // the thread is no live region (it would read the whole ticket out): say what arrived
  if (p.message.author === "student") announce(T("studentWroteHere", { name: p.message.name || S.current.name }));
  else if (p.message.author === "operator" && !p.message.internal && p.message.name !== S.me.name) {
    announce(T("colleagueWroteHere", { name: p.message.name }));
  }
}
