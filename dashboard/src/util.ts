// DOM, formatting, CSV and URL-hash helpers.

type Attrs = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>;
type Child = Node | string | null | undefined | false;

/** An element with attributes (`on*` functions become listeners) and children. */
function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (typeof v === "function") e.addEventListener(k.slice(2), v);
    else if (v === true) e.setAttribute(k, "");
    else if (v !== false && v !== null && v !== undefined) e.setAttribute(k, String(v));
  }
  for (const c of children) if (c !== null && c !== undefined && c !== false) e.append(c);
  return e;
}

const formats = new Map<string, Intl.NumberFormat>();

/** An en-US number format, made once: `toLocaleString` with options builds one per call
 * (10,000 table cells: half a second). */
function formatOf(min: number, max: number): Intl.NumberFormat {
  const k = `${min}:${max}`;
  let f = formats.get(k);
  if (!f) {
    f = new Intl.NumberFormat("en-US", { minimumFractionDigits: min, maximumFractionDigits: max });
    formats.set(k, f);
  }
  return f;
}

/** A number for people: n/a when missing, `digits` significant-ish decimals. */
function fmt(v: number | null | undefined, digits = 1): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "n/a";
  return formatOf(digits, digits).format(v);
}

/** A measured number for people: at most 4 significant digits (integers whole), thousands
 * separated, n/a when missing. */
function fmtSig(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "n/a";
  if (Number.isInteger(v)) return formatOf(0, 0).format(v);
  const a = Math.abs(v);
  const digits = a >= 1000 ? 1 : a >= 100 ? 2 : a >= 1 ? 3 : a >= 0.01 ? 4 : 6;
  return formatOf(0, digits).format(v);
}

/** Full precision for data attributes (empty when missing). */
function raw(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? "" : String(v);
}

/** A run's date for display: `2026-11-28` from RFC 3339, `20261128-020000` (a bench result's
 * `date`) or a bare date. */
function date10(s: string | null | undefined): string {
  if (!s) return "";
  const m = /^(\d{4})(\d{2})(\d{2})-\d{6}$/.exec(s);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : s.slice(0, 10);
}

// ---- tables -------------------------------------------------------------------------------

interface Cell {
  text: string | Node;
  /** A number: written to data-value in full precision. */
  value?: number | null;
  attrs?: Attrs;
}
interface Row {
  attrs: Attrs;
  cells: (Cell | string)[];
}

function numCell(v: number | null | undefined, digits = 1, attrs: Attrs = {}): Cell {
  return { text: fmt(v, digits), value: v ?? null, attrs };
}

/** A data table with stable selectors: data-testid on the table, data-col on every cell. */
/** A pool in words: `decode 4 × TP8 EP8 = 32 GPUs`. */
function poolText(p: PoolEntry): string {
  const sizes = [`TP${p.tp}`, p.pp > 1 ? `PP${p.pp}` : "", p.dcp > 1 ? `DCP${p.dcp}` : "", p.pcp > 1 ? `PCP${p.pcp}` : "",
    p.ep > 1 ? `EP${p.ep}` : "", p.dp_attn ? "DP-attn" : ""].filter((s) => s !== "").join(" ");
  return `${p.role} ${p.workers} × ${sizes} = ${p.gpus} GPUs`;
}

/** What else a deployment states: router, KV transfer, MTP draft length. */
function deploymentExtras(d: DeploymentEntry): string[] {
  return [
    d.router ? `router ${d.router}` : "",
    d.kv_transfer ? `KV transfer ${d.kv_transfer}` : "",
    d.draft_tokens !== null && d.draft_tokens !== undefined ? `MTP ${d.draft_tokens} draft tokens` : "",
  ].filter((s) => s !== "");
}

function table(testid: string, columns: [string, string][], rows: Row[]): HTMLTableElement {
  const head = h("tr", {}, ...columns.map(([, label]) => h("th", {}, label)));
  return h("table", { "data-testid": testid, class: "data" }, h("thead", {}, head), h("tbody", {}, ...rows.map((r) => tableRow(columns, r))));
}

function tableRow(columns: [string, string][], r: Row): HTMLTableRowElement {
  return h("tr", r.attrs, ...r.cells.map((c, i) => {
    const cell: Cell = typeof c === "string" ? { text: c } : c;
    const a: Attrs = { "data-col": columns[i][0], ...cell.attrs };
    if (cell.value !== undefined) {
      a["data-value"] = raw(cell.value);
      a.class = "num";
    }
    return h("td", a, cell.text);
  }));
}

/** A table of the first `first` of `rows` (each made when shown) and a button that adds the
 * rest: a view of 100,000 points has some 10,000 frontier points, and laying out their rows
 * took longer than drawing the chart. */
function longTable(testid: string, columns: [string, string][], rows: (() => Row)[], first: number): HTMLElement {
  const t = table(testid, columns, rows.slice(0, first).map((r) => r()));
  if (rows.length <= first) return t;
  const more = h("button", {
    type: "button", "data-testid": `${testid}-more`, "data-rest": rows.length - first,
    onclick: () => {
      t.tBodies[0].append(...rows.slice(first).map((r) => tableRow(columns, r())));
      more.remove();
    },
  }, `show all ${rows.length} rows (${rows.length - first} more)`);
  return h("div", {}, t, more);
}

// ---- CSV ----------------------------------------------------------------------------------

type CsvValue = string | number | boolean | null | undefined;

function csvText(header: string[], rows: CsvValue[][]): string {
  const q = (v: CsvValue): string => {
    const s = v === null || v === undefined ? "" : typeof v === "number" ? raw(v) : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [header, ...rows].map((r) => r.map(q).join(",")).join("\n") + "\n";
}

/** What every CSV starts with, as `#` comment lines (pandas: `comment="#"`): what it is, the
 * view's URL, when, and where its numbers come from under which terms. */
let csvPreamble: () => string[] = () => [];

function setCsvPreamble(f: () => string[]): void {
  csvPreamble = f;
}

/** Downloads `blob` as `name` (a download, not a fetch: the policy's connect-src is not involved). */
function download(name: string, blob: Blob): void {
  const url = URL.createObjectURL(blob);
  const a = h("a", { href: url, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** A "CSV" button that downloads what a chart draws, after the preamble. */
function csvButton(name: string, data: () => { header: string[]; rows: CsvValue[][] }): HTMLButtonElement {
  return h("button", {
    type: "button", class: "csv", "data-testid": `csv-${name}`,
    onclick: () => {
      const d = data();
      const pre = csvPreamble().map((l) => `# ${l.replace(/[\r\n]+/g, " ")}\n`).join("");
      download(`${name}.csv`, new Blob([pre + csvText(d.header, d.rows)], { type: "text/csv" }));
    },
  }, "CSV");
}

// ---- the URL hash -------------------------------------------------------------------------

/** `#/view?k=v&…` or `#/point/ID`. */
interface Route {
  view: string;
  id: string | null;
  params: Map<string, string>;
}

function parseHash(hash: string): Route {
  const s = hash.replace(/^#\/?/, "");
  const qi = s.indexOf("?");
  const path = qi < 0 ? s : s.slice(0, qi);
  const params = new Map<string, string>();
  if (qi >= 0) {
    for (const kv of s.slice(qi + 1).split("&")) {
      if (!kv) continue;
      const eq = kv.indexOf("=");
      const dec = (x: string): string => {
        try { return decodeURIComponent(x); } catch { return x; }
      };
      params.set(dec(eq < 0 ? kv : kv.slice(0, eq)), dec(eq < 0 ? "" : kv.slice(eq + 1)));
    }
  }
  const parts = path.split("/");
  return { view: parts[0] || "inference", id: parts.length > 1 ? decodeURIComponent(parts.slice(1).join("/")) : null, params };
}

/** The hash of a view with its parameters in the order given (null ones left out). */
function hashOf(view: string, params: [string, string | number | null | undefined][]): string {
  const enc = (x: string): string => encodeURIComponent(x).replace(/%2C/gi, ",");
  const q = params
    .filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${enc(k)}=${enc(String(v))}`)
    .join("&");
  return `#/${view}${q ? "?" + q : ""}`;
}

function list(v: string | undefined): string[] | null {
  return v === undefined ? null : v.split(",").filter((x) => x !== "");
}

function num(v: string | undefined): number | null {
  if (v === undefined || v.trim() === "") return null;
  const n = Number(v);
  return Number.isFinite(n) ? n : null;
}

// ---- controls -----------------------------------------------------------------------------

function labelled(text: string, control: HTMLElement): HTMLLabelElement {
  return h("label", { class: "ctl" }, h("span", {}, text), control);
}

function select(testid: string, value: string, options: [string, string][], onchange: (v: string) => void): HTMLSelectElement {
  const s = h("select", { "data-testid": testid }, ...options.map(([v, t]) => h("option", { value: v, selected: v === value }, t)));
  s.value = value;
  s.addEventListener("change", () => onchange(s.value));
  return s;
}

function numberInput(testid: string, value: number | null, onchange: (v: number | null) => void, attrs: Attrs = {}): HTMLInputElement {
  const i = h("input", { type: "number", step: "any", "data-testid": testid, value: value === null ? "" : String(value), ...attrs });
  i.addEventListener("change", () => onchange(num(i.value)));
  return i;
}

/** A day parameter (`YYYY-MM-DD`), or null when missing or malformed. */
function dayParam(v: string | undefined): string | null {
  return v !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(v) ? v : null;
}

/** A date (YYYY-MM-DD) or none. */
function dateInput(testid: string, value: string | null, onchange: (v: string | null) => void): HTMLInputElement {
  const i = h("input", { type: "date", "data-testid": testid, value: value ?? "" });
  i.addEventListener("change", () => onchange(i.value === "" ? null : i.value));
  return i;
}

/** A group of checkboxes; `onchange` gets the ticked values in `all`'s order. */
function checks(testid: string, all: string[], ticked: string[], onchange: (v: string[]) => void): HTMLElement {
  const boxes = all.map((v) => h("input", { type: "checkbox", value: v, checked: ticked.includes(v), "data-testid": `${testid}-${v}` }));
  const fire = (): void => onchange(boxes.filter((b) => b.checked).map((b) => b.value));
  boxes.forEach((b) => b.addEventListener("change", fire));
  return h("span", { class: "checks", "data-testid": testid }, ...boxes.map((b, i) => h("label", {}, b, all[i])));
}
