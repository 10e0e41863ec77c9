/* Telling the operator that something happened: a screen-reader announcement, a toast, a beep,
 * the count in the tab's title. */

import { S, ui } from "./state.js";
import { T } from "./texts.js";
import { h } from "./dom.js";

export function announce(text) {
  if (!ui.announce) return;
  ui.announce.textContent = "";
  setTimeout(() => (ui.announce.textContent = text), 50);
}

export function toast(text, kind) {
  if (!ui.toasts) return;
  const item = h("p", { class: "c-toast" + (kind ? " c-toast-" + kind : ""), text });
  ui.toasts.append(item);
  // It sits over the corner where "Invia risposta" is (clicks pass through it, console.css):
  // news that all went well goes soon; an error stays to be read.
  setTimeout(() => item.remove(), kind === "error" ? 6000 : 3000);
}

export function beep() {
  if (!S.sound) return;
  try {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    const ctx = S.audio || (S.audio = new Ctx());
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 880;
    gain.gain.setValueAtTime(0.08, ctx.currentTime);
    gain.gain.exponentialRampToValueAtTime(0.0001, ctx.currentTime + 0.3);
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.3);
  } catch (e) {
    /* no audio: the badge and the title still say it */
  }
}

export function updateTitle() {
  const n = new Set([...S.unread, ...S.fresh]).size;
  document.title = (n ? "(" + n + ") " : "") + T("appTitle") + " · UniPG";
}
