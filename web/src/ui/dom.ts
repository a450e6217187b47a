/** Tiny DOM helpers shared by the interface modules (no framework). */

type Attrs = Record<string, string | number | boolean | undefined>;

/** `el("button", {type: "button", "aria-label": "x"}, "text", child)`. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Node | string)[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (name === "class") node.className = String(value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children) node.append(child);
  return node;
}

/** The element with this id; throws if the page lacks it (a bug in index.html). */
export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const node = document.getElementById(id);
  if (!node) throw new Error(`index.html has no #${id}`);
  return node as T;
}

/** A labelled form row: `<label for=id>text</label>` + the control. */
export function labelled(text: string, control: HTMLElement, hint?: string): HTMLElement {
  const label = el("label", { for: control.id }, text);
  const row = el("div", { class: "row" }, label, control);
  if (hint) row.append(el("span", { class: "hint" }, hint));
  return row;
}

/** Format a number for people: few significant digits, no trailing noise. */
export function fmt(value: number, digits = 3): string {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return String(value);
  const abs = Math.abs(value);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return value.toExponential(2);
  return String(Number(value.toPrecision(digits)));
}

/** "47.61° N, 122.33° W". */
export function fmtLonLat(lon: number, lat: number): string {
  const ns = lat >= 0 ? "N" : "S";
  const ew = lon >= 0 ? "E" : "W";
  return `${Math.abs(lat).toFixed(3)}° ${ns}, ${Math.abs(lon).toFixed(3)}° ${ew}`;
}

/** A removable chip: label + × button (`aria-label` "Remove …"). */
export function chip(label: string, kind: string, onRemove: () => void, title?: string): HTMLElement {
  const remove = el(
    "button",
    { type: "button", class: "chip-remove", "aria-label": `Remove ${label}`, title: "Remove" },
    "×",
  );
  remove.addEventListener("click", onRemove);
  return el("li", { class: `chip chip-${kind}`, title: title ?? label }, el("span", {}, label), remove);
}
