/* The team: everyone loads it (transfer targets, names); admins manage the accounts. */

import { S } from "./state.js";
import { T } from "./texts.js";
import { clear, h, tableBox } from "./dom.js";
import { fmtDate, roleLabel } from "./format.js";
import { api, errorText } from "./api.js";
import { signedOut } from "./signin.js";

export async function loadTeam() {
  const res = await api("GET", "/api/console/operators");
  if (res.ok) S.team = res.data.operators;
}

// done: what the last change did, said in the list drawn again after it.
export async function renderTeam(box, done = "") {
  await loadTeam();
  const status = h("p", { role: "status", class: "c-ok", tabindex: "-1", text: done });
  const rows = S.team.map((o) => {
    const role = h("select", { "aria-label": T("role") + " · " + o.username },
      ["operator", "editor", "admin"].map((r) => h("option", { value: r, selected: o.role === r, text: roleLabel(r) })));
    const name = h("input", { value: o.name, "aria-label": T("name") + " · " + o.username });
    const pw = h("input", { type: "password", autocomplete: "new-password", placeholder: T("newPassword"), "aria-label": T("newPassword") + " · " + o.username });
    const error = h("p", { class: "c-error", role: "alert" });
    const history = h("div", { class: "c-history" });
    const update = async (changes) => {
      error.textContent = "";
      const res = await api("POST", "/api/console/operators/" + encodeURIComponent(o.username), changes);
      if (!res.ok) {
        error.textContent = errorText(res.error);
        return;
      }
      renderTeam(box, T("updated", { username: o.username }));
    };
    return h("tr", { class: o.active ? "" : "c-inactive" },
      h("th", { scope: "row" }, h("span", { text: o.username }), o.online ? h("span", { class: "c-online-dot", title: T("isOnline") }, h("span", { class: "c-sr", text: T("isOnline") })) : null),
      h("td", {}, name),
      h("td", {}, role),
      h("td", {}, h("span", { text: o.active ? T("active") : T("inactive") }),
        o.held ? h("span", { class: "c-muted c-small", text: " · " + T(o.held === 1 ? "heldOne" : "held", { n: o.held }) }) : null),
      h("td", { class: "c-row-actions" },
        // each row's buttons say whose they are: a screen reader lists them out of their rows
        // Only what was changed in this row: it shows the account as it was when drawn, and
        // another admin may have changed the rest since (a new role sent back would demote).
        rowButton(T("save"), o, () => update({
          ...(name.value !== o.name ? { name: name.value } : {}),
          ...(role.value !== o.role ? { role: role.value } : {}),
        })),
        // An admin cannot lock themselves out (the server says so too): no button for it.
        o.username === S.me.username ? null
          : rowButton(o.active ? T("deactivate") : T("activate"), o, () => {
            if (!o.active || window.confirm(T("confirmDeactivate", { name: o.name }))) update({ active: !o.active });
          }),
        // For a colleague away: their students wait on nobody else until the tickets are free.
        o.held ? rowButton(T("releaseTickets"), o, async () => {
          if (!window.confirm(T(o.held === 1 ? "confirmReleaseOne" : "confirmRelease", { n: o.held, name: o.name }))) return;
          error.textContent = "";
          const res = await api("POST", "/api/console/operators/" + encodeURIComponent(o.username) + "/release");
          if (!res.ok) error.textContent = errorText(res.error);
          else renderTeam(box, T(res.data.released === 1 ? "releasedOne" : "released", { n: res.data.released, username: o.username }));
        }) : null,
        rowButton(T("accountHistory"), o, () => showHistory(o, history)),
        h("span", { class: "c-pw" }, pw, rowButton(T("setPassword"), o, () => {
          if (pw.value) update({ password: pw.value });
          else {
            error.textContent = T("passwordMissing");
            pw.focus();
          }
        })),
        error, history),
    );
  });
  const nu = {
    username: h("input", { id: "n-user", autocomplete: "off", autocapitalize: "none", required: true }),
    name: h("input", { id: "n-name", required: true }),
    role: h("select", { id: "n-role" }, ["operator", "editor", "admin"].map((r) => h("option", { value: r, text: roleLabel(r) }))),
    password: h("input", { id: "n-pass", type: "password", autocomplete: "new-password", required: true }),
  };
  const addError = h("p", { class: "c-error", role: "alert" });
  const addForm = h("form", { class: "c-add", novalidate: true, onsubmit: async (ev) => {
    ev.preventDefault();
    addError.textContent = "";
    const res = await api("POST", "/api/console/operators", {
      username: nu.username.value, name: nu.name.value, role: nu.role.value, password: nu.password.value,
    });
    if (!res.ok) {
      addError.textContent = errorText(res.error);
      return;
    }
    renderTeam(box, T("added", { username: res.data.operator.username }));
  } },
    h("h3", { text: T("addOperator") }),
    h("div", { class: "c-add-grid" },
      h("label", { for: "n-user", text: T("username") }), nu.username,
      h("label", { for: "n-name", text: T("name") }), nu.name,
      h("label", { for: "n-role", text: T("role") }), nu.role,
      h("label", { for: "n-pass", text: T("password") }), h("span", {}, nu.password, h("span", { class: "c-muted c-small", text: " " + T("passwordHint") }))),
    addError,
    h("button", { type: "submit", class: "c-btn c-primary", text: T("add") }),
  );
  clear(box).append(
    h("h2", { text: T("teamTitle") }),
    h("p", { class: "c-muted", text: T("teamIntro") }),
    status,
    tableBox({ "aria-label": T("teamTitle") }, h("table", { class: "c-table" },
      h("thead", {}, h("tr", {}, [T("username"), T("name"), T("role"), T("state"), T("actions")].map((x) => h("th", { scope: "col", text: x })))),
      h("tbody", {}, rows))),
    addForm,
  );
  // The table was drawn again under the button pressed: the keyboard resumes at the news,
  // which the screen reader reads as the focus lands on it.
  if (done) status.focus();
}

function rowButton(text, operator, onclick) {
  return h("button", { type: "button", class: "c-btn", "aria-label": text + " · " + operator.username, onclick, text });
}

// Who did what to the account, for the head of the office (the audit's latest entries).
async function showHistory(o, box) {
  const res = await api("GET", "/api/console/operators/" + encodeURIComponent(o.username) + "/history");
  if (!res.ok) {
    clear(box).append(h("p", { class: "c-error", role: "alert", text: errorText(res.error) }));
    return;
  }
  const entries = res.data.entries;
  const title = h("h3", { tabindex: "-1", text: T("historyTitle", { username: o.username }) });
  clear(box).append(title, entries.length
    ? h("ul", { class: "c-small" }, entries.map((e) => h("li", { text: fmtDate(e.at) + " · " + e.actor + " · " + describe(e) })))
    : h("p", { class: "c-muted c-small", text: T("historyNone") }));
  title.focus();
}

function describe(entry) {
  const d = entry.detail || {};
  if (entry.action === "operator.added") return T("histAdded", { role: roleLabel(d.role) });
  if (entry.action === "operator.login") return T("histLogin");
  if (entry.action === "operator.logout") return T("histLogout");
  if (entry.action === "operator.tickets_released") return T(d.released === 1 ? "histReleasedOne" : "histReleased", { n: d.released });
  if (entry.action !== "operator.updated") return entry.action;
  // entries written before the values were kept name the field alone
  const changed = { role: "histRoleChanged", name: "histNameChanged", active: "histActiveChanged" };
  return (d.changes || []).map((field) => {
    const change = d[field];
    if (field === "password") return T("histPassword");
    if (!Array.isArray(change)) return changed[field] ? T(changed[field]) : field;
    if (field === "active") return T(change[1] ? "histActivated" : "histDeactivated");
    if (field === "role") return T("histRole", { from: roleLabel(change[0]), to: roleLabel(change[1]) });
    return T("histName", { from: change[0], to: change[1] });
  }).join(", ");
}

// An operator's own password, in place of the one an admin chose and told them. The server
// then ends every session of the account, this one too: the sign-in comes back, saying why.
export function renderPassword(box) {
  const field = (id, autocomplete) => h("input", { id, type: "password", autocomplete, required: true });
  const current = field("p-current", "current-password");
  const fresh = field("p-new", "new-password");
  const again = field("p-again", "new-password");
  const error = h("p", { class: "c-error", role: "alert" });
  const form = h("form", { class: "c-add", novalidate: true, onsubmit: async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    if (fresh.value !== again.value) {
      error.textContent = T("passwordsDiffer");
      again.focus();
      return;
    }
    const res = await api("POST", "/api/console/me/password", { current: current.value, password: fresh.value });
    if (!res.ok) {
      error.textContent = errorText(res.error);
      return;
    }
    signedOut(T("passwordChanged"));
  } },
    h("div", { class: "c-add-grid" },
      h("label", { for: "p-current", text: T("currentPassword") }), current,
      h("label", { for: "p-new", text: T("newPassword") }), h("span", {}, fresh, h("span", { class: "c-muted c-small", text: " " + T("passwordHint") })),
      h("label", { for: "p-again", text: T("repeatPassword") }), again),
    error,
    h("button", { type: "submit", class: "c-btn c-primary", text: T("changePassword") }),
  );
  clear(box).append(h("h2", { text: T("myPassword") }), h("p", { class: "c-muted", text: T("myPasswordIntro") }), form);
}
