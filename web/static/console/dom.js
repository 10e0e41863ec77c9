/* h("button", {class: "x", text: "Hi", onclick: fn, "aria-label": "…"}, child, …): the only
 * way the console makes DOM. Strings become text nodes; null and false are skipped. */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "text") el.textContent = v;
    else if (k === "class") el.className = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "value") el.value = v;
    else if (k === "checked" || k === "disabled" || k === "selected" || k === "hidden") el[k] = !!v;
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}
export const clear = (el) => { while (el.firstChild) el.removeChild(el.firstChild); return el; };

/* A table that may scroll sideways in its own box on a phone: the box takes the keyboard focus
 * (arrow keys scroll it) and is a region named by `naming` ({"aria-label": …} or
 * {"aria-labelledby": id}). */
export const tableBox = (naming, table) =>
  h("div", { class: "c-table-wrap", tabindex: "0", role: "region", ...naming }, table);
