/* Talking to the server: JSON over fetch (or a form, for a file), the CSRF token on every POST;
 * a 401 signs out. */

import { lang, S } from "./state.js";
import { T } from "./texts.js";
import { signedOut } from "./signin.js";

// background: a refresh the page makes by itself, which must not count as the operator's
// activity (the session's idle clock keeps running).
export async function api(method, path, body, background) {
  const headers = { Accept: "application/json", "Accept-Language": lang };
  if (background) headers["X-Console-Background"] = "1";
  // A FormData (a reply with a file) goes as multipart: the browser writes its Content-Type,
  // with the boundary.
  const form = body instanceof FormData;
  if (method !== "GET") {
    if (!form) headers["Content-Type"] = "application/json";
    if (S.me) headers["X-CSRF-Token"] = S.me.csrf_token;
  }
  let response;
  try {
    response = await fetch(path, {
      method,
      headers,
      credentials: "same-origin",
      body: body === undefined || form ? body : JSON.stringify(body),
    });
  } catch (e) {
    return { ok: false, status: 0, error: { code: "network", message: T("network") } };
  }
  let data = null;
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
  }
  if (response.ok) return { ok: true, status: response.status, data };
  const error = (data && data.error) || { code: "server", message: T("serverError") };
  if (response.status === 401 && S.me && !path.endsWith("/login")) {
    signedOut(T("sessionGone"));
  }
  return { ok: false, status: response.status, error };
}

export function errorText(error) {
  const fields = error.fields ? Object.values(error.fields) : [];
  return [error.message, ...fields].filter(Boolean).join(" ");
}
