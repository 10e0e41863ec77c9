/* The editors' FAQ report: questions no FAQ answered, FAQs that did not help, FAQs that did,
 * and how each FAQ was used: as the answer, hedged, inserted by operators. On top, what the
 * server serves: a change it refused is said here, where editors look, not only in its log. */

import { locale, S } from "./state.js";
import { T } from "./texts.js";
import { clear, h, tableBox } from "./dom.js";
import { fmtDate } from "./format.js";
import { api, errorText } from "./api.js";
import { periodPicker } from "./period.js";
const pctFmt = new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 0 });
const dayFmt = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone: "Europe/Rome" }); // the office's days
const fmtDay = (iso) => dayFmt.format(new Date(iso));

export function renderReport(box) {
  const body = h("div", { class: "c-report" });
  clear(box).append(
    h("h2", { text: T("reportTitle") }),
    h("p", { class: "c-muted", text: T("reportHelp") }),
    periodPicker(() => loadReport(body)),
    body,
  );
  return loadReport(body);
}

async function loadReport(body) {
  const days = S.reportDays;
  clear(body).append(h("p", { class: "c-muted", role: "status", text: T("loading") }));
  const res = await api("GET", "/api/console/faq-report?days=" + days);
  if (days !== S.reportDays) return; // another period was chosen meanwhile
  if (!res.ok) {
    clear(body).append(h("p", { class: "c-error", role: "alert", text: errorText(res.error) }));
    return;
  }
  const r = res.data;
  const w = r.window;
  // The id is how an editor finds the FAQ in faq_data/; a deleted FAQ has nothing else.
  const faqCell = (f) => h("th", { scope: "row" },
    f.exists ? [h("span", { text: f.question }), h("br", {})] : null,
    h("code", { class: "c-muted c-small", text: f.id }),
    f.exists ? null : h("span", { class: "c-tag", text: T("faqRemoved") }));
  const table = (id, heads, rows) => tableBox({ "aria-labelledby": id },
    h("table", { class: "c-table", "aria-labelledby": id },
      h("thead", {}, h("tr", {}, heads.map(([x, num]) => h("th", { scope: "col", class: num ? "c-num-col" : null, text: x })))),
      h("tbody", {}, rows)));
  const section = (id, title, intro, rows, heads, none, extra) => h("section", { class: "c-report-part", "aria-labelledby": id },
    h("h3", { id, text: title }),
    intro ? h("p", { class: "c-muted", text: intro }) : null,
    rows.length ? table(id, heads, rows) : h("p", { text: none }),
    extra || null);

  const unanswered = r.unanswered.map((u) => h("tr", {},
    h("th", { scope: "row", class: "c-quote", text: u.example }),
    h("td", { class: "c-num-col", text: String(u.count) }),
    h("td", {}, h("time", { datetime: u.last_asked, text: fmtDate(u.last_asked) })),
    h("td", { text: u.lang === "en" ? T("langEn") : T("langIt") })));
  const notHelpful = r.not_helpful.map((f) => h("tr", {},
    faqCell(f),
    h("td", { class: "c-num-col", text: String(f.suggested) }),
    h("td", { class: "c-num-col", text: String(f.not_solved) }),
    h("td", { class: "c-num-col", text: pctFmt.format(f.ratio) })));
  const helpful = r.helpful.map((f) => h("tr", {},
    faqCell(f),
    h("td", { class: "c-num-col", text: String(f.solved) })));
  const uses = r.uses.map((f) => h("tr", {},
    faqCell(f),
    [f.confident, f.middle, f.inserted].map((n) => h("td", { class: "c-num-col", text: String(n) }))));
  const total = (label, n) => h("div", { class: "c-total" }, h("dt", { text: label }), h("dd", { text: String(n) }));

  clear(body).append(
    corpusState(r.corpus, () => loadReport(body)),
    h("p", { class: "c-muted c-small" },
      T("reportWindow", { since: fmtDay(w.since), until: fmtDay(w.until) }),
      w.covered_from !== w.since ? h("span", { class: "c-warn-inline", text: " " + T("reportPartial", { from: fmtDate(w.covered_from) }) }) : null),
    h("dl", { class: "c-totals" },
      total(T("totalQuestions"), r.totals.questions),
      total(T("totalSolved"), r.totals.solved),
      total(T("totalEscalated"), r.totals.not_solved),
      total(T("totalNoMatch"), r.totals.no_match),
      total(T("totalMiddle"), r.totals.middle),
      total(T("totalInserted"), r.totals.inserted)),
    section("c-r-unanswered", T("unansweredTitle"), T("unansweredIntro"), unanswered,
      [[T("askedQuestion")], [T("times"), true], [T("lastAsked")], [T("language")]], T("unansweredNone"),
      r.unanswered_groups > r.unanswered.length
        ? h("p", { class: "c-muted c-small", text: T("unansweredMore", { shown: r.unanswered.length, total: r.unanswered_groups }) })
        : null),
    section("c-r-not-helpful", T("notHelpfulTitle"), T("notHelpfulIntro"), notHelpful,
      [[T("faqQuestion")], [T("suggestedCount"), true], [T("notSolvedCount"), true], [T("notSolvedShare"), true]], T("notHelpfulNone")),
    section("c-r-helpful", T("helpfulTitle"), null, helpful,
      [[T("faqQuestion")], [T("solvedCount"), true]], T("helpfulNone")),
    section("c-r-uses", T("usesTitle"), T("usesIntro"), uses,
      [[T("faqQuestion")], [T("usesConfident"), true], [T("usesMiddle"), true], [T("usesInserted"), true]], T("usesNone")),
    h("p", { class: "c-muted c-small", text: T("reportTogether") }),
  );
}

// The FAQ the answering process serves; a refused change with the validator's own lines.
function corpusState(c, again) {
  const loaded = fmtDate(c.loaded_at);
  if (!c.refused) return h("p", { class: "c-info c-faq-state", text: T("faqLive", { n: c.faqs, loaded }) });
  return h("div", { class: "c-warn c-warn-strong c-faq-state", role: "alert" },
    h("p", { text: T("faqEditRefused", { at: fmtDate(c.refused.at) }) }),
    h("ul", {}, c.refused.problems.map((line) => h("li", {}, h("code", { text: line })))),
    h("p", { text: T("faqEditRefusedKept", { n: c.faqs, loaded }) }),
    h("button", { type: "button", class: "c-btn", onclick: again, text: T("faqCheckAgain") }));
}
