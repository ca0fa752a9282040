//! What the dashboard draws, computed here once (`docs/dashboard.md`, "Figures"): for one view
//! and one grouping, every series' points, its frontier for each x and y metric, its values
//! along the frontier at a grid of target interactivities, and the regressions between runs
//! at a few thresholds. The front end draws these numbers; the only formula it applies itself
//! is the live-input one (`docs/analysis.md`): a $/GPU-hour or kW per GPU the user types.

use crate::curves::{self, Curve, Series};
use crate::reports::{
    by_group, frontier_points, Along, HardwareEconomics, Prices, XMetric, YMetric,
};
use serde::Serialize;
use servebench_analysis::economics::{
    dollars_per_million_tokens, joules_per_token, tokens_per_s_per_mw, CostTier,
};
use servebench_analysis::grouping::Grouping;
use servebench_analysis::history::{regressions, RunCurve};
use servebench_catalog::Catalog;
use servebench_store::ViewPoint;
use std::collections::BTreeMap;

/// The regression thresholds the dashboard offers (drops of 2%, 5%, 10%, 20%).
pub const THRESHOLDS: [f64; 4] = [0.02, 0.05, 0.1, 0.2];

/// The x metrics, by the names the dashboard uses.
pub const X_METRICS: [(&str, XMetric); 4] = [
    ("intvty", XMetric::Interactivity),
    ("e2el", XMetric::E2eLatency),
    ("ttft", XMetric::Ttft),
    // Agentic points only (empty elsewhere): InferenceX's agentic axis.
    ("e2enorm", XMetric::E2eNormIntvty),
];

/// The y metrics, by the names the dashboard uses.
pub const Y_METRICS: [(&str, YMetric); 7] = [
    ("tput", YMetric::Throughput),
    ("input", YMetric::InputThroughput),
    ("output", YMetric::OutputThroughput),
    ("cost", YMetric::Cost),
    ("tpmw", YMetric::TokensPerMw),
    ("energy", YMetric::Energy),
    ("measured", YMetric::MeasuredEnergy),
];

const TIERS: [(&str, CostTier); 3] = [
    ("hyperscaler", CostTier::OwnedHyperscaler),
    ("neocloud", CostTier::OwnedNeocloud),
    ("rental", CostTier::Rental3y),
];

/// One view's figures under one grouping.
#[derive(Debug, Serialize)]
pub struct Figures {
    pub model: String,
    pub isl: u32,
    pub osl: u32,
    pub group: &'static str,
    /// The interactivities (tok/s/user) every series is read at.
    pub targets: Vec<f64>,
    pub thresholds: Vec<f64>,
    /// Series pooling each config's latest run (`run` null), then one per run.
    pub series: Vec<SeriesFigures>,
    /// Per threshold (as written in `thresholds`): drops of each group's latest run against
    /// the one before, beyond the threshold and the earlier runs' noise.
    pub regressions: BTreeMap<String, Vec<RegressionFigure>>,
}

#[derive(Debug, Serialize)]
pub struct SeriesFigures {
    pub key: String,
    pub label: String,
    pub source: &'static str,
    pub run: Option<String>,
    pub run_started_at: String,
    pub hardware: String,
    pub engines: Vec<String>,
    pub precisions: Vec<String>,
    /// Point ids (of the view document).
    pub points: Vec<i64>,
    /// x → y → the frontier's point ids, best x first. The $/M, tok/s/MW and J/token
    /// frontiers hold whatever price or power applies: one accelerator has one of each.
    pub frontiers: BTreeMap<&'static str, BTreeMap<&'static str, Vec<i64>>>,
    /// Metric → its value along the tok/s/GPU–tok/s/user frontier at each target (null
    /// outside the measured range): `tput`, `cost.<tier>` for every series; `input`,
    /// `output`, `e2el`, `measured`, `tpmw`, `energy` for the latest-run series too.
    pub at: BTreeMap<String, Vec<Option<f64>>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct RegressionFigure {
    pub source: &'static str,
    pub key: String,
    pub label: String,
    pub before_run: String,
    pub after_run: String,
    pub interactivity: f64,
    pub before: f64,
    pub after: f64,
    pub change: f64,
    pub noise: f64,
}

/// A point's economics in every catalog tier, for the view document.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PointEconomics {
    /// $ per million total tokens per tier (`hyperscaler`, `neocloud`, `rental`).
    pub dollars_per_mtok: BTreeMap<&'static str, Option<f64>>,
    pub tokens_per_s_per_mw: Option<f64>,
    pub joules_per_token: Option<f64>,
}

pub fn point_economics(p: &ViewPoint, catalog: &Catalog) -> PointEconomics {
    let prices = |tier| Prices { catalog, tier };
    let e = prices(CostTier::OwnedHyperscaler).of(&p.config.hardware);
    PointEconomics {
        dollars_per_mtok: TIERS
            .iter()
            .map(|&(name, tier)| {
                (
                    name,
                    YMetric::Cost.of(p, prices(tier).of(&p.config.hardware)),
                )
            })
            .collect(),
        tokens_per_s_per_mw: YMetric::TokensPerMw.of(p, e),
        joules_per_token: YMetric::Energy.of(p, e),
    }
}

/// The target grid of a view: multiples of a round step (1, 2, 5, 10, 20, 50 or 100
/// tok/s/user) up to its highest interactivity, at most 100 of them.
pub fn targets(interactivities: impl Iterator<Item = f64>) -> Vec<f64> {
    let max = interactivities
        .filter(|v| v.is_finite() && *v > 0.0)
        .fold(0.0, f64::max);
    let step = [1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0]
        .into_iter()
        .find(|s| max / s <= 100.0)
        .unwrap_or(max / 100.0);
    (1..)
        .map(|k| k as f64 * step)
        .take_while(|t| *t <= max)
        .take(100)
        .collect()
}

/// The figures of a view's curves (every run, both sources) under `grouping`.
pub fn figures(
    (model, isl, osl): (&str, u32, u32),
    all_runs: Vec<Curve>,
    grouping: Grouping,
    catalog: &Catalog,
) -> Figures {
    let targets = targets(
        all_runs
            .iter()
            .flat_map(|c| &c.points)
            .filter_map(|p| p.metrics.median_intvty),
    );
    let per_run = curves::series(&all_runs, grouping, true);
    let latest = curves::series(
        &curves::pick(all_runs, &curves::RunPick::Latest),
        grouping,
        false,
    );
    let mut series: Vec<SeriesFigures> = latest
        .iter()
        .map(|s| series_figures(s, &targets, catalog, true))
        .collect();
    series.extend(
        per_run
            .iter()
            .map(|s| series_figures(s, &targets, catalog, false)),
    );
    Figures {
        model: model.to_string(),
        isl,
        osl,
        group: grouping.as_str(),
        regressions: THRESHOLDS
            .iter()
            .map(|&t| (t.to_string(), regression_figures(&per_run, &targets, t)))
            .collect(),
        thresholds: THRESHOLDS.to_vec(),
        targets,
        series,
    }
}

/// Frontier membership under a unit price and power: within a series (one accelerator) the
/// $/M, tok/s/MW and J/token orders are the throughput order whatever the price or power.
const UNIT: HardwareEconomics = HardwareEconomics {
    dollars_per_gpu_hour: Some(1.0),
    all_in_kw_per_gpu: Some(1.0),
};

fn series_figures(s: &Series, targets: &[f64], catalog: &Catalog, full: bool) -> SeriesFigures {
    let mut frontiers: BTreeMap<&'static str, BTreeMap<&'static str, Vec<i64>>> = BTreeMap::new();
    for (xn, x) in X_METRICS {
        for (yn, y) in Y_METRICS {
            let ids = frontier_points(s, x, y, UNIT)
                .iter()
                .map(|p| p.id)
                .collect();
            frontiers.entry(xn).or_default().insert(yn, ids);
        }
    }
    let along = Along::new(&s.points);
    let mut at: BTreeMap<String, Vec<Option<f64>>> = BTreeMap::new();
    let tput = along.at_each(|p| p.metrics.tput_per_gpu, targets);
    for (name, tier) in TIERS {
        let d = Prices { catalog, tier }
            .of(&s.hardware)
            .dollars_per_gpu_hour;
        let cost = tput
            .iter()
            .map(|t| Some(dollars_per_million_tokens(d?, (*t)?)))
            .collect();
        at.insert(format!("cost.{name}"), cost);
    }
    if full {
        at.insert(
            "input".into(),
            along.at_each(|p| p.metrics.input_tput_per_gpu, targets),
        );
        at.insert(
            "output".into(),
            along.at_each(|p| p.metrics.output_tput_per_gpu, targets),
        );
        at.insert(
            "e2el".into(),
            along.at_each(|p| p.metrics.median_e2el_ms, targets),
        );
        at.insert(
            "measured".into(),
            targets.iter().map(|&t| along.measured_j_at(t)).collect(),
        );
        let kw = Prices {
            catalog,
            tier: CostTier::OwnedHyperscaler,
        }
        .of(&s.hardware)
        .all_in_kw_per_gpu;
        let of = |f: fn(f64, f64) -> f64| tput.iter().map(|t| Some(f((*t)?, kw?))).collect();
        at.insert("tpmw".into(), of(tokens_per_s_per_mw));
        at.insert("energy".into(), of(|t, kw| joules_per_token(kw, t)));
    }
    at.insert("tput".into(), tput);
    let distinct = |f: &dyn Fn(&ViewPoint) -> &str| {
        let mut v: Vec<String> = s.points.iter().map(|p| f(p).to_string()).collect();
        v.sort();
        v.dedup();
        v
    };
    SeriesFigures {
        key: s.key.clone(),
        label: s.label.clone(),
        source: s.source.as_str(),
        run: s.run.clone(),
        run_started_at: s.run_started_at.clone(),
        hardware: s.hardware.clone(),
        engines: distinct(&|p| &p.config.engine),
        precisions: distinct(&|p| &p.config.precision),
        points: s.points.iter().map(|p| p.id).collect(),
        frontiers,
        at,
    }
}

/// Regressions of each group's latest run against the one before (`history::regressions`).
fn regression_figures(
    per_run: &[Series],
    targets: &[f64],
    threshold: f64,
) -> Vec<RegressionFigure> {
    let mut out = Vec::new();
    for runs in by_group(per_run).values() {
        if runs.len() < 2 {
            continue;
        }
        let rc: Vec<RunCurve> = runs.iter().map(|r| r.1.clone()).collect();
        let (before, after) = (runs[runs.len() - 2].0, runs[runs.len() - 1].0);
        for r in regressions(&rc, targets, threshold) {
            out.push(RegressionFigure {
                source: after.source.as_str(),
                key: after.key.clone(),
                label: after.label.clone(),
                before_run: before.run.clone().unwrap_or_default(),
                after_run: after.run.clone().unwrap_or_default(),
                interactivity: r.interactivity,
                before: r.before,
                after: r.after,
                change: r.change,
                noise: r.noise,
            });
        }
    }
    out
}
