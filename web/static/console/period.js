/* The window a report covers, 7, 30 or 90 days: one choice for the FAQ report and the figures. */

import { S } from "./state.js";
import { T } from "./texts.js";
import { h } from "./dom.js";

const REPORT_PERIODS = [7, 30, 90];

export function periodPicker(onChange) {
  const buttons = REPORT_PERIODS.map((n) => h("button", {
    type: "button", class: "c-btn", "aria-pressed": String(n === S.reportDays), text: T("reportDays", { n }),
    onclick: () => {
      S.reportDays = n;
      for (const [i, b] of buttons.entries()) b.setAttribute("aria-pressed", String(REPORT_PERIODS[i] === n));
      onChange();
    },
  }));
  return h("div", { class: "c-period", role: "group", "aria-label": T("reportPeriod") },
    h("span", { class: "c-label", "aria-hidden": "true", text: T("reportPeriod") }), buttons);
}
