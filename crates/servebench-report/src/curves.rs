//! The curves of a view: a config's points in one run, read from the store, picked by run and
//! source, and matched by selectors.

use servebench_analysis::grouping::{Deployment, Grouping};
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
    /// Only the points measured in their own run: none carried over from an earlier run
    /// (`sweep --reuse`, `docs/nightly.md`).
    pub new_only: bool,
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

/// The day a run started, `YYYY-MM-DD`, from any of the forms stores hold (RFC 3339,
/// `20261128-020000`, `2026-11-28`); `None` where it does not start with a date.
pub fn run_day(started_at: &str) -> Option<String> {
    let digits: String = started_at
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '-')
        .filter(char::is_ascii_digit)
        .take(8)
        .collect();
    (digits.len() == 8).then(|| format!("{}-{}-{}", &digits[..4], &digits[4..6], &digits[6..]))
}

/// A past day a view is shown as of: only the runs that had started by its end.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsOf(String);

impl std::str::FromStr for AsOf {
    type Err = String;
    fn from_str(s: &str) -> Result<AsOf, String> {
        let ok = s.len() == 10
            && run_day(s).as_deref() == Some(s)
            && matches!(s[5..7].parse::<u32>(), Ok(1..=12))
            && matches!(s[8..10].parse::<u32>(), Ok(1..=31));
        if ok {
            Ok(AsOf(s.to_string()))
        } else {
            Err(format!("'{s}': expected a date, YYYY-MM-DD"))
        }
    }
}

impl AsOf {
    /// Whether a run that started at `started_at` had started by the end of this day (a run
    /// whose start is not a date cannot be placed in time and is left out).
    pub fn includes(&self, started_at: &str) -> bool {
        run_day(started_at).is_some_and(|d| d <= self.0)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
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
    let reused = match q.new_only {
        true => store.reused_points()?,
        false => Default::default(),
    };
    for &source in &q.sources {
        let points = store.view(&q.model, q.isl, q.osl, q.precision.as_deref(), source)?;
        // Points come by config, run date, run, concurrency.
        let mut curves: Vec<Curve> = Vec::new();
        for p in points {
            match curves.last_mut() {
                Some(c) if *c.config_key == *p.config_key && *c.run == *p.run => c.points.push(p),
                _ => curves.push(Curve {
                    config_key: p.config_key.to_string(),
                    config: (*p.config).clone(),
                    source,
                    run: p.run.to_string(),
                    run_started_at: p.run_started_at.to_string(),
                    points: vec![p],
                }),
            }
        }
        out.extend(pick(curves, &q.runs));
    }
    // After the pick: a run's new points, not an earlier run's measurement of what it reused.
    Ok(without(out, &reused))
}

/// `curves` without the points `ids` names (those carried over: new points only), and without
/// the curves left empty.
pub fn without(mut curves: Vec<Curve>, ids: &std::collections::HashSet<i64>) -> Vec<Curve> {
    if ids.is_empty() {
        return curves;
    }
    for c in &mut curves {
        c.points.retain(|p| !ids.contains(&p.id));
    }
    curves.retain(|c| !c.points.is_empty());
    curves
}

/// The curves (in run-date order) a pick keeps: all, one run's, or each config's latest.
pub fn pick(curves: Vec<Curve>, runs: &RunPick) -> Vec<Curve> {
    match runs {
        RunPick::All => curves,
        RunPick::Key(k) => curves.into_iter().filter(|c| &c.run == k).collect(),
        RunPick::Latest => {
            let mut latest: BTreeMap<(Source, String), Curve> = BTreeMap::new();
            // In date order, so the last one kept per config is the latest.
            for c in curves {
                latest.insert((c.source, c.config_key.clone()), c);
            }
            latest.into_values().collect()
        }
    }
}

/// Points pooled into one frontier: a group of the view's curves (`docs/analysis.md`).
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    /// The group (`h200_trt`, `gb200_mtp`, or a config's key under `group=config`).
    pub key: String,
    pub label: String,
    pub source: Source,
    /// The run, when each run is its own series; `None` when the series pools each config's
    /// latest run.
    pub run: Option<String>,
    /// The latest start among the series' runs.
    pub run_started_at: String,
    /// Every series is of one accelerator (one price, one power).
    pub hardware: String,
    pub points: Vec<ViewPoint>,
}

/// The curves pooled by `grouping`, apart by source (never blended) and, when `per_run`, by
/// run; sorted by source, key and run date.
pub fn series(curves: &[Curve], grouping: Grouping, per_run: bool) -> Vec<Series> {
    let mut m: BTreeMap<(Source, String, String, String), Series> = BTreeMap::new();
    for c in curves {
        let d = Deployment {
            accelerator: &c.config.hardware,
            engine: &c.config.engine,
            precision: &c.config.precision,
            spec_decoding: &c.config.spec_decoding,
            disagg: c.config.disagg,
            config_key: &c.config_key,
        };
        let key = grouping.key(&d);
        let (date, run) = match per_run {
            true => (c.run_started_at.clone(), c.run.clone()),
            false => (String::new(), String::new()),
        };
        let s = m
            .entry((c.source, key.clone(), date, run))
            .or_insert_with(|| Series {
                label: match grouping {
                    Grouping::Config => c.label(),
                    _ if c.source == Source::Reference => format!("{key} [published]"),
                    _ => key.clone(),
                },
                key,
                source: c.source,
                run: per_run.then(|| c.run.clone()),
                run_started_at: c.run_started_at.clone(),
                hardware: c.config.hardware.clone(),
                points: Vec::new(),
            });
        if c.run_started_at > s.run_started_at {
            s.run_started_at = c.run_started_at.clone();
        }
        s.points.extend(c.points.iter().cloned());
    }
    m.into_values().collect()
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

    #[test]
    fn as_of_keeps_runs_started_by_the_end_of_its_day_whatever_their_date_form() {
        let d: AsOf = "2026-11-27".parse().unwrap();
        for (started, kept) in [
            ("20261126-020000", true),
            ("20261127-235959", true),
            ("2026-11-27T23:59:59Z", true),
            ("2026-11-28", false),
            ("20261128-000000", false),
            ("", false),
            ("nightly", false),
        ] {
            assert_eq!(d.includes(started), kept, "{started}");
        }
        for bad in [
            "2026-13-01",
            "2026-1-01",
            "26-11-27",
            "2026-11-27x",
            "2026-11-00",
            "",
        ] {
            assert!(bad.parse::<AsOf>().is_err(), "{bad}");
        }
    }

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
