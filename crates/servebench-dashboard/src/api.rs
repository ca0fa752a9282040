//! The JSON API (`docs/dashboard.md`): what the store holds, one view's points, one point in
//! full, and the reports of `servebench report`.

use crate::answers::Answers;
use serde::Serialize;
use serde_json::{json, Value};
use servebench_analysis::grouping::Grouping;
use servebench_catalog::Catalog;
use servebench_report::curves::{label, AsOf, Query, RunPick};
use servebench_report::figures::{self, Figures};
use servebench_report::request::{Request, What};
use servebench_store::{Config, Metrics, Source, Store, StoreError, ViewSummary};
use sha2::{Digest, Sha256};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Why an API call has no answer.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("the answer could not be written as JSON: {0}")]
    Json(#[from] serde_json::Error),
}

/// The file name of a view: the model made path-safe, the workload, and a hash of the model
/// where making it safe changed it (so two models never share a file).
pub fn view_slug(model: &str, isl: u32, osl: u32) -> String {
    let safe: String = model
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut slug = format!("{safe}_{isl}x{osl}");
    if safe != model {
        let h = hex::encode(Sha256::digest(model.as_bytes()));
        slug.push('_');
        slug.push_str(&h[..8]);
    }
    slug
}

pub struct Api {
    pub store: Store,
    pub catalog: Catalog,
    answers: Answers,
    /// The store's views as of a generation: every request finds its view among them, and
    /// listing them reads every point.
    views: Option<(i64, Vec<ViewSummary>)>,
}

/// The bytes of answers an [`Api`] keeps by default (a 100,000-point view is some 25 MB).
pub const DEFAULT_CACHE_BYTES: usize = 1 << 30;

impl Api {
    /// The API over `store`, keeping up to [`DEFAULT_CACHE_BYTES`] of answers.
    pub fn new(store: Store, catalog: Catalog) -> Api {
        Api::with_cache(store, catalog, DEFAULT_CACHE_BYTES)
    }

    /// The API over `store`, keeping up to `cache_bytes` of answers (0: none).
    pub fn with_cache(store: Store, catalog: Catalog, cache_bytes: usize) -> Api {
        Api {
            store,
            catalog,
            answers: Answers::new(cache_bytes),
            views: None,
        }
    }

    /// The store's views, read once per store generation.
    fn views(&mut self) -> Result<Vec<ViewSummary>, ApiError> {
        let generation = self.store.generation()?;
        if let Some((g, v)) = &self.views {
            if *g == generation {
                return Ok(v.clone());
            }
        }
        let v = self.store.views()?;
        self.views = Some((generation, v.clone()));
        Ok(v)
    }

    /// The answer to `target`: the one kept when the store has not changed since it was
    /// built, else `build`'s (then kept). Errors are not kept.
    pub fn cached(
        &mut self,
        target: &str,
        build: impl FnOnce(&mut Api) -> Result<Vec<u8>, ApiError>,
    ) -> Result<Arc<[u8]>, ApiError> {
        // Read before building: a write that lands meanwhile raises the generation, so what
        // is kept is at least as new as the generation it is kept under.
        let generation = self.store.generation()?;
        self.answers.at(generation);
        if let Some(body) = self.answers.get(target) {
            return Ok(body);
        }
        let body: Arc<[u8]> = build(self)?.into();
        self.answers.put(target, body.clone());
        Ok(body)
    }

    /// What a first visitor asks for: the index, and each view with its figures under the
    /// inference page's default grouping (targets as the pages request them).
    pub fn warm_targets(&mut self) -> Result<Vec<String>, ApiError> {
        let mut t = vec!["api/v1/index.json".to_string()];
        for v in self.views()? {
            let slug = view_slug(&v.model, v.isl, v.osl);
            t.push(format!("api/v1/views/{slug}.bin"));
            t.push(format!(
                "api/v1/figures/{slug}/{}.json",
                Grouping::default().as_str()
            ));
        }
        Ok(t)
    }

    /// Bytes of answers kept.
    pub fn cached_bytes(&self) -> usize {
        self.answers.bytes()
    }

    /// Whether answers are kept at all (`--cache-mb 0`: none, so none are built ahead).
    pub fn keeps_answers(&self) -> bool {
        self.answers.keeps()
    }
    /// `index.json`: views, runs and the catalog's prices and power; `as_of`: the runs that had
    /// started by then.
    pub fn index(&mut self, as_of: Option<&AsOf>) -> Result<Value, ApiError> {
        let views: Vec<Value> = self
            .views()?
            .iter()
            .map(|v: &ViewSummary| {
                json!({
                    "model": v.model, "isl": v.isl, "osl": v.osl,
                    "path": format!("views/{}.json", view_slug(&v.model, v.isl, v.osl)),
                    "points": v.points, "precisions": v.precisions, "sources": v.sources,
                    "hardware": v.hardware, "engines": v.engines,
                })
            })
            .collect();
        let mut runs = self.store.runs()?;
        if let Some(d) = as_of {
            runs.retain(|r| d.includes(&r.started_at));
        }
        let mut hardware = serde_json::Map::new();
        for (id, a) in &self.catalog.accelerators {
            let mut sources: Vec<Value> = Vec::new();
            for f in [
                &a.all_in_kw_per_gpu,
                &a.dollars_per_gpu_hour.owned_hyperscaler,
                &a.dollars_per_gpu_hour.owned_neocloud,
                &a.dollars_per_gpu_hour.rental_3y,
            ] {
                if let Some(s) = self.catalog.sources.get(&f.source) {
                    let v = json!({"id": f.source, "ref": s.reference, "date": s.date});
                    if !sources.contains(&v) {
                        sources.push(v);
                    }
                }
            }
            hardware.insert(
                id.clone(),
                json!({
                    "name": a.name,
                    "dollars_per_gpu_hour": {
                        "hyperscaler": a.dollars_per_gpu_hour.owned_hyperscaler.value,
                        "neocloud": a.dollars_per_gpu_hour.owned_neocloud.value,
                        "rental": a.dollars_per_gpu_hour.rental_3y.value,
                    },
                    "all_in_kw_per_gpu": a.all_in_kw_per_gpu.value,
                    "sources": sources,
                }),
            );
        }
        Ok(json!({
            "generated_at": now_utc(),
            // The live server answers any day; a static export holds the latest only.
            "as_of": {"supported": true, "date": as_of.map(AsOf::as_str)},
            "views": views,
            "runs": runs,
            "hardware": hardware,
        }))
    }

    /// `gpus.json`: every accelerator of the catalog with its specs, each with its source.
    pub fn gpus(&self) -> Value {
        let fig = |key: &str, label: &str, unit: &str, f: &servebench_catalog::Figure| json!({"key": key, "label": label, "unit": unit, "value": f.value, "source": f.source});
        let text = |key: &str, label: &str, v: &str, source: &str| json!({"key": key, "label": label, "unit": "", "value": v, "source": source});
        let mut used: Vec<&str> = Vec::new();
        let accelerators: Vec<Value> = self
            .catalog
            .accelerators
            .values()
            .map(|a| {
                let mut specs = vec![
                    text("family", "architecture", &a.family.value, &a.family.source),
                    fig("hbm_gb", "memory", "GB", &a.hbm_gb),
                    fig("hbm_tb_per_s", "memory bandwidth", "TB/s", &a.hbm_tb_per_s),
                    fig("bf16_tflops", "dense BF16", "TFLOPS", &a.dense_tflops.bf16),
                    fig("fp8_tflops", "dense FP8", "TFLOPS", &a.dense_tflops.fp8),
                ];
                specs.extend(
                    a.dense_tflops
                        .fp4
                        .as_ref()
                        .map(|f| fig("fp4_tflops", "dense FP4", "TFLOPS", f)),
                );
                specs.push(fig("tdp_w", "TDP", "W", &a.tdp_w));
                if let Some(i) = &a.scale_up.interconnect {
                    specs.push(text("scale_up", "scale-up link", &i.value, &i.source));
                }
                specs.push(fig(
                    "domain_gpus",
                    "scale-up domain",
                    "GPUs",
                    &a.scale_up.domain_gpus,
                ));
                specs.push(fig(
                    "scale_up_gb_per_s",
                    "scale-up bandwidth per GPU",
                    "GB/s",
                    &a.scale_up.gb_per_s_per_gpu,
                ));
                if let Some(o) = &a.scale_out {
                    specs.push(text("nic", "scale-out NIC", &o.nic.value, &o.nic.source));
                    specs.push(fig(
                        "scale_out_gbit_per_s",
                        "scale-out per GPU",
                        "Gbit/s",
                        &o.gbit_per_s_per_gpu,
                    ));
                }
                if let Some(h) = &a.host_link {
                    specs.push(text(
                        "host_link",
                        "host link",
                        &h.interconnect.value,
                        &h.interconnect.source,
                    ));
                    specs.push(fig(
                        "host_gb_per_s",
                        "host link bandwidth",
                        "GB/s",
                        &h.gb_per_s,
                    ));
                }
                let c = &a.dollars_per_gpu_hour;
                specs.extend([
                    fig(
                        "all_in_kw",
                        "all-in power per GPU",
                        "kW",
                        &a.all_in_kw_per_gpu,
                    ),
                    fig(
                        "hyperscaler",
                        "owned, hyperscaler",
                        "$/GPU-hour",
                        &c.owned_hyperscaler,
                    ),
                    fig(
                        "neocloud",
                        "owned, neocloud",
                        "$/GPU-hour",
                        &c.owned_neocloud,
                    ),
                    fig("rental", "3-year rental", "$/GPU-hour", &c.rental_3y),
                ]);
                for s in &specs {
                    if let Some(id) = s["source"].as_str() {
                        if let Some((k, _)) = self.catalog.sources.get_key_value(id) {
                            if !used.contains(&k.as_str()) {
                                used.push(k.as_str());
                            }
                        }
                    }
                }
                json!({"id": a.id, "name": a.name, "vendor": a.vendor, "specs": specs})
            })
            .collect();
        used.sort();
        let sources: serde_json::Map<String, Value> = used
            .iter()
            .map(|id| {
                let s = &self.catalog.sources[*id];
                (id.to_string(), json!({"ref": s.reference, "date": s.date}))
            })
            .collect();
        json!({"accelerators": accelerators, "sources": sources})
    }

    /// `views/<slug>.json`: every point of one model at one workload, both sources, all runs.
    pub fn view(&mut self, slug: &str, as_of: Option<&AsOf>) -> Result<ViewDoc, ApiError> {
        let v = self.summary(slug)?;
        self.view_of(&v.model, v.isl, v.osl, as_of)
    }

    /// Every point of one model at one workload; `as_of`: of the runs that had started by then.
    pub fn view_of(
        &mut self,
        model: &str,
        isl: u32,
        osl: u32,
        as_of: Option<&AsOf>,
    ) -> Result<ViewDoc, ApiError> {
        let started: HashMap<String, String> = self
            .store
            .runs()?
            .into_iter()
            .map(|r| (r.key, r.started_at))
            .collect();
        let kept =
            |run: &str| as_of.is_none_or(|d| started.get(run).is_some_and(|s| d.includes(s)));
        let mut doc = ViewDoc {
            model: model.to_string(),
            isl,
            osl,
            configs: Vec::new(),
            runs: Vec::new(),
            images: Vec::new(),
            points: Columns::default(),
            evals: Vec::new(),
        };
        let mut images: HashMap<String, usize> = HashMap::new();
        let mut topologies = self.store.topologies(model)?;

        // Configs and runs by row id (configs are both sources'), in the order their first
        // point comes, each once.
        let mut configs: HashMap<i64, usize> = HashMap::new();
        let mut runs: HashMap<i64, usize> = HashMap::new();
        for source in [Source::Own, Source::Reference] {
            let t = self.store.view_table(model, isl, osl, None, source)?;
            // The table's image indices, as the document's (both sources' images once).
            let mut image_of: Vec<Option<usize>> = vec![None; t.images.len()];
            doc.points.reserve(t.len());
            for p in t.points() {
                let (run_key, started_at) = &t.runs[&p.run_id];
                if !as_of.is_none_or(|d| d.includes(started_at)) {
                    continue;
                }
                let config = *configs.entry(p.config_id).or_insert_with(|| {
                    let (key, config) = &t.configs[&p.config_id];
                    doc.configs.push(ConfigDoc {
                        id: doc.configs.len(),
                        key: key.clone(),
                        // The config's own label; the source is the point's.
                        label: label(config, Source::Own),
                        config: config.clone(),
                        deployment: topologies.remove(key),
                    });
                    doc.configs.len() - 1
                });
                let run = *runs.entry(p.run_id).or_insert_with(|| {
                    doc.runs.push(RunRef {
                        id: run_id(run_key),
                        key: run_key.clone(),
                        started_at: started_at.clone(),
                    });
                    doc.runs.len() - 1
                });
                let image = p.image.map(|i| {
                    *image_of[i as usize].get_or_insert_with(|| {
                        let name = &t.images[i as usize];
                        *images.entry(name.clone()).or_insert_with(|| {
                            doc.images.push(name.clone());
                            doc.images.len() - 1
                        })
                    })
                });
                doc.points
                    .push(p, config, source, run, image, &figures::point_y(&p.metrics));
            }
            let evals = self.store.view_evals(model, isl, osl, source)?;
            doc.evals.extend(evals.into_iter().filter(|e| kept(&e.run)));
        }
        doc.points.finish(
            figures::POINT_Y
                .iter()
                .map(|y| y.key().to_string())
                .collect(),
        );
        Ok(doc)
    }

    /// `figures/<slug>/<group>.json`: what the pages draw of a view under a grouping
    /// (frontiers, values at the target grid, regressions), computed by the report library.
    /// `figures/<slug>/<group>.new.json`: of the points each run measured itself.
    pub fn figures(
        &mut self,
        slug: &str,
        group: &str,
        as_of: Option<&AsOf>,
    ) -> Result<Figures, ApiError> {
        let (name, new_only) = match group.strip_suffix(".new") {
            Some(g) => (g, true),
            None => (group, false),
        };
        let grouping: Grouping = name
            .parse()
            .map_err(|e: String| ApiError::NotFound(format!("no figures '{group}': {e}")))?;
        let v = self.summary(slug)?;
        self.figures_of(&v.model, v.isl, v.osl, grouping, as_of, new_only)
    }

    /// The figures of a view under a grouping; `as_of`: of the runs that had started by then
    /// (each config's latest run is its latest by that day); `new_only`: of the points each run
    /// measured itself.
    pub fn figures_of(
        &mut self,
        model: &str,
        isl: u32,
        osl: u32,
        group: Grouping,
        as_of: Option<&AsOf>,
        new_only: bool,
    ) -> Result<Figures, ApiError> {
        let q = Query {
            model: model.to_string(),
            isl,
            osl,
            precision: None,
            sources: vec![Source::Own, Source::Reference],
            runs: RunPick::All,
            new_only: false,
        };
        let mut curves = servebench_report::curves::load(&mut self.store, &q)?;
        if let Some(d) = as_of {
            curves.retain(|c| d.includes(&c.run_started_at));
        }
        let changelog = self.store.changelog()?;
        let reused = match new_only {
            true => self.store.reused_points()?,
            false => Default::default(),
        };
        Ok(figures::figures(
            (model, isl, osl),
            curves,
            group,
            &self.catalog,
            &changelog,
            &reused,
        ))
    }

    /// `builds/<slug>/<run id>.json`: what one run deployed of a view, per config (images and
    /// recipe fingerprints), for the compare page's "what changed".
    pub fn builds(&mut self, slug: &str, id: &str) -> Result<Value, ApiError> {
        let v = self.summary(slug)?;
        let run = self
            .store
            .runs()?
            .into_iter()
            .find(|r| run_id(&r.key) == id)
            .ok_or_else(|| ApiError::NotFound(format!("no run '{id}' in the store")))?;
        let builds = self.store.run_builds(&v.model, v.isl, v.osl, &run.key)?;
        Ok(json!({"run": run.key, "builds": builds}))
    }

    /// `reliability.json?from=D&to=D`: job success per accelerator over the runs of a date
    /// range, run by run, with the failed jobs (the report library's figures).
    pub fn reliability(
        &mut self,
        from: Option<&AsOf>,
        to: Option<&AsOf>,
    ) -> Result<servebench_report::reliability::Reliability, ApiError> {
        let stats = self.store.job_stats()?;
        let mut failed = self.store.failed_jobs()?;
        // A store's contents are untrusted: whatever an older ingest kept of a secret is masked.
        for f in &mut failed {
            f.reason = servebench_core::redact::text(&f.reason).into_owned();
        }
        Ok(servebench_report::reliability::reliability(
            stats, failed, from, to,
        ))
    }

    fn summary(&mut self, slug: &str) -> Result<ViewSummary, ApiError> {
        self.views()?
            .into_iter()
            .find(|v| view_slug(&v.model, v.isl, v.osl) == slug)
            .ok_or_else(|| ApiError::NotFound(format!("no view '{slug}' in the store")))
    }

    /// `points/<id>.json`: one point in full, with the tail of its server log as ingest kept
    /// it (a store's contents are untrusted: no path in it is opened, and secrets an older
    /// ingest kept are masked here).
    pub fn point(&mut self, id: &str) -> Result<Value, ApiError> {
        let n: i64 = id
            .parse()
            .map_err(|_| ApiError::NotFound(format!("no point '{id}'")))?;
        let p = self
            .store
            .point(n)?
            .ok_or_else(|| ApiError::NotFound(format!("no point '{id}'")))?;
        let mut v = serde_json::to_value(&p).unwrap_or_default();
        v["server_log"] = match &p.point.provenance["server_log_tail"] {
            Value::String(tail) => json!(servebench_core::redact::text(tail)),
            _ => Value::Null,
        };
        servebench_core::redact::json(&mut v);
        // The run's key is named like a secret (`key`) but is the run's name: shown, with
        // only what its value could hide masked.
        v["run"]["key"] = json!(servebench_core::redact::value(&p.run.key));
        v["latency"] = latency_figures(&p.point.result);
        v["server_timeline"] = server_timeline(&p.point.result);
        v["units"] = json!(METRIC_UNITS
            .iter()
            .map(|(k, u)| (k.to_string(), json!(u)))
            .collect::<serde_json::Map<String, Value>>());
        Ok(v)
    }

    /// `report/<what>?...`: a report of `servebench report`, as its JSON output.
    pub fn report(&mut self, what: &str, pairs: &[(String, String)]) -> Result<Value, ApiError> {
        let what: What = what.parse().map_err(ApiError::BadRequest)?;
        let req = Request::from_pairs(what, pairs).map_err(ApiError::BadRequest)?;
        let (_, table) = req
            .run(&mut self.store, &self.catalog)
            .map_err(ApiError::BadRequest)?;
        use servebench_report::table::Exporter;
        serde_json::from_str(&servebench_report::table::Json.render(&table))
            .map_err(|e| ApiError::BadRequest(e.to_string()))
    }
}

/// The unit of each stored metric, for the point page.
const METRIC_UNITS: [(&str, &str); 13] = [
    ("tput_per_gpu", "tok/s/GPU"),
    ("input_tput_per_gpu", "tok/s/GPU"),
    ("output_tput_per_gpu", "tok/s/GPU"),
    ("median_intvty", "tok/s/user"),
    ("median_ttft_ms", "ms"),
    ("median_tpot_ms", "ms"),
    ("median_e2el_ms", "ms"),
    ("p99_ttft_ms", "ms"),
    ("p99_tpot_ms", "ms"),
    ("p99_e2el_ms", "ms"),
    ("completed", "requests"),
    ("failed", "requests"),
    ("measured_j_per_token", "J/output token"),
];

/// The bench result inside a stored result: the result itself (`servebench bench` files) or
/// its `result` (a sweep's point files).
fn bench_result(result: &Value) -> &Value {
    if result.get("distributions").is_some() || result.get("agentic").is_some() {
        result
    } else {
        &result["result"]
    }
}

/// Each latency's percentiles (as the result kept them) and their histogram, by the analysis
/// library; null where the result has no per-request distribution (or a malformed one).
fn latency_figures(result: &Value) -> Value {
    let d = &bench_result(result)["distributions"];
    let mut out = serde_json::Map::new();
    for k in ["ttft_ms", "tpot_ms", "itl_ms", "e2el_ms"] {
        let Some(q) = d[k].as_array() else { continue };
        let q: Option<Vec<f64>> = q.iter().map(Value::as_f64).collect();
        let Some(q) = q.filter(|q| q.len() == 101) else {
            continue;
        };
        let h = servebench_analysis::distribution::histogram(&q, 30);
        out.insert(k.into(), json!({"percentiles": q, "histogram": h}));
    }
    if out.is_empty() {
        Value::Null
    } else {
        Value::Object(out)
    }
}

/// The server's KV-cache gauges over the point's window, where the replay scraped them.
fn server_timeline(result: &Value) -> Value {
    let t = &bench_result(result)["agentic"]["server_metrics"]["timeline"];
    match serde_json::from_value::<Vec<servebench_core::result::GaugeSample>>(t.clone()) {
        Ok(v) if !v.is_empty() => json!(v),
        _ => Value::Null,
    }
}

/// One view as the API serves it: its points as columns (a view can hold a hundred thousand
/// points; a column of numbers is a fraction of the size of as many objects, and parses
/// faster), serialised straight from these types.
#[derive(Debug, Serialize)]
pub struct ViewDoc {
    pub model: String,
    pub isl: u32,
    pub osl: u32,
    pub configs: Vec<ConfigDoc>,
    /// The runs of its points (`points.run` indexes this).
    pub runs: Vec<RunRef>,
    /// The images of its points (`points.image` indexes this).
    pub images: Vec<String>,
    pub points: Columns,
    /// Accuracy evals run on the view's deployments (with the point measured beside each).
    pub evals: Vec<servebench_store::EvalRecord>,
}

/// The first bytes of a view in binary columns.
pub const VIEW_BIN_MAGIC: &[u8; 4] = b"SBV1";

impl ViewDoc {
    /// The view as binary columns (`views/<slug>.bin`, `docs/dashboard.md`): the same numbers,
    /// exact, at a fraction of the JSON's size and with nothing to parse. `SBV1`, the length of
    /// a JSON header (u32, little-endian; the header is padded with spaces to a multiple of 8
    /// bytes), the header (the document without its point columns, plus `n` and the
    /// `columns` in order with their types), then each column's `n` values, little-endian,
    /// each starting at a multiple of 8 bytes. `f64` null is NaN, `i32` null is -1; `source`
    /// is 0 for own and 1 for reference.
    pub fn to_binary(&self) -> Result<Vec<u8>, serde_json::Error> {
        let c = &self.points;
        let opt = |x: Option<f64>| x.unwrap_or(f64::NAN).to_le_bytes();
        let u32s = |x: usize| (x as u32).to_le_bytes();
        // Every column at most 8 bytes a point, and its padding: one allocation.
        let count = 9 + c.metrics.len() + c.y.len();
        let mut w = ColumnWriter {
            body: Vec::with_capacity(count * (c.n * 8 + 8)),
            columns: Vec::with_capacity(count),
        };
        w.column("id", "f64", c.id.iter().map(|&x| (x as f64).to_le_bytes()));
        w.column("config", "u32", c.config.iter().map(|&x| u32s(x)));
        w.column(
            "source",
            "u8",
            c.source
                .iter()
                .map(|s| [u8::from(*s == Source::Reference.as_str())]),
        );
        w.column("run", "u32", c.run.iter().map(|&x| u32s(x)));
        w.column("conc", "u32", c.conc.iter().map(|x| x.to_le_bytes()));
        w.column(
            "num_gpus",
            "u32",
            c.num_gpus.iter().map(|x| x.to_le_bytes()),
        );
        w.column(
            "image",
            "i32",
            c.image
                .iter()
                .map(|x| x.map_or(-1, |i| i as i32).to_le_bytes()),
        );
        for (name, xs) in [("completed", &c.completed), ("failed", &c.failed)] {
            w.column(name, "f64", xs.iter().map(|x| opt(x.map(|n| n as f64))));
        }
        for (k, xs) in &c.metrics {
            w.column(&format!("metrics.{k}"), "f64", xs.iter().map(|x| opt(*x)));
        }
        for (k, xs) in &c.y {
            w.column(&format!("y.{k}"), "f64", xs.iter().map(|x| opt(*x)));
        }
        let (body, columns) = (w.body, w.columns);
        let header = serde_json::json!({
            "model": self.model,
            "isl": self.isl,
            "osl": self.osl,
            "configs": self.configs,
            "runs": self.runs,
            "images": self.images,
            "evals": self.evals,
            "n": c.n,
            "columns": columns.iter().map(|(name, ty)| serde_json::json!({"name": name, "type": ty})).collect::<Vec<_>>(),
            "simulated": c.simulated,
            "agentic": c.agentic,
        });
        let mut head = serde_json::to_vec(&header)?;
        head.resize((8 + head.len()).next_multiple_of(8) - 8, b' ');
        let mut out = Vec::with_capacity(8 + head.len() + body.len());
        out.extend_from_slice(VIEW_BIN_MAGIC);
        out.extend_from_slice(&(head.len() as u32).to_le_bytes());
        out.extend_from_slice(&head);
        out.extend_from_slice(&body);
        Ok(out)
    }
}

/// The columns of [`ViewDoc::to_binary`], each from a multiple of 8 bytes.
struct ColumnWriter {
    body: Vec<u8>,
    columns: Vec<(String, &'static str)>,
}

impl ColumnWriter {
    fn column<const N: usize>(
        &mut self,
        name: &str,
        ty: &'static str,
        values: impl Iterator<Item = [u8; N]>,
    ) {
        self.body.resize(self.body.len().next_multiple_of(8), 0);
        for v in values {
            self.body.extend_from_slice(&v);
        }
        self.columns.push((name.to_string(), ty));
    }
}

#[derive(Debug, Serialize)]
pub struct RunRef {
    /// The run's name in paths ([`run_id`]): a run key is free text.
    pub id: String,
    pub key: String,
    pub started_at: String,
}

/// A run's name in API paths: the first 64 bits of the SHA-256 of its key, in hex.
pub fn run_id(key: &str) -> String {
    hex::encode(&Sha256::digest(key.as_bytes())[..8])
}

#[derive(Debug, Serialize)]
pub struct ConfigDoc {
    pub id: usize,
    pub key: String,
    pub label: String,
    #[serde(flatten)]
    pub config: Config,
    /// Its pools (per-role GPUs), router, KV transfer and MTP draft length, where stored.
    pub deployment: Option<servebench_store::Topology>,
}

/// The points of a view, one array per field, all of one length (`n`); a metric a point
/// lacks is null.
#[derive(Debug, Default, Serialize)]
pub struct Columns {
    pub n: usize,
    pub id: Vec<i64>,
    /// Index into `configs`.
    pub config: Vec<usize>,
    pub source: Vec<&'static str>,
    /// Index into `runs`.
    pub run: Vec<usize>,
    pub conc: Vec<u32>,
    pub num_gpus: Vec<u32>,
    /// Index into `images`, null where unknown.
    pub image: Vec<Option<usize>>,
    /// Requests completed and failed, where counted.
    pub completed: Vec<Option<u64>>,
    pub failed: Vec<Option<u64>>,
    /// Each measured metric of the store's `Metrics`, by its name.
    pub metrics: BTreeMap<&'static str, Vec<Option<f64>>>,
    /// The y metrics the library computes per point beyond the stored metrics, by key
    /// (`figures::POINT_Y`: measured J per total and per input token).
    pub y: BTreeMap<String, Vec<Option<f64>>>,
    /// The y columns in `figures::POINT_Y` order, and the metric columns in
    /// `metric_fields` order, until [`Columns::finish`] names them.
    #[serde(skip)]
    y_cols: Vec<Vec<Option<f64>>>,
    #[serde(skip)]
    metric_cols: Vec<Vec<Option<f64>>>,
    /// Simulated points only, by their index: the error to expect of each.
    pub simulated: BTreeMap<usize, serde_json::Value>,
    /// Agentic-coding points only, by their index: their own figures (cache hits,
    /// E2E-normalised interactivity).
    pub agentic: BTreeMap<usize, servebench_store::AgenticPoint>,
}

impl Columns {
    /// Room for `n` more points in every column.
    fn reserve(&mut self, n: usize) {
        self.id.reserve(n);
        self.config.reserve(n);
        self.source.reserve(n);
        self.run.reserve(n);
        self.conc.reserve(n);
        self.num_gpus.reserve(n);
        self.image.reserve(n);
        self.completed.reserve(n);
        self.failed.reserve(n);
        self.metric_cols
            .resize_with(metric_fields(&Metrics::default()).len(), Vec::new);
        self.y_cols.resize_with(figures::POINT_Y.len(), Vec::new);
        for col in self.metric_cols.iter_mut().chain(&mut self.y_cols) {
            col.reserve(n);
        }
    }

    fn push(
        &mut self,
        p: &servebench_store::ViewRow,
        config: usize,
        source: Source,
        run: usize,
        image: Option<usize>,
        y: &[Option<f64>],
    ) {
        let i = self.n;
        self.n += 1;
        self.id.push(p.id);
        self.config.push(config);
        self.source.push(source.as_str());
        self.run.push(run);
        self.conc.push(p.conc);
        self.num_gpus.push(p.num_gpus);
        self.image.push(image);
        self.completed.push(p.metrics.completed);
        self.failed.push(p.metrics.failed);
        let m = metric_fields(&p.metrics);
        self.metric_cols.resize_with(m.len(), Vec::new);
        for (col, (_, v)) in self.metric_cols.iter_mut().zip(m) {
            col.push(v);
        }
        self.y_cols.resize_with(y.len(), Vec::new);
        for (col, v) in self.y_cols.iter_mut().zip(y) {
            col.push(*v);
        }
        if let Some(s) = &p.simulated {
            self.simulated.insert(i, s.clone());
        }
        if let Some(a) = &p.agentic {
            self.agentic.insert(i, (**a).clone());
        }
    }
}

impl Columns {
    /// Names the columns: y by `figures::POINT_Y`, metrics by name; every column has all
    /// the points' values (an empty view has empty columns).
    fn finish(&mut self, y_keys: Vec<String>) {
        let mut cols = std::mem::take(&mut self.y_cols);
        cols.resize_with(y_keys.len(), Vec::new);
        self.y = y_keys.into_iter().zip(cols).collect();
        let names = metric_fields(&Metrics::default()).map(|(k, _)| k);
        let mut cols = std::mem::take(&mut self.metric_cols);
        cols.resize_with(names.len(), Vec::new);
        self.metrics = names.into_iter().zip(cols).collect();
    }
}

/// A point's measured metrics by name (the request counts have columns of their own).
fn metric_fields(m: &Metrics) -> [(&'static str, Option<f64>); 11] {
    [
        ("tput_per_gpu", m.tput_per_gpu),
        ("input_tput_per_gpu", m.input_tput_per_gpu),
        ("output_tput_per_gpu", m.output_tput_per_gpu),
        ("median_intvty", m.median_intvty),
        ("median_ttft_ms", m.median_ttft_ms),
        ("median_tpot_ms", m.median_tpot_ms),
        ("median_e2el_ms", m.median_e2el_ms),
        ("p99_ttft_ms", m.p99_ttft_ms),
        ("p99_tpot_ms", m.p99_tpot_ms),
        ("p99_e2el_ms", m.p99_e2el_ms),
        ("measured_j_per_token", m.measured_j_per_token),
    ]
}

/// RFC 3339 UTC, to the second.
pub fn now_utc() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (y, m, d, hh, mm, ss) = servebench_core::clock::utc_civil(secs);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}Z")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_are_path_safe_and_distinct() {
        assert_eq!(
            view_slug("llama-3.3-70b", 1024, 8192),
            "llama-3.3-70b_1024x8192"
        );
        let a = view_slug("meta-llama/Llama-3.3-70B-Instruct", 1024, 1024);
        let b = view_slug("meta-llama_Llama-3.3-70B-Instruct", 1024, 1024);
        assert!(a.starts_with("meta-llama_Llama-3.3-70B-Instruct_1024x1024_"));
        assert_ne!(a, b);
        assert!(!view_slug("../x", 1, 1).contains('/'));
    }
}
