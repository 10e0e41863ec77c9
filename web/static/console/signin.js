/* Sign-in and sign-out. */

import { boot, root, S, ui } from "./state.js";
import { T } from "./texts.js";
import { clear, h } from "./dom.js";
import { api, errorText } from "./api.js";
import { startConsole } from "./frame.js";
import { saveDraft, unsentDrafts } from "./composer.js";
import { openTicket } from "./ticket.js";

export function renderLogin(message) {
  document.body.className = "signed-out";
  clear(root);
  const user = h("input", { id: "c-user", name: "username", autocomplete: "username", required: true, autocapitalize: "none", spellcheck: "false" });
  const pass = h("input", { id: "c-pass", name: "password", type: "password", autocomplete: "current-password", required: true });
  const error = h("p", { class: "c-error", role: "alert" });
  const button = h("button", { type: "submit", class: "c-btn c-primary", text: T("signIn") });
  if (message) error.textContent = message;
  const form = h(
    "form",
    { class: "c-login", novalidate: true, onsubmit: async (ev) => {
      ev.preventDefault();
      error.textContent = "";
      if (!user.value.trim() || !pass.value) {
        error.textContent = T(user.value.trim() ? "passwordRequired" : "usernameRequired");
        (user.value.trim() ? pass : user).focus();
        return;
      }
      button.disabled = true;
      button.textContent = T("signingIn");
      const res = await api("POST", "/api/console/login", { username: user.value, password: pass.value });
      button.disabled = false;
      button.textContent = T("signIn");
      if (!res.ok) {
        error.textContent = errorText(res.error);
        pass.value = "";
        pass.focus();
        return;
      }
      S.me = { username: res.data.username, name: res.data.name, role: res.data.role, csrf_token: res.data.csrf_token };
      const back = S.interrupted;
      S.interrupted = null;
      // Drafts are the operator's who wrote them, not of whoever signs in next on this page;
      // so is the news: the badges, and what a drop of their connection left to catch up on.
      if (!back || back.username !== S.me.username) {
        S.drafts.clear();
        S.unread.clear();
        S.fresh.clear();
        S.seenUntil = 0;
        S.missedSince = null;
      }
      startConsole();
      // The form is gone: a screen reader or keyboard user starts at the queue, not at the
      // top of the page; or back at the reply that the end of the session interrupted.
      if (back && back.username === S.me.username && back.number) {
        await openTicket(back.number);
        if (ui.text) ui.text.focus();
      } else {
        ui.queuePane.focus();
      }
    } },
    h("h1", { text: T("loginTitle") }),
    h("p", { class: "c-muted", text: T("loginIntro") }),
    h("label", { for: "c-user", text: T("username") }),
    user,
    h("label", { for: "c-pass", text: T("password") }),
    pass,
    error,
    button,
    // There is no reset by mail: an admin sets the new password (accounts.js).
    h("p", { class: "c-muted c-small", text: T("forgotPassword") }),
    h("p", { class: "c-muted c-small", text: T("sessionNote", { n: boot.idle_minutes }) }),
  );
  root.append(
    h("main", { class: "c-login-page" },
      h("p", { class: "c-brand-block" }, h("span", { class: "c-uni", text: T("uni") }), h("span", { class: "c-desk", text: T("desk") + " · " + T("appTitle") })),
      form,
      h("p", {}, h("a", { href: "/console?lang=" + T("langSwitchLang"), lang: T("langSwitchLang"), text: T("langSwitch") })),
    ),
  );
  document.title = T("loginTitle") + " · " + T("appTitle");
  user.focus();
}

export function signedOut(message) {
  if (!S.me) return;
  // An idle timeout, a restart or a 401 on Send can end the session mid-reply: the text is
  // kept, and the ticket opens again with it when the same operator signs back in.
  saveDraft();
  S.interrupted = { username: S.me.username, number: S.current ? S.current.number : null };
  S.me = null;
  if (S.socket) {
    S.socket.off();
    S.socket.disconnect();
    S.socket = null;
  }
  S.current = null;
  renderLogin(message);
}

export async function logout() {
  // Signing out on purpose throws the drafts away (below): not without a word, as a reload
  // would not either.
  const unsent = unsentDrafts();
  if (unsent && !window.confirm(T(unsent === 1 ? "confirmLogoutOne" : "confirmLogout", { n: unsent }))) {
    if (ui.text && S.current) ui.text.focus();
    return;
  }
  // The server closes this session's sockets with "session_expired": let go of ours first,
  // or that message would arrive before the answer and say the session expired.
  if (S.socket) {
    S.socket.off();
    S.socket.disconnect();
    S.socket = null;
  }
  await api("POST", "/api/console/logout");
  signedOut(T("loggedOut"));
  // signing out on purpose leaves nothing of the work behind on this page
  S.drafts.clear();
  S.interrupted = null;
}
