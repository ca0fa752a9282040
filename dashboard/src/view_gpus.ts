// #/gpus: the accelerators of servebench's catalog, spec by spec, each figure with its source
// (data/catalog; the same files the simulator and the economics read).

interface GpuSpec {
  key: string;
  label: string;
  unit: string;
  value: number | string;
  source: string;
}

interface GpusFile {
  accelerators: { id: string; name: string; vendor: string; specs: GpuSpec[] }[];
  sources: Record<string, { ref: string; date: string }>;
}

function renderGpus(g: GpusFile, P: Map<string, string>): Rendered {
  const all = g.accelerators.map((a) => a.id);
  const vendors = sorted(g.accelerators.map((a) => a.vendor));
  const vendor = list(P.get("vendor"))?.filter((v) => vendors.includes(v)) ?? vendors;
  const shown = g.accelerators.filter((a) => vendor.includes(a.vendor));
  const params: Params = [["vendor", vendor.join(",")]];
  const set = (v: string[]): void => go("gpus", [["vendor", v.join(",")], ...globals]);
  // Rows: every spec any shown accelerator has, in the catalog's order.
  const keys: { key: string; label: string; unit: string }[] = [];
  for (const a of shown) for (const s of a.specs) if (!keys.some((k) => k.key === s.key)) keys.push({ key: s.key, label: s.label, unit: s.unit });
  const sourceIds = sorted(shown.flatMap((a) => a.specs.map((s) => s.source)));
  const note = (id: string): number => sourceIds.indexOf(id) + 1;
  const rows: Row[] = keys.map((k) => ({
    attrs: { "data-testid": "gpu-row", "data-key": k.key },
    cells: [k.unit ? `${k.label}, ${k.unit}` : k.label, ...shown.map((a): Cell => {
      const s = a.specs.find((x) => x.key === k.key);
      if (!s) return { text: "n/a", attrs: { "data-testid": "gpu-cell", "data-gpu": a.id, "data-key": k.key } };
      const text = typeof s.value === "number" ? fmt(s.value, Number.isInteger(s.value) ? 0 : 2) : s.value;
      return {
        text: h("span", {}, text, h("sup", { title: g.sources[s.source]?.ref ?? s.source }, `[${note(s.source)}]`)),
        attrs: { "data-testid": "gpu-cell", "data-gpu": a.id, "data-key": k.key, "data-value": String(s.value), "data-source": s.source, class: typeof s.value === "number" ? "num" : "" },
      };
    })],
  }));
  const el = h("section", { "data-testid": "view-gpus" },
    h("div", { class: "controls" }, labelled("vendor", checks("vendor", vendors, vendor, set))),
    h("h2", {}, "Accelerator specs"),
    table("gpus-table", [["spec", "spec"], ...shown.map((a): [string, string] => [a.id, a.name])], rows),
    h("h3", {}, "Sources"),
    h("ol", { "data-testid": "gpu-sources" }, ...sourceIds.map((id) => h("li", { "data-source": id }, `${id}: ${g.sources[id]?.ref ?? "?"} (${g.sources[id]?.date ?? "?"})`))),
    h("p", { class: "note" }, "From servebench's catalog (data/catalog/*.yaml), the figures the simulator and the cost, power and energy metrics use. All-in power and prices are per GPU."));
  return { el, params, state: { vendor, accelerators: shown.map((a) => a.id), all, specs: Object.fromEntries(shown.map((a) => [a.id, Object.fromEntries(a.specs.map((s) => [s.key, s.value]))])) } };
}
