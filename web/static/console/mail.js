/* Parked mail, for admins: notifications that could not be delivered, and a retry. */

import { T } from "./texts.js";
import { clear, h, tableBox } from "./dom.js";
import { fmtDate, parkReason } from "./format.js";
import { api, errorText } from "./api.js";
import { showView } from "./frame.js";
import { openTicket } from "./ticket.js";


export async function renderParked(box, notice) {
  const res = await api("GET", "/api/console/mail/parked");
  const status = h("p", { role: "status", class: "c-ok" });
  clear(box).append(h("h2", { text: T("parkedTitle") }), h("p", { class: "c-muted", text: T("parkedIntro") }), status);
  if (notice) status.textContent = notice; // once on the page, so that it is announced
  if (!res.ok) {
    box.append(h("p", { class: "c-error", role: "alert", text: errorText(res.error) }));
    return;
  }
  if (res.data.server_problem) {
    box.append(h("p", { class: "c-warn", text: T("serverProblem", { detail: res.data.server_problem }) }));
  }
  if (!res.data.mail.length) {
    box.append(h("p", { text: T("parkedNone") }));
    return;
  }
  // a relay's setting mended: every mail it refused meanwhile goes again with one click
  const error = h("p", { class: "c-error", role: "alert" });
  const all = h("button", { type: "button", class: "c-btn", text: T("retryAll", { n: res.data.mail.length }), onclick: async () => {
    all.disabled = true;
    error.textContent = "";
    const done = await api("POST", "/api/console/mail/parked/retry", {});
    if (!done.ok) {
      all.disabled = false;
      error.textContent = errorText(done.error);
      return;
    }
    await renderParked(box, T(done.data.queued === 1 ? "retriedAllOne" : "retriedAll", { n: done.data.queued }));
  } });
  box.append(h("div", { class: "c-row-actions" }, all), error);
  const rows = res.data.mail.map((m) => {
    const error = h("p", { class: "c-error", role: "alert" });
    const retry = h("button", { type: "button", class: "c-btn", "aria-label": T("retryTo", { to: m.to }), text: T("retry"), onclick: async () => {
      retry.disabled = true;
      error.textContent = "";
      const done = await api("POST", "/api/console/mail/parked/" + encodeURIComponent(m.number) + "/" + encodeURIComponent(m.id) + "/retry", {});
      if (!done.ok) {
        retry.disabled = false;
        error.textContent = errorText(done.error);
        return;
      }
      await renderParked(box, T("retried", { to: m.to }));
    } });
    return h("tr", {},
      h("td", {}, h("button", { type: "button", class: "c-linklike", onclick: () => { showView("queue"); openTicket(m.number); }, text: "#" + m.number })),
      h("td", { text: m.to }), h("td", { text: m.subject }), h("td", { text: String(m.attempts) }),
      h("td", {}, h("span", { text: parkReason(m) }),
        // the server's own answer (English, technical) as the detail
        m.last_error ? h("span", { class: "c-muted c-small" }, h("br", {}), T("detail", { detail: m.last_error })) : null),
      h("td", { text: fmtDate(m.created_at) }),
      h("td", {}, h("div", { class: "c-row-actions" }, retry), error));
  });
  box.append(tableBox({ "aria-label": T("parkedTitle") }, h("table", { class: "c-table" },
    h("thead", {}, h("tr", {}, [T("ticket"), T("to"), T("subject"), T("attempts"), T("reason"), T("createdAt"), T("actions")].map((x) => h("th", { scope: "col", text: x })))),
    h("tbody", {}, rows))));
}
