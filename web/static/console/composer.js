/* The composer: a reply to the student or an internal note, a draft per ticket, the typing
 * signal to colleagues, FAQ answers inserted into the text, one file attached. */

import { S, ui } from "./state.js";
import { T } from "./texts.js";
import { clear, h } from "./dom.js";
import { fmtSize, heldByOther } from "./format.js";
import { api, errorText } from "./api.js";
import { announce, toast } from "./feedback.js";
import { emit } from "./socket.js";
import { appendMessage, reloadTicket } from "./ticket.js";

export function renderComposer() {
  const number = S.current.number;
  const draft = S.drafts.get(number) || { reply: "", note: "" };
  ui.modeReply = h("button", { type: "button", class: "c-mode", onclick: () => setMode("reply"), text: T("modeReply") });
  ui.modeNote = h("button", { type: "button", class: "c-mode c-mode-note", onclick: () => setMode("note"), text: T("modeNote") });
  ui.textLabel = h("label", { for: "c-text", class: "c-label" });
  ui.text = h("textarea", { id: "c-text", rows: "6", dir: "auto", value: draft[S.mode] || "" });
  ui.text.addEventListener("input", onTextInput);
  ui.text.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      send();
    }
  });
  // The file input stays hidden behind a real button (a label is no keyboard stop everywhere).
  ui.fileInput = h("input", { type: "file", id: "c-file", accept: ACCEPT, hidden: true, onchange: onFileChosen });
  ui.attachBtn = h("button", { type: "button", class: "c-btn c-small-btn", "aria-describedby": "c-file-help", onclick: () => ui.fileInput.click(), text: T("attachFile") });
  ui.fileChip = h("span", { class: "c-file-chip" });
  // What the reply leaves the ticket in: one mail tells the student both (a reply, then a status
  // change, was two mails a moment apart). Back to "keep" after each send: a close must be chosen.
  // Until then it is part of the ticket's draft, as the text is: another ticket opened meanwhile
  // or a sign-in after the session's end would send the reply without the close.
  ui.then = h("select", { id: "c-then", class: "c-then" },
    h("option", { value: "", text: T("thenKeep") }),
    h("option", { value: "awaiting_user", text: T("thenAwaiting") }),
    h("option", { value: "closed", text: T("thenClosed") }));
  ui.then.value = draft.then || "";
  ui.thenBox = h("span", { class: "c-then-box" }, h("label", { for: "c-then", class: "c-small", text: T("thenLabel") }), ui.then);
  ui.sendBtn = h("button", { type: "submit", class: "c-btn c-primary" });
  ui.sendError = h("p", { class: "c-error", role: "alert" });
  ui.composerHint = h("p", { class: "c-hint" });
  ui.length = h("span", { class: "c-small c-length", "aria-live": "polite" });
  clear(ui.composer).append(
    h("h3", { class: "c-sr", text: T("composer") }),
    h("div", { class: "c-modes", role: "group", "aria-label": T("composer") }, ui.modeReply, ui.modeNote),
    h("form", { class: "c-compose-form", onsubmit: (ev) => { ev.preventDefault(); send(); } },
      ui.textLabel, ui.text,
      h("div", { class: "c-compose-file" }, ui.attachBtn, ui.fileInput, ui.fileChip,
        h("span", { id: "c-file-help", class: "c-muted c-small", text: T("attachHelp") })),
      ui.sendError,
      h("div", { class: "c-compose-bar" }, ui.composerHint, ui.length, h("span", { class: "c-muted c-small", text: T("sendHint") }), ui.thenBox, ui.sendBtn)),
  );
  renderComposerMode();
  renderLength();
  renderFile();
}

// The server takes 4,000 characters (bot/validate.py MESSAGE_MAX): near it, say how many, so a
// long reply with ready answers inserted is trimmed before Send, not after.
const MESSAGE_MAX = 4000;

function renderLength() {
  const n = ui.text.value.length;
  ui.length.textContent = n > MESSAGE_MAX * 0.9 ? T("length", { n, max: MESSAGE_MAX }) : "";
  ui.length.classList.toggle("c-error", n > MESSAGE_MAX);
}

export function renderComposerMode() {
  if (!ui.text) return;
  const note = S.mode === "note";
  ui.modeReply.setAttribute("aria-pressed", String(!note));
  ui.modeNote.setAttribute("aria-pressed", String(note));
  ui.composer.classList.toggle("c-composer-note", note);
  ui.textLabel.textContent = note ? T("noteLabel") : T("replyLabel", { name: S.me.name });
  ui.text.placeholder = note ? T("notePlaceholder") : T("replyPlaceholder");
  ui.sendBtn.textContent = note ? T("saveNote") : T("sendReply");
  ui.thenBox.hidden = note; // a note tells the student nothing, a status included
  renderComposerHint();
}

export function renderComposerHint() {
  if (!ui.composerHint || !S.current) return;
  const note = S.mode === "note";
  // a closed ticket takes no message from the student: a reply would ask for one in vain
  const closed = !note && S.current.status === "closed";
  ui.composerHint.className = "c-hint" + (note || closed ? "" : S.studentOnline ? " c-hint-live" : "");
  ui.composerHint.textContent = note ? "" : closed ? T("closedReply")
    : S.studentOnline ? T("studentOnline")
    : S.current.undelivered_mail.length ? T("studentOfflineNoMail") : T("studentOffline");
  const blocked = closed || (!note && heldByOther(S.current));
  ui.sendBtn.disabled = blocked || S.sending;
  ui.text.disabled = false;
}

function setMode(mode) {
  if (mode === S.mode) return;
  saveDraft();
  stopTyping();
  S.mode = mode;
  const draft = S.drafts.get(S.current.number) || {};
  ui.text.value = draft[mode] || "";
  renderComposerMode();
  renderLength();
  ui.text.focus();
}

// The tickets with a reply, a note or a file chosen and not sent (the one on screen included):
// what a sign-out or a closed tab would lose.
export function unsentDrafts() {
  saveDraft();
  return [...S.drafts.values()].filter((d) => (d.reply || "").trim() || (d.note || "").trim() || d.file).length;
}

export function saveDraft() {
  if (!S.current || !ui.text) return;
  const d = S.drafts.get(S.current.number) || { reply: "", note: "" };
  d[S.mode] = ui.text.value;
  d.mode = S.mode;
  d.then = ui.then.value;
  S.drafts.set(S.current.number, d);
}

function draftOf(number = S.current.number) {
  const d = S.drafts.get(number) || { reply: "", note: "" };
  S.drafts.set(number, d);
  return d;
}

// The FAQ answers inserted into this ticket's reply: sent with it, for the editors' report.
function insertedFaqs(number = S.current.number) {
  const d = draftOf(number);
  return (d.faqs = d.faqs || []);
}

/* One file with the reply or the note, kept with the ticket's draft until it is sent. The
 * server decides (web/http/uploads.py: 2 MiB, PDF, PNG or JPEG by content); this check only
 * spares the wait for an upload it would refuse, with the students' rule. */

const MAX_FILE = 2 * 1024 * 1024;
const FILE_TYPES = ["application/pdf", "image/png", "image/jpeg"];
const ACCEPT = ".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg";
// The server's codes for a file it refused: that file cannot be sent as it is.
const FILE_ERRORS = ["too_large", "unsupported_type", "empty_file", "infected_file"];

function checkFile(f) {
  if (f.size > MAX_FILE) return "fileTooBig";
  if (!f.size) return "fileEmpty";
  const okType = FILE_TYPES.includes(f.type) || (!f.type && /\.(pdf|png|jpe?g)$/i.test(f.name));
  return okType ? null : "fileWrongType";
}

export const draftFile = (number = S.current && S.current.number) =>
  (number && S.drafts.get(number) && S.drafts.get(number).file) || null;

function setFile(number, file) {
  draftOf(number).file = file;
  if (S.current && S.current.number === number) renderFile();
}

function renderFile() {
  if (!ui.fileChip) return;
  const f = draftFile();
  clear(ui.fileChip);
  if (!f) return;
  ui.fileChip.append(
    h("span", { text: T("attached", { name: f.name, size: fmtSize(f.size) }) }),
    h("button", {
      type: "button",
      class: "c-linklike c-file-remove",
      "aria-label": T("removeFile", { name: f.name }),
      onclick: () => { setFile(S.current.number, null); ui.attachBtn.focus(); },
      text: "×",
    }),
  );
}

function onFileChosen() {
  const f = ui.fileInput.files && ui.fileInput.files[0];
  ui.fileInput.value = ""; // the same file may be chosen again after it was removed
  if (!f || !S.current) return;
  const problem = checkFile(f);
  if (problem) {
    // the file already attached, if any, stays; the text is untouched
    ui.sendError.textContent = T(problem, { name: f.name });
    ui.attachBtn.focus();
    return;
  }
  ui.sendError.textContent = "";
  setFile(S.current.number, f);
  announce(T("fileChosen", { name: f.name }));
}

function onTextInput() {
  if (!S.current) return;
  renderLength();
  // a reply emptied by hand no longer carries what was inserted into it
  if (S.mode === "reply" && !ui.text.value.trim()) insertedFaqs().length = 0;
  const now = Date.now();
  if (ui.text.value.trim() && now - S.typingSent > 3000) {
    S.typingSent = now;
    emit("operator_typing", { number: S.current.number, typing: true, internal: S.mode === "note" });
  }
  clearTimeout(S.typingTimer);
  S.typingTimer = setTimeout(stopTyping, 5000);
}

export function stopTyping() {
  clearTimeout(S.typingTimer);
  if (S.typingSent && S.current) emit("operator_typing", { number: S.current.number, typing: false, internal: S.mode === "note" });
  S.typingSent = 0;
}

async function send() {
  const t = S.current;
  if (!t || S.sending) return;
  // Ctrl+Enter gets here past a Send button that is off: its reason, not a refusal from the
  // server followed by "the ticket has been updated" when nothing was.
  if (ui.sendBtn.disabled) {
    ui.sendError.textContent = t.status === "closed" ? T("closedReply") : T("heldWarn", { name: t.operator.name });
    return;
  }
  const body = ui.text.value.trim();
  const file = draftFile(t.number);
  ui.sendError.textContent = "";
  if (!body && !file) {
    ui.sendError.textContent = T("bodyOrFile");
    ui.text.focus();
    return;
  }
  const internal = S.mode === "note";
  const last = t.messages.length ? t.messages[t.messages.length - 1].id : null;
  S.sending = true;
  ui.sendBtn.disabled = true;
  ui.sendBtn.textContent = T("sending");
  const faqIds = internal ? [] : insertedFaqs().slice(0, 10);
  const then = internal ? "" : ui.then.value;
  const payload = file ? replyForm(body, internal, last, faqIds, then, file)
    : { body, internal, after: last, ...(faqIds.length ? { faq_ids: faqIds } : {}), ...(then ? { status: then } : {}) };
  const res = await api("POST", "/api/console/tickets/" + t.number + "/messages", payload);
  S.sending = false;
  if (file && draftFile(t.number) === file && (res.ok || FILE_ERRORS.includes(res.error.code))) {
    setFile(t.number, null); // sent, or refused for what it is: either way no longer to send
  }
  if (res.ok && !internal) insertedFaqs(t.number).length = 0;
  // Signed out meanwhile (a 401, the session's end): nothing of this is on screen, and the
  // draft waits for the sign-in, less what went through, which would go twice.
  if (!S.me) {
    if (res.ok) forgetSent(t.number, internal ? "note" : "reply", body);
    return;
  }
  renderComposerMode();
  // The outcome belongs to the ticket it was sent on, whichever is on screen now: the operator
  // may have opened another, or a colleague's change reloaded this one (a new S.current).
  const here = S.current && S.current.number === t.number;
  if (!res.ok) {
    const refused = file && FILE_ERRORS.includes(res.error.code) ? T("fileRefused", { name: file.name }) + " " : "";
    if (!here) {
      toast(T("sendFailedOn", { number: t.number }) + " " + refused + errorText(res.error), "error");
      return;
    }
    ui.sendError.textContent = refused + errorText(res.error);
    if (res.status === 409) {
      await reloadTicket();
      toast(T("conflictReload"), "info");
    }
    ui.text.focus(); // the disabled Send button held it: back to the text, to fix or resend
    return;
  }
  const sent = then === "closed" ? T("sentClosed") : then === "awaiting_user" ? T("sentAwaiting")
    : res.data.mailed ? T("sentMail") : T("sentLive");
  toast(internal ? T("noteSaved") : sent, "ok");
  forgetSent(t.number, internal ? "note" : "reply", body);
  if (!here) return;
  stopTyping();
  const shown = S.current;
  if (!shown.messages.some((m) => m.id === res.data.message.id)) {
    shown.messages.push(res.data.message);
    appendMessage(res.data.message);
  }
  if (!internal && (!shown.operator || then)) reloadTicket();
  ui.text.focus();
}

// A reply with a file: the JSON body's fields as the text parts the server reads back.
function replyForm(body, internal, after, faqIds, then, file) {
  const form = new FormData();
  form.append("body", body);
  form.append("internal", internal ? "true" : "false");
  if (after) form.append("after", after);
  if (faqIds.length) form.append("faq_ids", faqIds.join(","));
  if (then) form.append("status", then);
  form.append("attachment", file, file.name);
  return form;
}

// The text just sent is no draft any more, on screen or kept for its ticket: left there, it
// would be sent twice.
function forgetSent(number, mode, body) {
  if (mode === "reply") {
    draftOf(number).then = "";
    if (S.current && S.current.number === number && ui.then) ui.then.value = "";
  }
  if (S.current && S.current.number === number && S.mode === mode && ui.text) {
    if (ui.text.value.trim() === body) ui.text.value = "";
    saveDraft();
    renderLength();
    return;
  }
  const draft = S.drafts.get(number);
  if (draft && (draft[mode] || "").trim() === body) draft[mode] = "";
}

export function insertAnswer(f) {
  if (S.mode !== "reply") setMode("reply");
  const ids = insertedFaqs();
  if (!ids.includes(f.id)) ids.push(f.id);
  const links = (f.links || []).map((l) => l.label + ": " + l.url);
  insertText([f.answer, ...links].join("\n"));
}

// One of the office's own texts: into the reply where the caret is, to be edited; counted in
// no FAQ report.
export function insertOfficeText(r) {
  if (S.mode !== "reply") setMode("reply");
  insertText(r.text);
}

function insertText(text) {
  const el = ui.text;
  const start = el.selectionStart ?? el.value.length;
  const end = el.selectionEnd ?? el.value.length;
  const before = el.value.slice(0, start);
  const sep = before && !before.endsWith("\n") ? "\n\n" : "";
  el.value = before + sep + text + el.value.slice(end);
  el.focus();
  const caret = (before + sep + text).length;
  el.setSelectionRange(caret, caret);
  onTextInput();
  announce(T("inserted"));
}
