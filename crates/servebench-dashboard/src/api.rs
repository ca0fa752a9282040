//! The JSON API (`docs/dashboard.md`): what the store holds, one view's points, one point in
//! full, and the reports of `servebench report`.

use serde::Serialize;
use serde_json::{json, Value};
use servebench_analysis::grouping::Grouping;
use servebench_catalog::Catalog;
use servebench_report::curves::{label, Query, RunPick};
use servebench_report::figures::{self, Figures, PointEconomics};
use servebench_report::request::{Request, What};
use servebench_store::{Config, Metrics, Source, Store, StoreError, ViewSummary};
use sha2::{Digest, Sha256};

/// Why an API call has no answer.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
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
}

impl Api {
    /// `index.json`: views, runs and the catalog's prices and power.
    pub fn index(&mut self) -> Result<Value, ApiError> {
        let views: Vec<Value> = self
            .store
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
        let runs = self.store.runs()?;
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
            "views": views,
            "runs": runs,
            "hardware": hardware,
        }))
    }

    /// `views/<slug>.json`: every point of one model at one workload, both sources, all runs.
    pub fn view(&mut self, slug: &str) -> Result<ViewDoc, ApiError> {
        let v = self.summary(slug)?;
        self.view_of(&v.model, v.isl, v.osl)
    }

    pub fn view_of(&mut self, model: &str, isl: u32, osl: u32) -> Result<ViewDoc, ApiError> {
        let mut doc = ViewDoc {
            model: model.to_string(),
            isl,
            osl,
            configs: Vec::new(),
            points: Vec::new(),
            evals: Vec::new(),
        };
        let mut config_ids: std::collections::HashMap<String, usize> = Default::default();
        let mut topologies = self.store.topologies(model)?;
        for source in [Source::Own, Source::Reference] {
            for p in self.store.view(model, isl, osl, None, source)? {
                let n = doc.configs.len();
                let id = *config_ids.entry(p.config_key.clone()).or_insert(n);
                if id == n {
                    doc.configs.push(ConfigDoc {
                        id,
                        key: p.config_key.clone(),
                        // The config's own label; the source is the point's.
                        label: label(&p.config, Source::Own),
                        config: p.config.clone(),
                        deployment: topologies.remove(&p.config_key),
                    });
                }
                doc.points.push(PointDoc {
                    economics: figures::point_economics(&p, &self.catalog),
                    detail: format!("points/{}.json", p.id),
                    id: p.id,
                    config: id,
                    source: source.as_str(),
                    run: p.run,
                    run_started_at: p.run_started_at,
                    conc: p.conc,
                    num_gpus: p.num_gpus,
                    metrics: p.metrics,
                    image: p.image,
                    simulated: p.simulated,
                    agentic: p.agentic,
                });
            }
            doc.evals
                .extend(self.store.view_evals(model, isl, osl, source)?);
        }
        Ok(doc)
    }

    /// `figures/<slug>/<group>.json`: what the pages draw of a view under a grouping
    /// (frontiers, values at the target grid, regressions), computed by the report library.
    pub fn figures(&mut self, slug: &str, group: &str) -> Result<Figures, ApiError> {
        let group: Grouping = group
            .parse()
            .map_err(|e: String| ApiError::NotFound(format!("no figures '{group}': {e}")))?;
        let v = self.summary(slug)?;
        self.figures_of(&v.model, v.isl, v.osl, group)
    }

    pub fn figures_of(
        &mut self,
        model: &str,
        isl: u32,
        osl: u32,
        group: Grouping,
    ) -> Result<Figures, ApiError> {
        let q = Query {
            model: model.to_string(),
            isl,
            osl,
            precision: None,
            sources: vec![Source::Own, Source::Reference],
            runs: RunPick::All,
        };
        let curves = servebench_report::curves::load(&mut self.store, &q)?;
        Ok(figures::figures(
            (model, isl, osl),
            curves,
            group,
            &self.catalog,
        ))
    }

    fn summary(&mut self, slug: &str) -> Result<ViewSummary, ApiError> {
        self.store
            .views()?
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

/// One view as the API serves it (serialised straight from these types: a view can hold
/// tens of thousands of points).
#[derive(Debug, Serialize)]
pub struct ViewDoc {
    pub model: String,
    pub isl: u32,
    pub osl: u32,
    pub configs: Vec<ConfigDoc>,
    pub points: Vec<PointDoc>,
    /// Accuracy evals run on the view's deployments (with the point measured beside each).
    pub evals: Vec<servebench_store::EvalRecord>,
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

#[derive(Debug, Serialize)]
pub struct PointDoc {
    pub id: i64,
    pub config: usize,
    pub source: &'static str,
    pub run: String,
    pub run_started_at: String,
    pub conc: u32,
    pub num_gpus: u32,
    #[serde(flatten)]
    pub metrics: Metrics,
    /// $/M per catalog tier, tok/s/MW and modelled J/token, from the catalog.
    #[serde(flatten)]
    pub economics: PointEconomics,
    pub image: Option<String>,
    /// A simulated point: the error to expect of it (basis, within_35, median errors).
    pub simulated: Option<serde_json::Value>,
    /// An agentic-coding point's own figures (cache hits, E2E-normalised interactivity).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agentic: Option<servebench_store::AgenticPoint>,
    pub detail: String,
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
