/* The signed-in frame: the header (who is online, sound, the admins' and editors' buttons,
 * language, sign-out), the three panes, and which of them is showing. */

import { root, S, ui } from "./state.js";
import { T } from "./texts.js";
import { clear, h } from "./dom.js";
import { roleLabel } from "./format.js";
import { announce, beep, updateTitle } from "./feedback.js";
import { logout } from "./signin.js";
import { connect } from "./socket.js";
import { loadQueue, renderQueue, renderQueuePane } from "./queue.js";
import { leaveTicket, renderEmptyTicket } from "./ticket.js";
import { loadTeam, renderPassword, renderTeam } from "./accounts.js";
import { renderParked } from "./mail.js";
import { renderReport } from "./report.js";
import { renderFigures } from "./figures.js";
import { renderPrivacy } from "./privacy.js";

export function startConsole() {
  document.body.className = "signed-in";
  clear(root);
  ui.announce = h("div", { class: "c-sr", "aria-live": "polite", role: "status" });
  ui.toasts = h("div", { class: "c-toasts", "aria-live": "polite" });
  ui.live = h("span", { class: "c-live", role: "status" });
  ui.online = h("span", { class: "c-online-list" });
  ui.soundBtn = h("button", { type: "button", class: "c-btn c-ghost", "aria-pressed": String(S.sound), onclick: toggleSound, title: S.sound ? T("soundOn") : T("soundOff") }, T("sound"));
  const adminButtons = S.me.role === "admin"
    ? [h("button", { type: "button", class: "c-btn c-ghost", onclick: () => showAdmin("team"), text: T("team") }),
       h("button", { type: "button", class: "c-btn c-ghost", onclick: () => showAdmin("parked"), text: T("parked") }),
       h("button", { type: "button", class: "c-btn c-ghost", onclick: () => showAdmin("privacy"), text: T("privacy") })]
    : [];
  // The reports are the editors' (and admins'); the server refuses them to operators too.
  const reportButton = S.me.role === "editor" || S.me.role === "admin"
    ? [h("button", { type: "button", class: "c-btn c-ghost", onclick: () => showAdmin("figures"), text: T("figures") }),
       h("button", { type: "button", class: "c-btn c-ghost", onclick: () => showAdmin("report"), text: T("report") })]
    : null;
  const header = h("header", { class: "c-top" },
    h("a", { class: "c-skip", href: "#c-ticket", text: T("skip") }),
    // The one h1 of every signed-in view (queue, ticket, team, mail, report): each names
    // itself with an h2 below it.
    h("div", { class: "c-brand" }, h("span", { class: "c-uni", text: T("desk") }), h("h1", { class: "c-app-title", text: T("appTitle") })),
    h("div", { class: "c-team-online" }, ui.live, h("span", { class: "c-online-label", text: T("online") + ":" }), ui.online),
    h("nav", { class: "c-actions", "aria-label": T("appTitle") },
      ui.soundBtn,
      reportButton,
      adminButtons,
      h("a", { class: "c-btn c-ghost", href: "/console?lang=" + T("langSwitchLang"), lang: T("langSwitchLang"), text: T("langSwitch") }),
      h("span", { class: "c-me" }, h("strong", { text: S.me.name }), " · ", roleLabel(S.me.role)),
      h("button", { type: "button", class: "c-btn c-ghost", onclick: () => showAdmin("password"), text: T("myPassword") }),
      h("button", { type: "button", class: "c-btn", onclick: logout, text: T("signOut") }),
    ),
  );
  // focusable, to take the focus after sign-in (signin.js)
  ui.queuePane = h("section", { class: "c-queue", "aria-labelledby": "c-queue-title", tabindex: "-1" });
  ui.ticketPane = h("section", { class: "c-ticket", id: "c-ticket", "aria-label": T("ticket"), tabindex: "-1" });
  ui.adminPane = h("section", { class: "c-admin", hidden: true });
  ui.main = h("main", { class: "c-main" }, ui.queuePane, ui.ticketPane, ui.adminPane);
  ui.offline = h("p", { class: "c-offline", role: "status", hidden: true, text: T("offlineBanner") });
  root.append(header, ui.offline, ui.main, ui.announce, ui.toasts);
  renderQueuePane();
  renderEmptyTicket();
  clearTimeout(S.offlineTimer); // (one left from before a sign-out is of the page gone)
  S.offlineTimer = null;
  setLive(false);
  connect();
  loadQueue();
  loadTeam();
  updateTitle();
}

function toggleSound() {
  S.sound = !S.sound;
  localStorage.setItem("helpdesk-console:sound", S.sound ? "on" : "off");
  ui.soundBtn.setAttribute("aria-pressed", String(S.sound));
  ui.soundBtn.title = S.sound ? T("soundOn") : T("soundOff");
  if (S.sound) beep();
  announce(S.sound ? T("soundOn") : T("soundOff"));
}

// The header's dot alone turned red while the queue stood still: on a deadline day an operator
// would work from a stale queue for minutes. A drop that outlasts a blip is said in words.
export function setLive(on) {
  if (on) {
    clearTimeout(S.offlineTimer);
    S.offlineTimer = null;
    ui.offline.hidden = true;
  } else if (!S.offlineTimer) {
    // from the drop, not from each failed attempt to reconnect that follows it
    S.offlineTimer = setTimeout(() => { ui.offline.hidden = false; }, 5000);
  }
  S.connected = on;
  ui.live.className = "c-live " + (on ? "c-live-on" : "c-live-off");
  ui.live.title = on ? T("liveOn") : T("liveOff");
  ui.live.setAttribute("aria-label", on ? T("liveOn") : T("liveOff"));
}

export function renderOnline() {
  const others = S.online.filter((o) => o.username !== S.me.username);
  clear(ui.online).append(others.length ? others.map((o) => o.name).join(", ") : T("nobodyOnline"));
}

export function showView(view) {
  S.view = view;
  const admin = view !== "queue";
  ui.adminPane.hidden = !admin;
  ui.queuePane.hidden = admin;
  ui.ticketPane.hidden = admin;
}

// email: the privacy view opens on this student's address (from a ticket).
export async function showAdmin(which, email) {
  if (S.current) {
    leaveTicket();
    renderEmptyTicket();
  }
  showView(which);
  // The button hides with the view it closes: the keyboard goes on in the queue, not at the
  // page's top.
  const back = () => {
    showView("queue");
    renderQueue();
    ui.queuePane.focus();
  };
  const close = h("button", { type: "button", class: "c-btn c-ghost", onclick: back, text: "← " + T("back") });
  const box = h("div", { class: "c-admin-body" });
  clear(ui.adminPane).append(close, box);
  if (which === "team") await renderTeam(box);
  else if (which === "report") await renderReport(box);
  else if (which === "figures") await renderFigures(box);
  else if (which === "privacy") renderPrivacy(box, email);
  else if (which === "password") renderPassword(box);
  else await renderParked(box);
  // a screen reader hears which view opened, from its heading (unless the view put the
  // focus where the work starts, as the privacy view does in its email field)
  const heading = box.querySelector("h2");
  if (heading && S.view === which && !box.contains(document.activeElement)) {
    heading.setAttribute("tabindex", "-1");
    heading.focus();
  }
}
