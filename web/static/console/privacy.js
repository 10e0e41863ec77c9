/* Students' requests about their data, for admins (CONTRACT.md section 9): erase a student by
 * email, after a preview that names how many tickets will go; export what is kept about the
 * student of a ticket, as the file the student would download themselves. */

import { lang } from "./state.js";
import { T } from "./texts.js";
import { clear, h } from "./dom.js";
import { api, errorText } from "./api.js";
import { announce, toast } from "./feedback.js";

export function renderPrivacy(box, email) {
  const input = h("input", { id: "c-erase-email", type: "email", autocomplete: "off", spellcheck: "false", value: email || "" });
  const error = h("p", { class: "c-error", role: "alert" });
  const status = h("p", { class: "c-ok", role: "status" });
  const confirm = h("div", { class: "c-confirm", hidden: true });
  const find = h("button", { type: "submit", class: "c-btn c-primary", text: T("erasePreview") });
  const form = h("form", { class: "c-add c-privacy-form", novalidate: true, onsubmit: async (ev) => {
    ev.preventDefault();
    error.textContent = status.textContent = "";
    confirm.hidden = true;
    find.disabled = true;
    const res = await api("POST", "/api/console/privacy/preview", { email: input.value });
    find.disabled = false;
    if (!res.ok) {
      error.textContent = errorText(res.error);
      return;
    }
    askConfirmation(confirm, input.value.trim(), res.data, (count) => {
      status.textContent = T("erased", { count });
      input.value = "";
      input.focus();
    }, error);
  } },
    h("label", { for: "c-erase-email", class: "c-label", text: T("eraseEmail") }),
    input,
    find,
  );
  clear(box).append(
    h("h2", { text: T("privacyTitle") }),
    h("p", { class: "c-muted", text: T("privacyIntro") }),
    form, error, confirm, status,
  );
  input.focus();
}

// The admin reads how many tickets, and which, before anything is erased: it cannot be undone.
function askConfirmation(box, email, preview, done, error) {
  const count = preview.tickets;
  const go = h("button", { type: "button", class: "c-btn c-danger", text: T("eraseGo", { count }) });
  const cancel = h("button", { type: "button", class: "c-btn", text: T("eraseCancel") });
  go.addEventListener("click", async () => {
    go.disabled = cancel.disabled = true;
    const res = await api("POST", "/api/console/privacy/erase", { email });
    if (!res.ok) {
      go.disabled = cancel.disabled = false;
      error.textContent = errorText(res.error);
      return;
    }
    box.hidden = true;
    done(res.data.tickets);
  });
  cancel.addEventListener("click", () => {
    box.hidden = true;
    document.getElementById("c-erase-email").focus();
  });
  const says = count
    ? T("eraseConfirm", { count, email, numbers: preview.numbers.join(", ") })
    : T("eraseNone", { email });
  clear(box).append(h("p", { class: "c-warn c-warn-strong", id: "c-erase-says", text: says }), h("div", { class: "c-row-actions" }, go, cancel));
  box.setAttribute("role", "group");
  box.setAttribute("aria-labelledby", "c-erase-says");
  box.hidden = false;
  announce(says);
  go.focus();
}

// A download that needs the session cookie: fetched, then saved under the server's name.
export async function exportStudent(number) {
  let response;
  try {
    response = await fetch("/api/console/tickets/" + encodeURIComponent(number) + "/export", {
      credentials: "same-origin",
      headers: { "Accept-Language": lang },
    });
  } catch (e) {
    toast(T("network"), "error");
    return;
  }
  if (!response.ok) {
    const data = await response.json().catch(() => null);
    toast(T("exportFailed", { detail: data && data.error ? errorText(data.error) : response.status }), "error");
    return;
  }
  const name = /filename="([^"]+)"/.exec(response.headers.get("Content-Disposition") || "");
  const url = URL.createObjectURL(await response.blob());
  const save = h("a", { href: url, download: name ? name[1] : number + ".json", hidden: true });
  document.body.append(save);
  save.click();
  save.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}
