/* Correcting the student's contact details (a mistyped email, name or phone) from the ticket's
 * side column: a compact form, prefilled, checked by the server as when the ticket was opened. */

import { S, ui } from "./state.js";
import { T } from "./texts.js";
import { h } from "./dom.js";
import { api } from "./api.js";
import { announce } from "./feedback.js";
import { scheduleQueue } from "./queue.js";

const EDIT_ID = "c-contact-edit";
const FIELDS = [["email", "email", "email"], ["name", "contactName", "text"], ["phone", "phone", "tel"]];

/* The control under the student's details: a button, or the form while it is open. The open
 * form is the same element across a reload of the ticket (a colleague's change), so that what
 * the operator typed stays. */
export function contactControl(t, redraw, reload) {
  if (ui.contact && ui.contact.number === t.number) return ui.contact.form;
  ui.contact = null;
  return h("button", { type: "button", id: EDIT_ID, class: "c-linklike", onclick: () => open(t, redraw, reload), text: T("contactEdit") });
}

// redraw: the side column again, as it is; reload: the ticket read again from the server.
function open(t, redraw, reload) {
  const inputs = {};
  const errors = {};
  const rows = FIELDS.map(([field, label, type]) => {
    const id = "c-contact-" + field;
    inputs[field] = h("input", { id, type, value: t[field], autocomplete: "off", "aria-describedby": id + "-error" });
    errors[field] = h("p", { id: id + "-error", class: "c-error" });
    return h("div", { class: "c-field" }, h("label", { for: id, class: "c-label", text: T(label) }), inputs[field], errors[field]);
  });
  const general = h("p", { class: "c-error", role: "alert" });
  const save = h("button", { type: "submit", class: "c-btn c-primary c-small-btn", text: T("contactSave") });
  const close = async (saved) => {
    // The button pressed goes with the form, and the keyboard with it to the top of the page:
    // back to "Correggi contatti", unless the operator went elsewhere while Save waited.
    const active = document.activeElement;
    const keyboardHere = !active || active === document.body || form.contains(active);
    ui.contact = null;
    if (saved) await reload();
    if (form.isConnected) redraw();
    const edit = document.getElementById(EDIT_ID);
    if (keyboardHere && edit) edit.focus();
  };
  const form = h("form", {
    class: "c-contact-form",
    "aria-label": T("contactTitle"),
    onsubmit: async (ev) => {
      ev.preventDefault();
      // only what changed: a field left as it was is not checked again, nor named in the thread
      const body = {};
      for (const [field] of FIELDS) if (inputs[field].value !== t[field]) body[field] = inputs[field].value;
      for (const [field] of FIELDS) {
        errors[field].textContent = "";
        inputs[field].removeAttribute("aria-invalid");
      }
      general.textContent = "";
      save.disabled = true;
      const res = await api("POST", "/api/console/tickets/" + t.number + "/contact", body);
      save.disabled = false;
      if (!res.ok) {
        const fields = res.error.fields || {};
        const wrong = FIELDS.map(([field]) => field).filter((field) => fields[field]);
        for (const field of wrong) {
          errors[field].textContent = fields[field];
          inputs[field].setAttribute("aria-invalid", "true");
        }
        if (wrong.length) inputs[wrong[0]].focus();
        else general.textContent = res.error.message;
        return;
      }
      announce(T("contactSaved", { number: t.number }));
      scheduleQueue();
      close(true);
    },
  },
  h("h4", { text: T("contactTitle") }),
  rows,
  general,
  h("div", { class: "c-row-actions" }, save,
    h("button", { type: "button", class: "c-btn c-small-btn", onclick: () => close(false), text: T("contactCancel") })));
  ui.contact = { number: t.number, form };
  redraw();
  inputs.email.focus();
}
