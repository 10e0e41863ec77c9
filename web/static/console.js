/* The operators' console: sign in, the live queue, one ticket at a time, the team, the reports.
 *
 * Native ES modules, no build step; this entry starts the page, the parts live in console/:
 *   state.js     boot data, the console's state (S) and the elements renders update (ui)
 *   texts.js     every text, Italian and English, by key: T(key, params)
 *   dom.js       h() and clear(): the only way the console makes DOM
 *   format.js    dates, ages, sizes, labels, who holds a ticket
 *   api.js       fetch with the CSRF token; a 401 signs out
 *   feedback.js  announcements, toasts, the beep, the tab's title
 *   signin.js    sign-in and sign-out
 *   frame.js     the signed-in header and panes, which pane is showing
 *   socket.js    the /console namespace: live events in, emit() out
 *   queue.js     the queue: filters and the list of tickets
 *   ticket.js    one ticket: header, actions, warnings, thread, side column
 *   composer.js  the reply or internal note, drafts, FAQ answers inserted
 *   accounts.js  the team: transfer targets for all, accounts for admins
 *   mail.js      parked mail, for admins
 *   report.js    the editors' FAQ report
 *   figures.js   the office's figures: tiles, the server's SVG charts with their tables, CSV and XLSX
 *   period.js    the 7 / 30 / 90 days both reports share
 *   privacy.js   students' data, for admins: export, erase by email after a preview
 *
 * Every piece of data reaches the page through textContent (h()), never innerHTML: names and
 * messages come from students. The session cookie is HttpOnly; the page only holds the CSRF
 * token, sent with every POST and in the socket's auth. Server events and payloads:
 * docs/protocol.md, section /console. The Socket.IO client is a classic script loaded before
 * this module (both deferred, so they run in document order).
 */

import { S, ui } from "./console/state.js";
import { stopTyping, unsentDrafts } from "./console/composer.js";
import { startConsole } from "./console/frame.js";
import { renderLogin } from "./console/signin.js";
import { emit } from "./console/socket.js";

window.addEventListener("beforeunload", (ev) => {
  // Drafts live in this page only: a reload, the language link or a closed tab loses them.
  if (unsentDrafts()) {
    ev.preventDefault();
    ev.returnValue = "";
    return;
  }
  if (S.current) {
    stopTyping();
    emit("close_ticket", { number: S.current.number });
  }
});
// The keyboard path through forty tickets: "/" to search, j / k to the next / previous ticket
// of the queue, r into the reply box of the ticket on screen (eight Tab stops away, past the
// status buttons), Escape out of it back to the ticket's line in the queue. Letters act only
// outside fields, where they type nothing.
document.addEventListener("keydown", (ev) => {
  if (!S.me || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const typing = /^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName);
  if (ev.key === "Escape" && document.activeElement === ui.text) {
    const line = currentLine() || lineInItsPlace();
    if (line) {
      ev.preventDefault();
      line.focus();
    }
    return;
  }
  if (typing) return;
  if (ev.key === "/" && ui.search) {
    ev.preventDefault();
    ui.search.focus();
  } else if (ev.key === "r" && S.current && S.view === "queue" && ui.text && ui.text.isConnected) {
    ev.preventDefault();
    ui.text.focus();
  } else if (ev.key === "j" || ev.key === "k") {
    const lines = ui.list ? [...ui.list.querySelectorAll(".c-item")] : [];
    const at = lines.indexOf(currentLine());
    const gone = lines.indexOf(lineInItsPlace());
    const next = at >= 0 ? lines[at + (ev.key === "j" ? 1 : -1)]
      : gone >= 0 ? lines[gone - (ev.key === "j" ? 0 : 1)]
      : lines[0];
    if (next) {
      ev.preventDefault();
      next.focus();
      next.click();
    }
  }
});

function currentLine() {
  return ui.list ? ui.list.querySelector(".c-item-current") : null;
}

// The ticket on screen has left the queue (a reply that closed it, with the queue on "Aperti"):
// the line now in its place, the next one, is where the keyboard goes on from.
function lineInItsPlace() {
  if (!S.current || currentLine()) return null;
  const lines = ui.list ? ui.list.querySelectorAll(".c-item") : [];
  return lines[Math.min(S.currentAt, lines.length - 1)] || null;
}

if (S.me) startConsole();
else renderLogin("");
