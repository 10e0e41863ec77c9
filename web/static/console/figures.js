/* The office's figures, for editors and admins: tickets opened, closed and open now, how long
 * the first answer and the resolution took, the students' rating, the chats an FAQ solved,
 * each day and each subtopic, over 7, 30 or 90 days (GET /api/console/reports).
 *
 * The two charts are SVG drawn by the server (GET /api/console/reports/{chart}.svg;
 * web/desk/report_charts.py says why), shown as images with their alternative text, each with
 * its data table beside it: the table is what a screen reader and the keyboard use. The CSV
 * and Excel links download the window's tickets (the same rows; the workbook has real dates and
 * numbers, which an Italian Excel does not read from a CSV). */

import { lang, locale, S } from "./state.js";
import { T } from "./texts.js";
import { clear, h } from "./dom.js";
import { fmtAge, subtopicLabel } from "./format.js";
import { api, errorText } from "./api.js";
import { periodPicker } from "./period.js";

const num = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
const pct = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 });
// the window is the office's days: a browser in London or New York must not move them
const windowDay = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone: "Europe/Rome" });
// by_day's days are calendar dates: read and written in UTC so that no zone moves them
const tableDay = new Intl.DateTimeFormat(locale, { weekday: "short", day: "numeric", month: "short", timeZone: "UTC" });

export function renderFigures(box) {
  const body = h("div", { class: "c-report c-figures" });
  clear(box).append(
    h("h2", { text: T("figuresTitle") }),
    h("p", { class: "c-muted", text: T("figuresHelp") }),
    periodPicker(() => loadFigures(body)),
    body,
  );
  return loadFigures(body);
}

// Minutes as people say them: "45 min", "3 h 20 min", "2 g 5 h".
function fmtMinutes(m) {
  if (m === null || m === undefined) return T("noFigure");
  if (m < 1) return T("durUnderMin");
  if (m < 60) return T("durMin", { m: num.format(m) });
  const hours = Math.floor(Math.round(m) / 60), minutes = Math.round(m) % 60;
  if (hours < 48) return minutes ? T("durHourMin", { h: hours, m: minutes }) : T("durHour", { h: hours });
  const days = Math.floor(hours / 24), rest = hours % 24;
  return rest ? T("durDayHour", { d: days, h: rest }) : T("durDay", { d: days });
}
const fmtHours = (x) => fmtMinutes(x === null || x === undefined ? x : x * 60);

async function loadFigures(body) {
  const days = S.reportDays;
  clear(body).append(h("p", { class: "c-muted", role: "status", text: T("loading") }));
  const res = await api("GET", "/api/console/reports?days=" + days);
  if (days !== S.reportDays) return; // another period was chosen meanwhile
  if (!res.ok) {
    clear(body).append(h("p", { class: "c-error", role: "alert", text: errorText(res.error) }));
    return;
  }
  const r = res.data;
  const query = "?days=" + days + "&lang=" + lang;
  const tile = (label, value, extra) => h("div", { class: "c-total" }, h("dt", { text: label }), h("dd", {}, value, extra || null));
  const spread = (s, fmt) => [fmt(s.median), h("span", { class: "c-total-sub", text: T("p90", { value: fmt(s.p90) }) })];
  // with the office's hours set: the same answers without the nights and weekends they waited
  const working = (s) => s && h("span", { class: "c-total-sub", text: T("workingTime", { median: fmtMinutes(s.median), p90: fmtMinutes(s.p90) }) });
  const rating = r.rating.average === null
    ? T("noFigure")
    : [h("span", { class: "c-stars", "aria-hidden": "true", text: "\u2605".repeat(Math.round(r.rating.average)) + "\u2606".repeat(5 - Math.round(r.rating.average)) }),
       " ", T("ratingAverage", { avg: num.format(r.rating.average) })];
  const d = r.deflection;
  const deflection = d.rate === null
    ? T("noFigure")
    : [pct.format(d.rate), h("meter", { class: "c-meter", min: "0", max: "1", value: String(d.rate), "aria-hidden": "true" })];

  clear(body).append(
    h("p", { class: "c-muted c-small" },
      T("reportWindow", { since: windowDay.format(new Date(r.window.since)), until: windowDay.format(new Date(r.window.until)) }), " ",
      h("a", { class: "c-btn c-small-btn", href: "/api/console/reports.csv?days=" + days, download: "", text: T("csvDownload", { n: days }) }), " ",
      h("a", { class: "c-btn c-small-btn", href: "/api/console/reports.xlsx" + query, download: "", text: T("xlsxDownload", { n: days }) })),
    h("dl", { class: "c-totals" },
      tile(T("figOpened"), String(r.tickets.opened)),
      tile(T("figClosed"), String(r.tickets.closed)),
      tile(T("figOpenNow"), String(r.tickets.open_now), [
        h("span", { class: "c-total-sub", text: r.waiting_now.tickets
          ? T("waitingNow", { n: r.waiting_now.tickets, age: fmtAge(r.waiting_now.oldest_since) })
          : T("waitingNone") }),
        // open for the figures, gone from the console: without this the tile and the queue disagree
        r.open_now_erased ? h("span", { class: "c-total-sub", text: T(r.open_now_erased === 1 ? "openErasedOne" : "openErased", { n: r.open_now_erased }) }) : null]),
      tile(T("figFirstResponse"), spread(r.first_response_minutes, fmtMinutes), working(r.first_response_working_minutes)),
      tile(T("figResolution"), spread(r.resolution_hours, fmtHours)),
      tile(T("figRating"), rating, h("span", { class: "c-total-sub", text: T(r.rating.count === 1 ? "ratingCountOne" : "ratingCount", { n: r.rating.count }) })),
      tile(T("figDeflection"), deflection, h("span", { class: "c-total-sub", text: T(d.chats === 1 ? "deflectionOfOne" : "deflectionOf", { solved: d.solved_by_faq, chats: d.chats }) }))),
    chart("c-f-days", T("chartDays"), "/api/console/reports/by_day.svg" + query, T("chartDaysAlt"),
      [[T("day")], [T("figOpened"), true], [T("figClosed"), true]],
      r.by_day.map((x) => [tableDay.format(new Date(x.day + "T00:00:00Z")), x.opened, x.closed])),
    chart("c-f-subtopics", T("chartSubtopics"), "/api/console/reports/by_subtopic.svg" + query, T("chartSubtopicsAlt"),
      [[T("subtopic")], [T("figOpened"), true]],
      r.by_subtopic.map((x) => [subtopicLabel(x.topic, x.subtopic), x.opened])),
    h("p", { class: "c-muted c-small", text: T("figuresHow") }),
  );
}

// The picture, and beside it the same numbers as a table: a region the keyboard can scroll.
function chart(id, title, src, alt, heads, rows) {
  return h("section", { class: "c-report-part", "aria-labelledby": id },
    h("h3", { id, text: title }),
    h("div", { class: "c-chart" },
      h("figure", { class: "c-chart-fig" }, h("img", { src, alt, width: "720", loading: "lazy" })),
      h("div", { class: "c-chart-data", role: "region", tabindex: "0", "aria-label": T("chartData", { title }) },
        h("table", { class: "c-table" },
          h("caption", { class: "c-sr", text: title }),
          h("thead", {}, h("tr", {}, heads.map(([x, n]) => h("th", { scope: "col", class: n ? "c-num-col" : null, text: x })))),
          h("tbody", {}, rows.length
            ? rows.map(([first, ...rest]) => h("tr", {}, h("th", { scope: "row", text: first }), rest.map((v) => h("td", { class: "c-num-col", text: String(v) }))))
            : h("tr", {}, h("td", { colspan: String(heads.length), text: T("figNone") })))))));
}
