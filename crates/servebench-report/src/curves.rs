//! The curves of a view: a config's points in one run, read from the store, picked by run and
//! source, and matched by selectors.

use servebench_store::{Config, Source, Store, StoreError, ViewPoint};
use std::collections::BTreeMap;

/// Which runs of each config a report reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunPick {
    /// Each config's latest run (by start time, then key): what a nightly dashboard shows.
    Latest,
    /// Every run, each its own curve.
    All,
    /// One run by key.
    Key(String),
}

impl std::str::FromStr for RunPick {
    type Err = String;
    fn from_str(s: &str) -> Result<RunPick, String> {
        Ok(match s {
            "latest" => RunPick::Latest,
            "all" => RunPick::All,
            "" => return Err("expected latest, all or a run key".into()),
            k => RunPick::Key(k.to_string()),
        })
    }
}

/// What a report reads: a model at one workload.
#[derive(Debug, Clone)]
pub struct Query {
    pub model: String,
    pub isl: u32,
    pub osl: u32,
    pub precision: Option<String>,
    pub sources: Vec<Source>,
    pub runs: RunPick,
}

/// One config's points in one run, by concurrency.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    pub config_key: String,
    pub config: Config,
    pub source: Source,
    pub run: String,
    pub run_started_at: String,
    pub points: Vec<ViewPoint>,
}

/// `h200 vllm fp8 tp8`, with speculative decoding, disaggregation and `[published]` where
/// they apply.
pub fn label(c: &Config, source: Source) -> String {
    let mut s = format!("{} {} {} {}", c.hardware, c.engine, c.precision, c.topology);
    if c.spec_decoding != "none" && !c.spec_decoding.is_empty() {
        s.push_str(&format!(" {}", c.spec_decoding));
    }
    if c.disagg {
        s.push_str(" disagg");
    }
    if source == Source::Reference {
        s.push_str(" [published]");
    }
    s
}

impl Curve {
    pub fn label(&self) -> String {
        label(&self.config, self.source)
    }
}

/// The view's curves, by source, config, run date.
pub fn load(store: &mut Store, q: &Query) -> Result<Vec<Curve>, StoreError> {
    let mut out = Vec::new();
    for &source in &q.sources {
        let points = store.view(&q.model, q.isl, q.osl, q.precision.as_deref(), source)?;
        // Points come by config, run date, run, concurrency.
        let mut curves: Vec<Curve> = Vec::new();
        for p in points {
            match curves.last_mut() {
                Some(c) if c.config_key == p.config_key && c.run == p.run => c.points.push(p),
                _ => curves.push(Curve {
                    config_key: p.config_key.clone(),
                    config: p.config.clone(),
                    source,
                    run: p.run.clone(),
                    run_started_at: p.run_started_at.clone(),
                    points: vec![p],
                }),
            }
        }
        match &q.runs {
            RunPick::All => out.extend(curves),
            RunPick::Key(k) => out.extend(curves.into_iter().filter(|c| &c.run == k)),
            RunPick::Latest => {
                let mut latest: BTreeMap<String, Curve> = BTreeMap::new();
                // In date order, so the last one kept per config is the latest.
                for c in curves {
                    latest.insert(c.config_key.clone(), c);
                }
                out.extend(latest.into_values());
            }
        }
    }
    Ok(out)
}

/// Picks curves: `hardware=h200,engine=vllm,precision=fp8,topology=tp8,spec=mtp,
/// disagg=true,source=reference,run=KEY`; a bare word matches the hardware, the engine or the
/// whole config key.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Selector {
    terms: Vec<(String, String)>,
    text: String,
}

const SELECTOR_FIELDS: &[&str] = &[
    "hardware",
    "engine",
    "precision",
    "topology",
    "spec",
    "disagg",
    "source",
    "run",
    "config",
];

impl std::str::FromStr for Selector {
    type Err = String;
    fn from_str(s: &str) -> Result<Selector, String> {
        let mut terms = Vec::new();
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            match part.split_once('=') {
                Some((k, v)) if SELECTOR_FIELDS.contains(&k) => {
                    terms.push((k.to_string(), v.to_string()))
                }
                Some((k, _)) => {
                    return Err(format!(
                        "'{k}': expected one of {}",
                        SELECTOR_FIELDS.join(", ")
                    ))
                }
                None => terms.push(("any".to_string(), part.to_string())),
            }
        }
        if terms.is_empty() {
            return Err("an empty selector: expected e.g. hardware=h200,engine=vllm".into());
        }
        Ok(Selector {
            terms,
            text: s.to_string(),
        })
    }
}

impl std::fmt::Display for Selector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl Selector {
    pub fn matches(&self, c: &Curve) -> bool {
        let k = &c.config;
        self.terms.iter().all(|(f, v)| match f.as_str() {
            "hardware" => &k.hardware == v,
            "engine" => &k.engine == v,
            "precision" => &k.precision == v,
            "topology" => &k.topology == v,
            "spec" => &k.spec_decoding == v,
            "disagg" => k.disagg.to_string() == *v,
            "source" => {
                c.source.as_str() == v || (v == "published" && c.source == Source::Reference)
            }
            "run" => &c.run == v,
            "config" => &c.config_key == v,
            _ => &k.hardware == v || &k.engine == v || &c.config_key == v,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn curve(hw: &str, engine: &str, source: Source) -> Curve {
        let config = Config {
            hardware: hw.into(),
            engine: engine.into(),
            model: "m".into(),
            precision: "fp8".into(),
            spec_decoding: "none".into(),
            disagg: false,
            topology: "tp8".into(),
        };
        Curve {
            config_key: config.natural_key(),
            config,
            source,
            run: "r1".into(),
            run_started_at: "2026-11-28".into(),
            points: Vec::new(),
        }
    }

    #[test]
    fn selectors() {
        let a = curve("h200", "vllm", Source::Own);
        let b = curve("h200", "sglang", Source::Reference);
        let s: Selector = "h200".parse().unwrap();
        assert!(s.matches(&a) && s.matches(&b));
        let s: Selector = "hardware=h200,engine=vllm".parse().unwrap();
        assert!(s.matches(&a) && !s.matches(&b));
        let s: Selector = "h200,source=published".parse().unwrap();
        assert!(!s.matches(&a) && s.matches(&b));
        assert!("gpu=h200"
            .parse::<Selector>()
            .unwrap_err()
            .contains("expected one of"));
        assert!("".parse::<Selector>().is_err());
        assert_eq!(b.label(), "h200 sglang fp8 tp8 [published]");
    }
}
