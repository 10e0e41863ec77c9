/* Dates, ages, sizes and labels in the page's language, and who holds a ticket. */

import { boot, lang, locale, S } from "./state.js";
import { STATUS, T } from "./texts.js";

const dateFmt = new Intl.DateTimeFormat(locale, { dateStyle: "short", timeStyle: "short" });
export const fmtDate = (iso) => (iso ? dateFmt.format(new Date(iso)) : "");
export function fmtAge(iso) {
  const ms = Date.now() - new Date(iso).getTime();
  const minutes = Math.floor(ms / 60000);
  if (minutes < 1) return T("now");
  if (minutes < 60) return T("min", { n: minutes });
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return T("hours", { n: hours });
  return T("days", { n: Math.floor(hours / 24) });
}
export function ageClass(ticket) {
  if (ticket.status === "closed") return "c-age";
  const hours = (Date.now() - new Date(ticket.created_at).getTime()) / 3600000;
  return hours >= 24 ? "c-age c-age-late" : hours >= 4 ? "c-age c-age-warn" : "c-age c-age-fresh";
}
export function fmtSize(bytes) {
  if (bytes < 1024) return bytes + " B";
  if (bytes < 1024 * 1024) return Math.round(bytes / 1024) + " KB";
  return (bytes / 1024 / 1024).toFixed(1) + " MB";
}
export const statusLabel = (s) => STATUS[lang][s] || s;
export function subtopicLabel(topic, subtopic) {
  const tp = boot.topics.find((x) => x.id === topic);
  const st = tp && tp.subtopics.find((x) => x.id === subtopic);
  return st ? st.label : subtopic;
}
export const roleLabel = (r) => ({ operator: T("roleOperator"), editor: T("roleEditor"), admin: T("roleAdmin") })[r] || r;
// Why a mail was parked: a code from the server, worded in the reader's language.
const PARK_REASONS = { refused: "reasonRefused", failed: "reasonFailed", own_address: "reasonOwnAddress", unbuildable: "reasonUnbuildable", deferred: "reasonDeferred" };
export const parkReason = (m) => T(PARK_REASONS[m.reason] || "reasonUnknown");
export const isMine = (ticket) => !!(ticket.operator && ticket.operator.username === S.me.username);
export const heldByOther = (ticket) => !!(ticket.operator && ticket.operator.username !== S.me.username);
