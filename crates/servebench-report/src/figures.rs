//! What the dashboard draws, computed here once (`docs/dashboard.md`, "Figures"): for one view
//! and one grouping, every series' points, its frontier for each x and y metric, its values
//! along the frontier at a grid of target interactivities, and the regressions between runs
//! at a few thresholds. The front end draws these numbers; the only formula it applies itself
//! is the live-input one (`docs/analysis.md`): a $/GPU-hour or kW per GPU the user types.

use crate::curves::{self, Curve, Series};
use crate::movements::{explain, Explanation};
use crate::reports::{by_group, Along, HardwareEconomics, Prices, Tokens, XMetric, YMetric};
use serde::Serialize;
use servebench_analysis::economics::{
    dollars_per_million_tokens, joules_per_token, tokens_per_s_per_mw, CostTier,
};
use servebench_analysis::grouping::Grouping;
use servebench_analysis::history::{history, movements_at, regressions_in, RunCurve};
use servebench_analysis::pareto::ByX;
use servebench_catalog::Catalog;
use servebench_store::{ChangelogRecord, Metrics, ViewPoint};
use std::collections::BTreeMap;

/// The regression thresholds the dashboard offers (drops of 2%, 5%, 10%, 20%).
pub const THRESHOLDS: [f64; 4] = [0.02, 0.05, 0.1, 0.2];

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
    /// Only the points each run measured itself (none carried over from an earlier run).
    pub new_only: bool,
    /// The x and y metrics, as the pages offer them (names, labels, groups, directions, and
    /// which frontier each y metric's is).
    pub metrics: MetricsInfo,
    /// The interactivities (tok/s/user) every series is read at.
    pub targets: Vec<f64>,
    pub thresholds: Vec<f64>,
    /// Series pooling each config's latest run (`run` null), then one per run.
    pub series: Vec<SeriesFigures>,
    /// Per threshold (as written in `thresholds`): drops of each group's latest run against
    /// the one before, beyond the threshold and the earlier runs' noise, each with why.
    pub regressions: BTreeMap<String, Vec<RegressionFigure>>,
    /// Per threshold: every run of every group that moved its frontier against the run before,
    /// either way, beyond the threshold and the noise before it, each with why (the history
    /// view's "what moved and why").
    pub movements: BTreeMap<String, Vec<RegressionFigure>>,
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
    /// x → frontier basis → the frontier's point ids, best x first. A y metric's frontier is
    /// its basis's ([`MetricInfo::frontier`]): $/M, tok/s/MW and modelled J/token order the
    /// points of one accelerator as the throughput of the same tokens does.
    pub frontiers: BTreeMap<&'static str, BTreeMap<&'static str, Vec<i64>>>,
    /// Metric → its value along the tok/s/GPU–tok/s/user frontier at each target (null
    /// outside the measured range): for a series pooling each config's latest run, every y
    /// metric by its key (the $/M ones as `<key>.<tier>`) and `e2el`; for a one-run series the
    /// throughputs, the measured energies and `cost.<tier>` (see `per_run`).
    pub at: BTreeMap<String, Vec<Option<f64>>>,
}

/// A group's frontier moved (a regression: dropped) from one run to the next at a target.
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
    /// What changed between the two runs (`movements::explain`), in a line.
    pub why: String,
    /// Whether anything did (an image, a changelog entry, a config added or gone).
    pub explained: bool,
}

/// What the pages offer of the x and y metrics.
#[derive(Debug, Serialize)]
pub struct MetricsInfo {
    pub x: Vec<MetricInfo>,
    pub y: Vec<MetricInfo>,
    /// The catalog cost tiers the $/M metrics come in (`<key>.<tier>`).
    pub tiers: Vec<&'static str>,
}

#[derive(Debug, Serialize)]
pub struct MetricInfo {
    pub key: &'static str,
    pub label: String,
    pub group: &'static str,
    pub unit: &'static str,
    /// `higher` or `lower`.
    pub better: &'static str,
    /// The key of the frontier it is drawn with (`frontiers[x][frontier]`).
    pub frontier: &'static str,
    /// Only where it applies: agentic views for `e2enorm`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub only: Option<&'static str>,
    /// Which tokens a per-token metric counts (`total`, `input`, `output`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tokens: Option<&'static str>,
}

fn better(b: servebench_analysis::pareto::Better) -> &'static str {
    match b {
        servebench_analysis::pareto::Better::Higher => "higher",
        servebench_analysis::pareto::Better::Lower => "lower",
    }
}

pub fn metrics_info() -> MetricsInfo {
    MetricsInfo {
        x: XMetric::ALL
            .iter()
            .map(|&x| MetricInfo {
                key: x.key(),
                label: x.label().to_string(),
                group: "x",
                unit: match x {
                    XMetric::Interactivity | XMetric::E2eNormIntvty => "tok/s/user",
                    _ => "ms",
                },
                better: better(x.better()),
                frontier: x.key(),
                only: (x == XMetric::E2eNormIntvty).then_some("agentic"),
                tokens: None,
            })
            .collect(),
        y: YMetric::ALL
            .iter()
            .map(|&y| MetricInfo {
                key: y.key(),
                label: y.label(),
                group: y.group(),
                unit: y.unit(),
                better: better(y.better()),
                frontier: y.frontier_basis().key(),
                only: None,
                tokens: Some(y.tokens().as_str()),
            })
            .collect(),
        tiers: TIERS.iter().map(|(n, _)| *n).collect(),
    }
}

/// The y metrics a frontier is computed for: the bases of all the others.
fn frontier_bases() -> impl Iterator<Item = YMetric> {
    YMetric::ALL
        .into_iter()
        .filter(|y| y.frontier_basis() == *y)
}

/// The key of a y metric's value in a catalog tier: `cost.hyperscaler` for the $/M ones,
/// the metric's key for the others (which take no price).
pub fn tiered_key(y: YMetric, tier: &str) -> String {
    match y {
        YMetric::Cost(_) => format!("{}.{tier}", y.key()),
        _ => y.key().to_string(),
    }
}

/// The y metrics of a point the view document carries computed: those its stored metrics do
/// not hold and no price or power gives (the browser applies the live-input formula of
/// `docs/analysis.md` to a point's throughput for $/M, tok/s/MW and modelled J/token, golden-
/// tested against this library's own functions).
pub const POINT_Y: [YMetric; 2] = [
    YMetric::MeasuredEnergy(Tokens::Total),
    YMetric::MeasuredEnergy(Tokens::Input),
];

/// A point's value of each of [`POINT_Y`], in order, from its metrics.
pub fn point_y(m: &Metrics) -> [Option<f64>; 2] {
    POINT_Y.map(|y| y.of_metrics(m, HardwareEconomics::default()))
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
/// `reused`: the points to leave out, those carried over from an earlier run (new points only:
/// each run's series holds what it measured itself, and a config whose latest run measured
/// nothing new is in no latest series); empty: every point.
pub fn figures(
    (model, isl, osl): (&str, u32, u32),
    all_runs: Vec<Curve>,
    grouping: Grouping,
    catalog: &Catalog,
    changelog: &[ChangelogRecord],
    reused: &std::collections::HashSet<i64>,
) -> Figures {
    let targets = targets(
        all_runs
            .iter()
            .flat_map(|c| &c.points)
            .filter_map(|p| p.metrics.median_intvty),
    );
    let per_run = match reused.is_empty() {
        true => curves::series(&all_runs, grouping, true),
        false => curves::series(&curves::without(all_runs.clone(), reused), grouping, true),
    };
    let latest = curves::series(
        &curves::without(curves::pick(all_runs, &curves::RunPick::Latest), reused),
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
        new_only: !reused.is_empty(),
        metrics: metrics_info(),
        regressions: movement_figures(&per_run, &targets, changelog, true),
        movements: movement_figures(&per_run, &targets, changelog, false),
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
    // Each metric of each point read once, each x sorted once for all the y metrics.
    let values = |f: &dyn Fn(&ViewPoint) -> Option<f64>| -> Vec<f64> {
        s.points.iter().map(|p| f(p).unwrap_or(f64::NAN)).collect()
    };
    let ys: Vec<(YMetric, Vec<f64>)> = frontier_bases()
        .map(|y| (y, values(&|p| y.of(p, UNIT))))
        .collect();
    let mut frontiers: BTreeMap<&'static str, BTreeMap<&'static str, Vec<i64>>> = BTreeMap::new();
    for x in XMetric::ALL {
        let by_x = ByX::new(&values(&|p| x.of(p)), x.better());
        let of_x = frontiers.entry(x.key()).or_default();
        for (y, v) in &ys {
            let ids = by_x.frontier(v, y.better()).into_iter();
            of_x.insert(y.key(), ids.map(|i| s.points[i].id).collect());
        }
    }
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
        at: at_targets(s, targets, catalog, full),
    }
}

/// Every y metric (and E2E latency) read at each target along the series' tok/s/GPU–tok/s/user
/// frontier. Throughputs are interpolated; $/M, tok/s/MW and modelled J/token are re-derived
/// from the interpolated throughput of their tokens, and measured J/token from interpolated
/// power over interpolated throughput: a reciprocal is never interpolated itself.
fn at_targets(
    s: &Series,
    targets: &[f64],
    catalog: &Catalog,
    full: bool,
) -> BTreeMap<String, Vec<Option<f64>>> {
    let along = Along::new(&s.points);
    let mut at: BTreeMap<String, Vec<Option<f64>>> = BTreeMap::new();
    let tput: BTreeMap<&str, Vec<Option<f64>>> = Tokens::ALL
        .iter()
        .map(|&k| (k.as_str(), along.at_each(|p| k.tput(p), targets)))
        .collect();
    for y in YMetric::ALL.into_iter().filter(|y| full || per_run(*y)) {
        let t = &tput[y.tokens().as_str()];
        let tiers: &[(&str, CostTier)] = match y {
            YMetric::Cost(_) => &TIERS,
            _ => &TIERS[..1],
        };
        for &(name, tier) in tiers {
            let e = Prices { catalog, tier }.of(&s.hardware);
            let (d, kw) = (e.dollars_per_gpu_hour, e.all_in_kw_per_gpu);
            let values: Vec<Option<f64>> = match y {
                YMetric::Throughput(_) => t.clone(),
                YMetric::Cost(_) => t
                    .iter()
                    .map(|t| Some(dollars_per_million_tokens(d?, (*t)?)))
                    .collect(),
                YMetric::TokensPerMw(_) => t
                    .iter()
                    .map(|t| Some(tokens_per_s_per_mw((*t)?, kw?)))
                    .collect(),
                YMetric::Energy(_) => t
                    .iter()
                    .map(|t| Some(joules_per_token(kw?, (*t)?)))
                    .collect(),
                YMetric::MeasuredEnergy(k) => along.measured_j_each(targets, k),
            };
            at.insert(tiered_key(y, name), values);
        }
    }
    if full {
        at.insert(
            "e2el".into(),
            along.at_each(|p| p.metrics.median_e2el_ms, targets),
        );
    }
    at
}

/// What a one-run series is read at the targets in: the throughputs, the measured energies and
/// the $/M of all tokens (run against run: history, compare). The price- and power-derived
/// others are the live-input formula of its throughput (`docs/dashboard.md`); a view of
/// thousands of runs' series stays a few MB.
fn per_run(y: YMetric) -> bool {
    matches!(
        y,
        YMetric::Throughput(_) | YMetric::MeasuredEnergy(_) | YMetric::Cost(Tokens::Total)
    )
}

/// Per threshold (as written in `thresholds`): each group's movements from a run to the next
/// (`history::movements_at`), each with what changed between them; `regressions`: only the
/// drops of the latest run against the one before (`history::regressions_in`). Each group's
/// history is read once, each pair of runs explained once.
fn movement_figures(
    per_run: &[Series],
    targets: &[f64],
    changelog: &[ChangelogRecord],
    regressions: bool,
) -> BTreeMap<String, Vec<RegressionFigure>> {
    let mut out: BTreeMap<String, Vec<RegressionFigure>> = THRESHOLDS
        .iter()
        .map(|t| (t.to_string(), Vec::new()))
        .collect();
    for runs in by_group(per_run).values() {
        let rc: Vec<RunCurve> = runs.iter().map(|r| r.1.clone()).collect();
        let h = history(&rc, targets);
        let pairs = if regressions {
            runs.len().saturating_sub(1).max(1)..runs.len()
        } else {
            1..runs.len()
        };
        for i in pairs {
            let (before, after) = (runs[i - 1].0, runs[i].0);
            let mut why: Option<Explanation> = None;
            for threshold in THRESHOLDS {
                let moved = if regressions {
                    regressions_in(&h, targets, threshold)
                } else {
                    movements_at(&h, i, targets, threshold)
                };
                for r in moved {
                    let e = why.get_or_insert_with(|| explain(before, after, changelog));
                    out.entry(threshold.to_string())
                        .or_default()
                        .push(RegressionFigure {
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
                            why: e.summary(),
                            explained: !e.is_empty(),
                        });
                }
            }
        }
    }
    out
}
