//! The reports: each a function from curves to a [`Table`] (or a chart), the definitions
//! being the analysis library's (`docs/analysis.md`).

use crate::curves::{Curve, Selector, Series};
use crate::movements::explain;
use crate::table::{col, Cell, Table};
use servebench_analysis::economics::{dollars_per_million_tokens, joules_per_token, CostTier};
use servebench_analysis::history::{history, movements_at, regressions, RunCurve};
use servebench_analysis::interp::{compare_at, Steffen};
use servebench_analysis::pareto::{frontier, Better};
use servebench_catalog::Catalog;
use servebench_store::{ChangelogRecord, EvalRecord, Metrics, Source, ViewPoint};
use std::collections::BTreeMap;

/// Cost tier and the catalog its prices and power come from.
pub struct Prices<'a> {
    pub catalog: &'a Catalog,
    pub tier: CostTier,
}

/// $/GPU-hour and all-in kW/GPU of a hardware (a custom price needs no catalog entry).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct HardwareEconomics {
    pub dollars_per_gpu_hour: Option<f64>,
    pub all_in_kw_per_gpu: Option<f64>,
}

impl Prices<'_> {
    pub fn of(&self, hardware: &str) -> HardwareEconomics {
        // Not `Catalog::accelerator`: a miss (own hardware the catalog lacks) is no error here,
        // and building one for every point of a large view costs more than the lookup.
        let a = self
            .catalog
            .accelerators
            .get(&hardware.to_ascii_lowercase());
        HardwareEconomics {
            dollars_per_gpu_hour: match self.tier {
                CostTier::Custom(d) => Some(d),
                t => a.map(|a| t.dollars_per_gpu_hour(a)),
            },
            all_in_kw_per_gpu: a.map(|a| a.all_in_kw_per_gpu.value),
        }
    }

    /// Where the figures come from, for a report's notes.
    pub fn note(&self) -> String {
        let tier = match self.tier {
            CostTier::OwnedHyperscaler => "owned, hyperscaler".to_string(),
            CostTier::OwnedNeocloud => "owned, neocloud".to_string(),
            CostTier::Rental3y => "3-year rental".to_string(),
            CostTier::Custom(d) => format!("${d}/GPU-hour given"),
        };
        let mut sources: Vec<String> = Vec::new();
        for a in self.catalog.accelerators.values() {
            for f in [
                &a.all_in_kw_per_gpu,
                &a.dollars_per_gpu_hour.owned_hyperscaler,
            ] {
                if let Some(s) = self.catalog.sources.get(&f.source) {
                    let s = format!("{} (effective {})", f.source, s.date);
                    if !sources.contains(&s) {
                        sources.push(s);
                    }
                }
            }
        }
        format!(
            "cost tier: {tier}; prices and all-in power: catalog {}",
            sources.join(", ")
        )
    }
}

/// The x metric of a frontier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum XMetric {
    /// Median tok/s/user (higher is better).
    Interactivity,
    /// Median end-to-end latency, ms (lower is better).
    E2eLatency,
    /// Median time to first token, ms (lower is better).
    Ttft,
    /// P99 time to first token, ms (lower is better).
    P99Ttft,
    /// Agentic points: E2E-normalised interactivity at P90, tok/s/user (higher is better):
    /// InferenceX's agentic frontier axis (1 / P90 of E2E latency per output token).
    E2eNormIntvty,
}

/// Which tokens a per-token y metric counts: InferenceX shows each of its throughput, cost,
/// power and energy metrics for all tokens, the prompt's (input) and the generated (output).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tokens {
    Total,
    Input,
    Output,
}

impl Tokens {
    pub const ALL: [Tokens; 3] = [Tokens::Total, Tokens::Input, Tokens::Output];

    /// The point's tok/s/GPU of these tokens.
    pub fn tput(self, p: &ViewPoint) -> Option<f64> {
        self.tput_of(&p.metrics)
    }

    /// [`Tokens::tput`] of a point's metrics.
    pub fn tput_of(self, m: &Metrics) -> Option<f64> {
        match self {
            Tokens::Total => m.tput_per_gpu,
            Tokens::Input => m.input_tput_per_gpu,
            Tokens::Output => m.output_tput_per_gpu,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Tokens::Total => "total",
            Tokens::Input => "input",
            Tokens::Output => "output",
        }
    }
}

/// The y metric of a frontier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YMetric {
    /// tok/s/GPU of those tokens (higher).
    Throughput(Tokens),
    /// $ per million of those tokens (lower).
    Cost(Tokens),
    /// Those tokens/s per all-in provisioned MW (higher).
    TokensPerMw(Tokens),
    /// Modelled all-in J per token of those (lower).
    Energy(Tokens),
    /// Measured J per token of those (lower): measured J per output token × output tok/s/GPU
    /// is the measured W/GPU; divided by the tok/s/GPU of those tokens.
    MeasuredEnergy(Tokens),
}

impl std::str::FromStr for XMetric {
    type Err = String;
    fn from_str(s: &str) -> Result<XMetric, String> {
        XMetric::ALL
            .into_iter()
            .find(|x| x.cli_name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = XMetric::ALL.iter().map(|x| x.cli_name()).collect();
                format!("'{s}': expected one of {}", names.join(", "))
            })
    }
}

impl std::str::FromStr for YMetric {
    type Err = String;
    fn from_str(s: &str) -> Result<YMetric, String> {
        YMetric::ALL
            .into_iter()
            .find(|y| y.cli_name() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = YMetric::ALL.iter().map(|y| y.cli_name()).collect();
                format!("'{s}': expected one of {}", names.join(", "))
            })
    }
}

impl XMetric {
    pub const ALL: [XMetric; 5] = [
        XMetric::Interactivity,
        XMetric::E2eLatency,
        XMetric::Ttft,
        XMetric::P99Ttft,
        XMetric::E2eNormIntvty,
    ];

    pub fn better(self) -> Better {
        match self {
            XMetric::Interactivity | XMetric::E2eNormIntvty => Better::Higher,
            XMetric::E2eLatency | XMetric::Ttft | XMetric::P99Ttft => Better::Lower,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            XMetric::Interactivity => "interactivity, tok/s/user",
            XMetric::E2eLatency => "median end-to-end latency, ms",
            XMetric::Ttft => "median (p50) time to first token, ms",
            XMetric::P99Ttft => "p99 time to first token, ms",
            XMetric::E2eNormIntvty => "E2E-normalised interactivity (P90), tok/s/user",
        }
    }

    /// Its name on the command line (`report --x`).
    pub fn cli_name(self) -> &'static str {
        match self {
            XMetric::Interactivity => "interactivity",
            XMetric::E2eLatency => "e2el",
            XMetric::Ttft => "ttft",
            XMetric::P99Ttft => "p99-ttft",
            XMetric::E2eNormIntvty => "e2e-norm",
        }
    }

    /// Its name in the dashboard's figures and URLs.
    pub fn key(self) -> &'static str {
        match self {
            XMetric::Interactivity => "intvty",
            XMetric::E2eLatency => "e2el",
            XMetric::Ttft => "ttft",
            XMetric::P99Ttft => "p99ttft",
            XMetric::E2eNormIntvty => "e2enorm",
        }
    }

    pub fn of(self, p: &ViewPoint) -> Option<f64> {
        match self {
            XMetric::Interactivity => p.metrics.median_intvty,
            XMetric::E2eLatency => p.metrics.median_e2el_ms,
            XMetric::Ttft => p.metrics.median_ttft_ms,
            XMetric::P99Ttft => p.metrics.p99_ttft_ms,
            XMetric::E2eNormIntvty => p.agentic.as_ref()?.e2e_norm_intvty_p90,
        }
    }
}

impl YMetric {
    /// Every y metric, in InferenceX's groups: throughput, tokens per MW, cost, modelled and
    /// measured energy, each for all, input and output tokens.
    pub const ALL: [YMetric; 15] = {
        use Tokens::*;
        use YMetric::*;
        [
            Throughput(Total),
            Throughput(Input),
            Throughput(Output),
            TokensPerMw(Total),
            TokensPerMw(Input),
            TokensPerMw(Output),
            Cost(Total),
            Cost(Input),
            Cost(Output),
            Energy(Total),
            Energy(Input),
            Energy(Output),
            MeasuredEnergy(Total),
            MeasuredEnergy(Input),
            MeasuredEnergy(Output),
        ]
    };

    pub fn tokens(self) -> Tokens {
        match self {
            YMetric::Throughput(k)
            | YMetric::Cost(k)
            | YMetric::TokensPerMw(k)
            | YMetric::Energy(k)
            | YMetric::MeasuredEnergy(k) => k,
        }
    }

    pub fn better(self) -> Better {
        match self {
            YMetric::Throughput(_) | YMetric::TokensPerMw(_) => Better::Higher,
            YMetric::Cost(_) | YMetric::Energy(_) | YMetric::MeasuredEnergy(_) => Better::Lower,
        }
    }

    /// Its name on the command line (`report --y`).
    pub fn cli_name(self) -> &'static str {
        use Tokens::*;
        match self {
            YMetric::Throughput(Total) => "tput",
            YMetric::Throughput(Input) => "input",
            YMetric::Throughput(Output) => "output",
            YMetric::Cost(Total) => "cost",
            YMetric::Cost(Input) => "cost-input",
            YMetric::Cost(Output) => "cost-output",
            YMetric::TokensPerMw(Total) => "tpmw",
            YMetric::TokensPerMw(Input) => "tpmw-input",
            YMetric::TokensPerMw(Output) => "tpmw-output",
            YMetric::Energy(Total) => "energy",
            YMetric::Energy(Input) => "energy-input",
            YMetric::Energy(Output) => "energy-output",
            YMetric::MeasuredEnergy(Total) => "measured-energy-total",
            YMetric::MeasuredEnergy(Input) => "measured-energy-input",
            YMetric::MeasuredEnergy(Output) => "measured-energy",
        }
    }

    /// Its name in the dashboard's figures and URLs.
    pub fn key(self) -> &'static str {
        use Tokens::*;
        match self {
            YMetric::Throughput(Total) => "tput",
            YMetric::Throughput(Input) => "input",
            YMetric::Throughput(Output) => "output",
            YMetric::Cost(Total) => "cost",
            YMetric::Cost(Input) => "cost_in",
            YMetric::Cost(Output) => "cost_out",
            YMetric::TokensPerMw(Total) => "tpmw",
            YMetric::TokensPerMw(Input) => "tpmw_in",
            YMetric::TokensPerMw(Output) => "tpmw_out",
            YMetric::Energy(Total) => "energy",
            YMetric::Energy(Input) => "energy_in",
            YMetric::Energy(Output) => "energy_out",
            YMetric::MeasuredEnergy(Total) => "measured_total",
            YMetric::MeasuredEnergy(Input) => "measured_in",
            YMetric::MeasuredEnergy(Output) => "measured",
        }
    }

    /// The group InferenceX's metric menu puts it in.
    pub fn group(self) -> &'static str {
        match self {
            YMetric::Throughput(_) => "throughput per GPU",
            YMetric::TokensPerMw(_) => "tokens per provisioned MW",
            YMetric::Cost(_) => "cost per million tokens",
            YMetric::Energy(_) => "modelled energy per token (all-in)",
            YMetric::MeasuredEnergy(_) => "measured energy per token (GPU boards)",
        }
    }

    pub fn unit(self) -> &'static str {
        match self {
            YMetric::Throughput(_) => "tok/s/GPU",
            YMetric::TokensPerMw(_) => "tok/s/MW",
            YMetric::Cost(_) => "$/M tokens",
            YMetric::Energy(_) | YMetric::MeasuredEnergy(_) => "J/token",
        }
    }

    pub fn label(self) -> String {
        let k = self.tokens();
        let of = match k {
            Tokens::Total => "",
            Tokens::Input => "input ",
            Tokens::Output => "output ",
        };
        match self {
            YMetric::Throughput(_) => format!("{of}throughput, tok/s/GPU"),
            YMetric::Cost(_) => format!("cost, $ per million {of}tokens"),
            YMetric::TokensPerMw(_) => format!("{of}tokens/s per all-in MW"),
            YMetric::Energy(_) => format!("modelled energy, J/{of}token"),
            YMetric::MeasuredEnergy(_) => format!("measured energy, J/{of}token"),
        }
    }

    /// The y metric whose frontier this one's is, within one accelerator: $/M, tok/s/MW and
    /// modelled J/token are a positive constant (price or power) times or over the
    /// throughput of the same tokens, so they order points as that throughput does.
    pub fn frontier_basis(self) -> YMetric {
        match self {
            YMetric::Cost(k) | YMetric::TokensPerMw(k) | YMetric::Energy(k) => {
                YMetric::Throughput(k)
            }
            y => y,
        }
    }

    pub fn of(self, p: &ViewPoint, e: HardwareEconomics) -> Option<f64> {
        self.of_metrics(&p.metrics, e)
    }

    /// [`YMetric::of`] from a point's metrics alone (all it reads).
    pub fn of_metrics(self, m: &Metrics, e: HardwareEconomics) -> Option<f64> {
        let pos = |v: Option<f64>| v.filter(|t| *t > 0.0);
        let t = pos(self.tokens().tput_of(m));
        match self {
            YMetric::Throughput(_) => t,
            YMetric::Cost(_) => Some(dollars_per_million_tokens(e.dollars_per_gpu_hour?, t?)),
            YMetric::TokensPerMw(_) => Some(servebench_analysis::economics::tokens_per_s_per_mw(
                t?,
                e.all_in_kw_per_gpu?,
            )),
            YMetric::Energy(_) => Some(joules_per_token(e.all_in_kw_per_gpu?, t?)),
            YMetric::MeasuredEnergy(Tokens::Output) => m.measured_j_per_token,
            YMetric::MeasuredEnergy(_) => Some(watts_of(m)? / t?),
        }
    }
}

/// The measured board power per GPU, W: measured J per output token × output tok/s/GPU (the
/// same window and GPUs, so exact where both came from one measurement).
fn measured_watts(p: &ViewPoint) -> Option<f64> {
    watts_of(&p.metrics)
}

fn watts_of(m: &Metrics) -> Option<f64> {
    Some(m.measured_j_per_token? * m.output_tput_per_gpu.filter(|t| *t > 0.0)?)
}

/// The (tok/s/user, tok/s/GPU) frontier of a point set and the values along it.
pub(crate) struct Along<'a> {
    points: Vec<&'a ViewPoint>,
}

impl<'a> Along<'a> {
    /// The tok/s/GPU-vs-tok/s/user frontier of `points`.
    pub(crate) fn new(points: impl IntoIterator<Item = &'a ViewPoint>) -> Along<'a> {
        let all: Vec<&ViewPoint> = points
            .into_iter()
            .filter(|p| p.metrics.median_intvty.is_some() && p.metrics.tput_per_gpu.is_some())
            .collect();
        let xy: Vec<(f64, f64)> = all
            .iter()
            .map(|p| {
                (
                    p.metrics.median_intvty.unwrap_or(f64::NAN),
                    p.metrics.tput_per_gpu.unwrap_or(f64::NAN),
                )
            })
            .collect();
        let f = frontier(&xy, Better::Higher, Better::Higher);
        Along {
            points: f.into_iter().map(|i| all[i]).collect(),
        }
    }

    /// A metric along the frontier as a spline of interactivity, when every frontier point
    /// has it.
    pub(crate) fn spline(&self, m: impl Fn(&ViewPoint) -> Option<f64>) -> Option<Steffen> {
        let xy: Option<Vec<(f64, f64)>> = self
            .points
            .iter()
            .map(|p| Some((p.metrics.median_intvty?, m(p)?)))
            .collect();
        Steffen::new(&xy?)
    }

    pub(crate) fn at(&self, m: impl Fn(&ViewPoint) -> Option<f64>, t: f64) -> Option<f64> {
        self.spline(m)?.at(t)
    }

    /// A metric read at each target (`None` outside the measured range, or where a frontier
    /// point lacks it).
    pub(crate) fn at_each(
        &self,
        m: impl Fn(&ViewPoint) -> Option<f64>,
        targets: &[f64],
    ) -> Vec<Option<f64>> {
        let s = self.spline(m);
        targets
            .iter()
            .map(|&t| s.as_ref().and_then(|s| s.at(t)))
            .collect()
    }

    /// Measured energy per token of `k` at `t`, re-derived from interpolated power (W/GPU)
    /// over interpolated throughput, never interpolated as a reciprocal itself.
    pub(crate) fn measured_j_at(&self, t: f64, k: Tokens) -> Option<f64> {
        Some(self.at(measured_watts, t)? / self.at(|p| k.tput(p), t)?)
    }

    /// [`Along::measured_j_at`] at each target, each spline built once.
    pub(crate) fn measured_j_each(&self, targets: &[f64], k: Tokens) -> Vec<Option<f64>> {
        let watts = self.at_each(measured_watts, targets);
        let tput = self.at_each(|p| k.tput(p), targets);
        watts
            .into_iter()
            .zip(tput)
            .map(|(w, t)| Some(w? / t?))
            .collect()
    }
}

/// Every series read at each target interactivity along its frontier: throughput (total,
/// input, output), cost of each kind of token, tokens per MW, modelled and measured energy,
/// E2E latency.
pub fn at_targets(series: &[Series], targets: &[f64], prices: &Prices) -> Table {
    let mut t = Table {
        title: "At target interactivities (along each frontier; - = outside its measured range)"
            .into(),
        notes: vec![prices.note()],
        columns: vec![
            col("series", "series", 0),
            col("run", "run", 0),
            col("interactivity", "tok/s/user", 0),
            col("tput_per_gpu", "tok/s/GPU", 1),
            col("input_tput_per_gpu", "in tok/s/GPU", 1),
            col("output_tput_per_gpu", "out tok/s/GPU", 1),
            col("dollars_per_mtok", "$/M", 3),
            col("dollars_per_mtok_input", "$/M in", 3),
            col("dollars_per_mtok_output", "$/M out", 3),
            col("tokens_per_s_per_mw", "tok/s/MW", 0),
            col("joules_per_token", "J/tok", 3),
            col("measured_joules_per_output_token", "J/out tok meas.", 3),
            col("median_e2el_ms", "E2EL ms", 0),
        ],
        rows: Vec::new(),
    };
    t.notes.extend(simulated_note(series));
    for c in series {
        let along = Along::new(&c.points);
        let e = prices.of(&c.hardware);
        for &target in targets {
            let tput = along.at(|p| p.metrics.tput_per_gpu, target);
            let input = along.at(|p| p.metrics.input_tput_per_gpu, target);
            let output = along.at(|p| p.metrics.output_tput_per_gpu, target);
            let cost =
                |t: Option<f64>| Some(dollars_per_million_tokens(e.dollars_per_gpu_hour?, t?));
            t.rows.push(vec![
                c.label.clone().into(),
                run_cell(c),
                target.into(),
                tput.into(),
                input.into(),
                output.into(),
                cost(tput).into(),
                cost(input).into(),
                cost(output).into(),
                tput.zip(e.all_in_kw_per_gpu)
                    .map(|(t, kw)| servebench_analysis::economics::tokens_per_s_per_mw(t, kw))
                    .into(),
                tput.zip(e.all_in_kw_per_gpu)
                    .map(|(t, kw)| joules_per_token(kw, t))
                    .into(),
                along.measured_j_at(target, Tokens::Output).into(),
                along.at(|p| p.metrics.median_e2el_ms, target).into(),
            ]);
        }
    }
    t
}

/// A note on the simulated points among `series`, with the error to expect of each kind
/// (`docs/sim.md`, hold-out error), or `None` when every point was measured.
fn simulated_note(series: &[Series]) -> Option<String> {
    let mut by: BTreeMap<String, (usize, &serde_json::Value)> = BTreeMap::new();
    // What the simulator left out of the points' recipes, and of how many.
    let mut left_out: BTreeMap<&str, usize> = BTreeMap::new();
    let mut uncalibrated_kinds: BTreeMap<&str, usize> = BTreeMap::new();
    for p in series.iter().flat_map(|s| &s.points) {
        if let Some(e) = &p.simulated {
            if let Some(why) = e["uncalibrated"].as_str() {
                // "disaggregated: …": counted by kind.
                let kind = why.split(':').next().unwrap_or(why);
                *uncalibrated_kinds.entry(kind).or_default() += 1;
            }
            let basis = e["basis"].as_str().unwrap_or("unknown basis").to_string();
            by.entry(basis).or_insert((0, e)).0 += 1;
            for what in e["left_out"].as_array().into_iter().flatten() {
                *left_out.entry(what.as_str().unwrap_or("?")).or_default() += 1;
            }
        }
    }
    if by.is_empty() {
        return None;
    }
    let kinds: Vec<String> = by
        .iter()
        .map(|(basis, (n, e))| {
            let pct = |k: &str| e[k].as_f64().map_or("?".into(), |v| format!("{:.0}%", 100.0 * v));
            format!(
                "{n} expecting the {basis} error ({} within ±35%, median {} tok/s/GPU, {} tok/s/user)",
                pct("within_35"),
                pct("median_tput_error"),
                pct("median_interactivity_error")
            )
        })
        .collect();
    let mut note = format!("simulated points: {}", kinds.join("; "));
    if !left_out.is_empty() {
        let parts: Vec<String> = left_out.iter().map(|(w, n)| format!("{n} {w}")).collect();
        note += &format!("; left out of their recipes: {}", parts.join("; "));
    }
    if !uncalibrated_kinds.is_empty() {
        let parts: Vec<String> = uncalibrated_kinds
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        note += &format!(
            "; of kinds of deployment no published point calibrates: {}",
            parts.join(", ")
        );
    }
    Some(note)
}

/// The run of a series, or the runs its configs' latest points come from.
fn run_cell(s: &Series) -> Cell {
    match &s.run {
        Some(r) => r.clone().into(),
        None => {
            let mut runs: Vec<&str> = s.points.iter().map(|p| &*p.run).collect();
            runs.sort_unstable();
            runs.dedup();
            runs.join(", ").into()
        }
    }
}

/// Each series' frontier of `y` against `x`, in their directions, point by point.
pub fn frontiers(series: &[Series], x: XMetric, y: YMetric, prices: &Prices) -> Table {
    let mut t = Table {
        title: format!("Frontiers: {} against {}", y.label(), x.label()),
        notes: vec![prices.note()],
        columns: vec![
            col("series", "series", 0),
            col("config", "config", 0),
            col("run", "run", 0),
            col("conc", "conc", 0),
            col("num_gpus", "GPUs", 0),
            col("interactivity", "tok/s/user", 1),
            col("median_e2el_ms", "E2EL ms", 0),
            col("median_ttft_ms", "TTFT ms", 0),
            col("tput_per_gpu", "tok/s/GPU", 1),
            col("dollars_per_mtok", "$/M", 3),
            col("tokens_per_s_per_mw", "tok/s/MW", 0),
            col("joules_per_token", "J/tok", 3),
            col("measured_joules_per_output_token", "J/out tok meas.", 3),
        ],
        rows: Vec::new(),
    };
    t.notes.extend(simulated_note(series));
    // Agentic points also show their own axis and how their caches did.
    let agentic = series
        .iter()
        .any(|s| s.points.iter().any(|p| p.agentic.is_some()));
    if agentic {
        t.columns.extend([
            col("e2e_norm_intvty_p90", "E2E-norm tok/s/user P90", 1),
            col("theoretical_hit_rate", "theory hit", 3),
            col("server_hit_rate", "server hit", 3),
            col("server_cpu_hit_rate", "CPU hit", 3),
            col("gpu_kv_usage_pct", "GPU KV max %", 1),
        ]);
    }
    for s in series {
        let e = prices.of(&s.hardware);
        for p in frontier_points(s, x, y, e) {
            let mut row = vec![
                s.label.clone().into(),
                crate::curves::label(&p.config, s.source).into(),
                (&*p.run).into(),
                p.conc.into(),
                p.num_gpus.into(),
                p.metrics.median_intvty.into(),
                p.metrics.median_e2el_ms.into(),
                p.metrics.median_ttft_ms.into(),
                p.metrics.tput_per_gpu.into(),
                YMetric::Cost(Tokens::Total).of(p, e).into(),
                YMetric::TokensPerMw(Tokens::Total).of(p, e).into(),
                YMetric::Energy(Tokens::Total).of(p, e).into(),
                p.metrics.measured_j_per_token.into(),
            ];
            if agentic {
                let a = p.agentic.clone().unwrap_or_default();
                row.extend([
                    a.e2e_norm_intvty_p90.into(),
                    a.theoretical_hit_rate.into(),
                    a.server_hit_rate.into(),
                    a.server_cpu_hit_rate.into(),
                    a.gpu_kv_usage_pct.into(),
                ]);
            }
            t.rows.push(row);
        }
    }
    t
}

/// A series' frontier points for `y` against `x`, best x first.
pub fn frontier_points(
    s: &Series,
    x: XMetric,
    y: YMetric,
    e: HardwareEconomics,
) -> Vec<&ViewPoint> {
    let xy: Vec<(f64, f64)> = s
        .points
        .iter()
        .map(|p| (x.of(p).unwrap_or(f64::NAN), y.of(p, e).unwrap_or(f64::NAN)))
        .collect();
    frontier(&xy, x.better(), y.better())
        .into_iter()
        .map(|i| &s.points[i])
        .collect()
}

/// The curves a selector picks, which must share one hardware (one price).
fn picked<'a>(curves: &'a [Curve], s: &Selector) -> Result<Vec<&'a Curve>, String> {
    let v: Vec<&Curve> = curves.iter().filter(|c| s.matches(c)).collect();
    if v.is_empty() {
        let known: Vec<String> = curves.iter().map(Curve::label).collect();
        return Err(format!(
            "'{s}' matches no config of the view; it has: {}",
            if known.is_empty() {
                "nothing".to_string()
            } else {
                known.join("; ")
            }
        ));
    }
    if v.iter().any(|c| c.config.hardware != v[0].config.hardware) {
        return Err(format!(
            "'{s}' matches configs on several accelerators ({}): add hardware=...",
            v.iter().map(|c| c.label()).collect::<Vec<_>>().join("; ")
        ));
    }
    Ok(v)
}

/// A against B at equal interactivity: each side is the best its selected configs do (the
/// frontier of their points together); ratios of tok/s/GPU and of $/M.
pub fn compare(
    curves: &[Curve],
    a: &Selector,
    b: &Selector,
    targets: &[f64],
    prices: &Prices,
) -> Result<Table, String> {
    let (ca, cb) = (picked(curves, a)?, picked(curves, b)?);
    let side = |cs: &[&Curve]| {
        let along = Along::new(cs.iter().flat_map(|c| &c.points));
        (
            along.spline(|p| p.metrics.tput_per_gpu),
            prices.of(&cs[0].config.hardware).dollars_per_gpu_hour,
        )
    };
    let ((sa, da), (sb, db)) = (side(&ca), side(&cb));
    let names = |cs: &[&Curve]| cs.iter().map(|c| c.label()).collect::<Vec<_>>().join("; ");
    let mut t = Table {
        title: format!("{a} (A) against {b} (B) at equal interactivity"),
        notes: vec![
            format!("A: {}", names(&ca)),
            format!("B: {}", names(&cb)),
            prices.note(),
        ],
        columns: vec![
            col("interactivity", "tok/s/user", 0),
            col("a_tput_per_gpu", "A tok/s/GPU", 1),
            col("b_tput_per_gpu", "B tok/s/GPU", 1),
            col("tput_ratio", "A/B tok/s/GPU", 3),
            col("a_dollars_per_mtok", "A $/M", 3),
            col("b_dollars_per_mtok", "B $/M", 3),
            col("cost_ratio", "A/B $/M", 3),
        ],
        rows: Vec::new(),
    };
    for &target in targets {
        let ta = sa.as_ref().and_then(|s| s.at(target));
        let tb = sb.as_ref().and_then(|s| s.at(target));
        let cost = |d: Option<f64>, t: Option<f64>| Some(dollars_per_million_tokens(d?, t?));
        let ratios = match (&sa, &sb, da, db) {
            (Some(sa), Some(sb), Some(da), Some(db)) => compare_at(sa, sb, target, da, db),
            _ => None,
        };
        t.rows.push(vec![
            target.into(),
            ta.into(),
            tb.into(),
            ta.zip(tb).map(|(a, b)| a / b).into(),
            cost(da, ta).into(),
            cost(db, tb).into(),
            ratios.map(|r| r.1).into(),
        ]);
    }
    Ok(t)
}

/// The cheapest accelerator per million tokens at each target interactivity: each
/// accelerator's best (the frontier of all its configs' points together, as a TCO bar),
/// priced at its tier; the runner-up beside it.
pub fn cheapest(curves: &[Curve], targets: &[f64], prices: &Prices) -> Table {
    let mut by_hw: BTreeMap<&str, Vec<&ViewPoint>> = BTreeMap::new();
    for c in curves {
        by_hw
            .entry(c.config.hardware.as_str())
            .or_default()
            .extend(&c.points);
    }
    let mut t = Table {
        title: "Cheapest accelerator per million tokens at target interactivities".into(),
        notes: vec![prices.note()],
        columns: vec![
            col("interactivity", "tok/s/user", 0),
            col("hardware", "cheapest", 0),
            col("dollars_per_mtok", "$/M", 3),
            col("tput_per_gpu", "tok/s/GPU", 1),
            col("runner_up", "runner-up", 0),
            col("runner_up_dollars_per_mtok", "its $/M", 3),
            col("reached_by", "reached by", 0),
        ],
        rows: Vec::new(),
    };
    let mut marked = false;
    for &target in targets {
        let mut costs: Vec<(f64, String, f64)> = by_hw
            .iter()
            .filter_map(|(hw, pts)| {
                let at = |pts: &[&ViewPoint]| {
                    Along::new(pts.iter().copied()).at(|p| p.metrics.tput_per_gpu, target)
                };
                let tput = at(pts)?;
                let d = prices.of(hw).dollars_per_gpu_hour?;
                // Marked where uncalibrated kinds of deployment carry the frontier here.
                let calibrated: Vec<&ViewPoint> =
                    pts.iter().copied().filter(|p| !uncalibrated(p)).collect();
                let mark = at(&calibrated).is_none_or(|c| tput > c * (1.0 + 1e-9));
                let name = if mark {
                    format!("{hw}*")
                } else {
                    hw.to_string()
                };
                Some((dollars_per_million_tokens(d, tput), name, tput))
            })
            .collect();
        costs.sort_by(|a, b| a.0.total_cmp(&b.0));
        let first = costs.first();
        let second = costs.get(1);
        marked |= [first, second].iter().flatten().any(|c| c.1.ends_with('*'));
        t.rows.push(vec![
            target.into(),
            first.map_or("-".to_string(), |c| c.1.clone()).into(),
            first.map(|c| c.0).into(),
            first.map(|c| c.2).into(),
            second.map_or("-".to_string(), |c| c.1.clone()).into(),
            second.map(|c| c.0).into(),
            format!("{} of {} accelerators", costs.len(), by_hw.len()).into(),
        ]);
    }
    if marked {
        t.notes.push(UNCALIBRATED_NOTE.into());
    }
    t
}

/// The note under a table with accelerators marked `*`.
pub const UNCALIBRATED_NOTE: &str = "* there, the frontier rests on simulated deployments of a kind no published point calibrates (e.g. disaggregated, or on an accelerator without published points)";

/// A simulated point of a kind of deployment no published point calibrates.
fn uncalibrated(p: &ViewPoint) -> bool {
    p.simulated
        .as_ref()
        .is_some_and(|e| e.get("uncalibrated").is_some_and(|u| !u.is_null()))
}

/// Per-run series of the same group (and source), oldest run first, as the history functions
/// take them (the date carries the run key so runs on one date stay apart).
pub(crate) fn by_group(series: &[Series]) -> BTreeMap<(Source, String), Vec<(&Series, RunCurve)>> {
    let mut m: BTreeMap<(Source, String), Vec<(&Series, RunCurve)>> = BTreeMap::new();
    for s in series {
        let points = s
            .points
            .iter()
            .filter_map(|p| Some((p.metrics.median_intvty?, p.metrics.tput_per_gpu?)))
            .collect();
        let run = s.run.as_deref().unwrap_or("latest");
        m.entry((s.source, s.key.clone())).or_default().push((
            s,
            RunCurve {
                date: format!("{}\u{1f}{run}", s.run_started_at),
                points,
            },
        ));
    }
    for v in m.values_mut() {
        v.sort_by(|a, b| a.1.date.cmp(&b.1.date));
    }
    m
}

fn target_columns(targets: &[f64]) -> Vec<crate::table::Column> {
    targets
        .iter()
        .map(|t| {
            col(
                &format!("tput_per_gpu_at_{t}"),
                &format!("tok/s/GPU @{t}"),
                1,
            )
        })
        .collect()
}

/// Each series' tok/s/GPU at the targets, run by run; where a run moved its frontier beyond
/// `threshold` and the runs' noise, how (`moved`) and why (`why`: the images and changelog
/// entries between the two runs, or `unexplained`).
pub fn history_table(
    series: &[Series],
    targets: &[f64],
    threshold: f64,
    changelog: &[ChangelogRecord],
) -> Table {
    let mut t = Table {
        title: "History: tok/s/GPU at target interactivities, run by run".into(),
        notes: Vec::new(),
        columns: [
            col("series", "series", 0),
            col("run", "run", 0),
            col("started_at", "started", 0),
        ]
        .into_iter()
        .chain(target_columns(targets))
        .chain([col("moved", "moved", 0), col("why", "why", 0)])
        .collect(),
        rows: Vec::new(),
    };
    for runs in by_group(series).values() {
        let rc: Vec<RunCurve> = runs.iter().map(|r| r.1.clone()).collect();
        let h = history(&rc, targets);
        for (i, ((c, _), (_, values))) in runs.iter().zip(&h).enumerate() {
            let mut row: Vec<Cell> = vec![
                c.label.clone().into(),
                run_cell(c),
                c.run_started_at.clone().into(),
            ];
            row.extend(values.iter().copied().map(Cell::from));
            let moved = movements_at(&h, i, targets, threshold);
            let (how, why) = if moved.is_empty() {
                (String::new(), String::new())
            } else {
                let how: Vec<String> = moved
                    .iter()
                    .map(|m| format!("{:+.1}% @{}", m.change * 100.0, m.interactivity))
                    .collect();
                let why = explain(runs[i - 1].0, c, changelog).summary();
                (how.join(", "), why)
            };
            row.extend([how.into(), why.into()]);
            t.rows.push(row);
        }
    }
    t.notes.push(format!(
        "moved: beyond {:.1}% and the series' run-to-run noise before it",
        threshold * 100.0
    ));
    t
}

/// Drops of each series' latest run against the run before, beyond `threshold` and the
/// earlier runs' noise, each with what changed between the two runs.
pub fn regression_table(
    series: &[Series],
    targets: &[f64],
    threshold: f64,
    changelog: &[ChangelogRecord],
) -> Table {
    let mut t = Table {
        title: format!(
            "Regressions: latest run against the one before, drops over {:.1}% and over run-to-run noise",
            threshold * 100.0
        ),
        notes: Vec::new(),
        columns: vec![
            col("series", "series", 0),
            col("before_run", "before", 0),
            col("after_run", "after", 0),
            col("interactivity", "tok/s/user", 0),
            col("before_tput_per_gpu", "tok/s/GPU before", 1),
            col("after_tput_per_gpu", "tok/s/GPU after", 1),
            col("change_pct", "change %", 1),
            col("noise_pct", "noise %", 1),
            col("why", "why", 0),
        ],
        rows: Vec::new(),
    };
    let mut compared = 0;
    for runs in by_group(series).values() {
        if runs.len() < 2 {
            continue;
        }
        compared += 1;
        let rc: Vec<RunCurve> = runs.iter().map(|r| r.1.clone()).collect();
        let (before, after) = (runs[runs.len() - 2].0, runs[runs.len() - 1].0);
        let why = explain(before, after, changelog).summary();
        for r in regressions(&rc, targets, threshold) {
            t.rows.push(vec![
                after.label.clone().into(),
                run_cell(before),
                run_cell(after),
                r.interactivity.into(),
                r.before.into(),
                r.after.into(),
                (r.change * 100.0).into(),
                (r.noise * 100.0).into(),
                why.clone().into(),
            ]);
        }
    }
    t.notes
        .push(format!("{compared} series with two runs or more compared"));
    t
}

/// Accuracy evals beside throughput: each eval (of `precision`, when given) with the
/// interactivity and tok/s/GPU of the point measured at the same run, config, workload and
/// concurrency.
pub fn accuracy(evals: &[EvalRecord], curves: &[Curve], precision: Option<&str>) -> Table {
    let mut t = Table {
        title: "Accuracy beside throughput".into(),
        notes: Vec::new(),
        columns: vec![
            col("config", "config", 0),
            col("run", "run", 0),
            col("conc", "conc", 0),
            col("task", "task", 0),
            col("score", "score", 3),
            col("stderr", "± s.e.", 3),
            col("questions", "questions", 0),
            col("failed", "failed", 0),
            col("threshold", "threshold", 2),
            col("verdict", "verdict", 0),
            col("interactivity", "tok/s/user", 1),
            col("tput_per_gpu", "tok/s/GPU", 1),
        ],
        rows: Vec::new(),
    };
    let curve = |key: &str| curves.iter().find(|c| c.config_key == key);
    let point = |id: i64| curves.iter().flat_map(|c| &c.points).find(|p| p.id == id);
    let (mut passed, mut failed) = (0, 0);
    for e in evals {
        // The natural key is hardware|engine|model|precision|…
        if precision.is_some_and(|p| e.config_key.split('|').nth(3) != Some(p)) {
            continue;
        }
        let o = &e.outcome;
        let label = curve(&e.config_key).map_or(e.config_key.clone(), |c| c.label());
        let p = e.point_id.and_then(point);
        match o.passed {
            Some(true) => passed += 1,
            Some(false) => failed += 1,
            None => {}
        }
        t.rows.push(vec![
            label.into(),
            e.run.clone().into(),
            (e.conc as f64).into(),
            o.task.clone().into(),
            o.score.into(),
            o.stderr.into(),
            (o.n as f64).into(),
            (o.n_failed as f64).into(),
            o.threshold.into(),
            match o.passed {
                Some(true) => "pass",
                Some(false) => "FAIL",
                None => "-",
            }
            .into(),
            p.and_then(|p| p.metrics.median_intvty).into(),
            p.and_then(|p| p.metrics.tput_per_gpu).into(),
        ]);
    }
    t.notes.push(format!(
        "{} evals: {passed} pass, {failed} below threshold",
        t.rows.len()
    ));
    t
}

/// The series' points and frontiers of `y` against `x` as a chart, with the targets marked
/// when x is interactivity.
pub fn chart(
    title: &str,
    series: &[Series],
    x: XMetric,
    y: YMetric,
    targets: &[f64],
    prices: &Prices,
) -> servebench_chart::Chart {
    use servebench_chart::{Axis, Chart};
    let mut ch = Chart::new(title, Axis::linear(x.label()), Axis::linear(y.label()));
    for c in series {
        let e = prices.of(&c.hardware);
        let xy = |p: &ViewPoint| Some((x.of(p)?, y.of(p, e)?));
        let points: Vec<(f64, f64)> = c.points.iter().filter_map(xy).collect();
        let front: Vec<(f64, f64)> = frontier_points(c, x, y, e)
            .into_iter()
            .filter_map(xy)
            .collect();
        ch.series.push(servebench_chart::Series::new(
            match &c.run {
                Some(r) => format!("{} {r}", c.label),
                None => c.label.clone(),
            },
            points,
            front,
        ));
    }
    if x == XMetric::Interactivity {
        ch.x_markers = targets
            .iter()
            .map(|&t| (t, format!("{t} tok/s/user")))
            .collect();
    }
    ch
}

#[cfg(test)]
mod tests {
    use super::*;
    use servebench_store::{Config, Metrics, Source};

    /// (conc, tok/s/user, tok/s/GPU, E2EL ms, measured J per output token)
    fn curve(hw: &str, pts: &[(u32, f64, f64, f64, Option<f64>)]) -> Curve {
        let config = Config {
            hardware: hw.into(),
            engine: "vllm".into(),
            model: "m".into(),
            precision: "fp8".into(),
            spec_decoding: "none".into(),
            disagg: false,
            topology: "tp8".into(),
        };
        let points = pts
            .iter()
            .map(|&(conc, intvty, tput, e2el, j)| ViewPoint {
                id: conc as i64,
                image: None,
                simulated: None,
                config: config.clone().into(),
                config_key: config.natural_key().into(),
                run: "r".into(),
                run_started_at: "2026-11-28".into(),
                isl: 1024,
                osl: 1024,
                conc,
                num_gpus: 8,
                agentic: None,
                metrics: Metrics {
                    tput_per_gpu: Some(tput),
                    input_tput_per_gpu: Some(tput / 2.0),
                    output_tput_per_gpu: Some(tput / 2.0),
                    median_intvty: Some(intvty),
                    median_e2el_ms: Some(e2el),
                    measured_j_per_token: j,
                    ..Default::default()
                },
            })
            .collect();
        Curve {
            config_key: config.natural_key(),
            config,
            source: Source::Own,
            run: "r".into(),
            run_started_at: "2026-11-28".into(),
            points,
        }
    }

    fn one(c: Curve) -> Vec<Series> {
        crate::curves::series(
            &[c],
            servebench_analysis::grouping::Grouping::HardwareKey,
            false,
        )
    }

    fn num(c: &Cell) -> Option<f64> {
        match c {
            Cell::Num(v) => *v,
            Cell::Text(_) => panic!("text"),
        }
    }

    #[test]
    fn measured_energy_comes_from_interpolated_power_not_interpolated_itself() {
        // Output tok/s/GPU 500 at 100 W → 0.2 J; 1000 at 300 W → 0.3 J. Halfway in
        // interactivity: power 200 W, output 750 tok/s → 0.2667 J (not the mean 0.25 J).
        let c = curve(
            "h200",
            &[
                (4, 100.0, 1000.0, 1000.0, Some(0.2)),
                (8, 50.0, 2000.0, 2000.0, Some(0.3)),
            ],
        );
        let catalog = Catalog::builtin().unwrap();
        let prices = Prices {
            catalog: &catalog,
            tier: CostTier::Custom(3.0),
        };
        let t = at_targets(&one(c), &[75.0, 40.0], &prices);
        let j = t.column("measured_joules_per_output_token");
        assert!((num(j[0]).unwrap() - 200.0 / 750.0).abs() < 1e-9);
        assert_eq!(num(j[1]), None, "40 is below the measured range");
        let cost = num(t.column("dollars_per_mtok")[0]).unwrap();
        assert!((cost - 3.0 / (1500.0 * 3600.0 / 1e6)).abs() < 1e-12);
        // A point without power samples: no measured figure at all, modelled still there.
        let c = curve(
            "h200",
            &[
                (4, 100.0, 1000.0, 1000.0, Some(0.2)),
                (8, 50.0, 2000.0, 2000.0, None),
            ],
        );
        let t = at_targets(&one(c), &[75.0], &prices);
        assert_eq!(num(t.column("measured_joules_per_output_token")[0]), None);
        assert!(num(t.column("joules_per_token")[0]).is_some());
    }

    /// The figures read measured J at every target with each spline built once: the same
    /// numbers as one target at a time (200 W / 750 tok/s halfway, as above).
    #[test]
    fn measured_energy_at_each_target_is_measured_energy_at_each() {
        let c = curve(
            "h200",
            &[
                (4, 100.0, 1000.0, 1000.0, Some(0.2)),
                (8, 50.0, 2000.0, 2000.0, Some(0.3)),
            ],
        );
        let along = Along::new(&c.points);
        let targets = [40.0, 50.0, 75.0, 100.0, 120.0];
        let each = along.measured_j_each(&targets, Tokens::Output);
        let one_by_one: Vec<Option<f64>> = targets
            .iter()
            .map(|&t| along.measured_j_at(t, Tokens::Output))
            .collect();
        assert_eq!(each, one_by_one);
        assert!((each[2].unwrap() - 200.0 / 750.0).abs() < 1e-9);
        assert_eq!(
            (each[0], each[4]),
            (None, None),
            "outside the measured range"
        );
    }

    #[test]
    fn the_cheapest_is_starred_where_uncalibrated_kinds_carry_its_frontier() {
        let catalog = Catalog::builtin().unwrap();
        let prices = Prices {
            catalog: &catalog,
            tier: CostTier::Custom(2.0),
        };
        // h200: calibrated single-node points; b200: the same, plus a disaggregated point of
        // an uncalibrated kind far above them at 60 tok/s/user.
        let h200 = curve(
            "h200",
            &[(4, 100.0, 500.0, 1.0, None), (8, 40.0, 1000.0, 2.0, None)],
        );
        let mut b200 = curve(
            "b200",
            &[(4, 100.0, 400.0, 1.0, None), (8, 40.0, 900.0, 2.0, None)],
        );
        let mut disagg = curve("b200", &[(16, 60.0, 5000.0, 3.0, None)]);
        disagg.points[0].simulated = Some(std::sync::Arc::new(serde_json::json!({
            "basis": "in sample", "uncalibrated": "disaggregated: its knobs were fitted to single-node points only"
        })));
        b200.points.extend(disagg.points);
        let t = cheapest(&[h200, b200], &[70.0, 45.0], &prices);
        let hw = t.column("hardware");
        // At 70 the disaggregated point carries b200's frontier: starred, and explained.
        assert!(
            matches!(hw[0], Cell::Text(s) if s == "b200*"),
            "{:?}",
            hw[0]
        );
        // At 45, below it, b200's frontier (which it dominates) does not reach; h200 is
        // cheapest on calibrated points alone, unstarred.
        assert!(matches!(hw[1], Cell::Text(s) if s == "h200"), "{:?}", hw[1]);
        assert!(
            t.notes.iter().any(|n| n == UNCALIBRATED_NOTE),
            "{:?}",
            t.notes
        );
    }

    #[test]
    fn every_y_metric_is_its_tokens_throughput_priced_powered_or_measured() {
        // One point: 3000 tok/s/GPU of which 1000 input and 2000 output, measured 0.6 J per
        // output token (so 1200 W/GPU), at $2/GPU-hour and 1.5 kW all-in per GPU.
        let mut c = curve("h200", &[(8, 50.0, 3000.0, 1000.0, Some(0.6))]);
        c.points[0].metrics.input_tput_per_gpu = Some(1000.0);
        c.points[0].metrics.output_tput_per_gpu = Some(2000.0);
        let p = &c.points[0];
        let e = HardwareEconomics {
            dollars_per_gpu_hour: Some(2.0),
            all_in_kw_per_gpu: Some(1.5),
        };
        use Tokens::*;
        use YMetric::*;
        // Hand-computed: $/M = 2 / (t × 3600 / 1e6); tok/s/MW = t × 1000 / 1.5;
        // J/token = 1500 / t; measured J/token = 1200 W / t.
        let want = [
            (Throughput(Total), 3000.0),
            (Throughput(Input), 1000.0),
            (Throughput(Output), 2000.0),
            (Cost(Total), 2.0 / 10.8),
            (Cost(Input), 2.0 / 3.6),
            (Cost(Output), 2.0 / 7.2),
            (TokensPerMw(Total), 2_000_000.0),
            (TokensPerMw(Input), 666_666.666_666_666_6),
            (TokensPerMw(Output), 1_333_333.333_333_333_3),
            (Energy(Total), 0.5),
            (Energy(Input), 1.5),
            (Energy(Output), 0.75),
            (MeasuredEnergy(Total), 0.4),
            (MeasuredEnergy(Input), 1.2),
            (MeasuredEnergy(Output), 0.6),
        ];
        assert_eq!(want.len(), YMetric::ALL.len());
        for (y, v) in want {
            let got = y.of(p, e).unwrap();
            assert!((got - v).abs() <= 1e-9 * v, "{y:?}: {got} != {v}");
        }
        // Every name parses back to its metric; keys are distinct.
        let mut keys: Vec<&str> = YMetric::ALL.iter().map(|y| y.key()).collect();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), 15);
        for y in YMetric::ALL {
            assert_eq!(y.cli_name().parse::<YMetric>(), Ok(y));
        }
        for x in XMetric::ALL {
            assert_eq!(x.cli_name().parse::<XMetric>(), Ok(x));
        }
    }

    #[test]
    fn p99_ttft_frontiers_rank_by_the_tail_not_the_median() {
        // c8 has the better median TTFT than c16 but the worse p99: against p99 TTFT c16
        // (more throughput, lower tail) dominates it.
        let mut c = curve(
            "h200",
            &[
                (4, 100.0, 1000.0, 900.0, None),
                (8, 80.0, 2000.0, 1200.0, None),
                (16, 70.0, 2500.0, 1500.0, None),
            ],
        );
        for (p, (median, p99)) in
            c.points
                .iter_mut()
                .zip([(10.0, 20.0), (12.0, 90.0), (15.0, 40.0)])
        {
            p.metrics.median_ttft_ms = Some(median);
            p.metrics.p99_ttft_ms = Some(p99);
        }
        let c = one(c).remove(0);
        let e = HardwareEconomics::default();
        let concs = |x| -> Vec<u32> {
            frontier_points(&c, x, YMetric::Throughput(Tokens::Total), e)
                .iter()
                .map(|p| p.conc)
                .collect()
        };
        assert_eq!(concs(XMetric::Ttft), [4, 8, 16]);
        assert_eq!(concs(XMetric::P99Ttft), [4, 16]);
    }

    #[test]
    fn frontiers_follow_each_metrics_direction() {
        // c16 has less tok/s/user and tok/s/GPU than c8, more latency and more energy: off
        // every frontier, whichever way each metric points.
        let c = curve(
            "h200",
            &[
                (4, 100.0, 1000.0, 900.0, Some(0.5)),
                (8, 80.0, 2000.0, 1200.0, Some(0.3)),
                (16, 70.0, 1500.0, 1500.0, Some(0.4)),
                (32, 40.0, 3000.0, 2500.0, Some(0.2)),
            ],
        );
        let e = HardwareEconomics {
            dollars_per_gpu_hour: Some(2.0),
            all_in_kw_per_gpu: Some(1.5),
        };
        let c = one(c).remove(0);
        let concs = |x, y| -> Vec<u32> {
            frontier_points(&c, x, y, e)
                .iter()
                .map(|p| p.conc)
                .collect()
        };
        use Tokens::*;
        use XMetric::*;
        use YMetric::*;
        assert_eq!(concs(Interactivity, Throughput(Total)), [4, 8, 32]);
        // Lower latency first; cost, energy lower is better: the same trade-off set.
        assert_eq!(concs(E2eLatency, Throughput(Total)), [4, 8, 32]);
        assert_eq!(concs(Interactivity, Cost(Total)), [4, 8, 32]);
        assert_eq!(concs(E2eLatency, Energy(Total)), [4, 8, 32]);
        assert_eq!(concs(Interactivity, TokensPerMw(Total)), [4, 8, 32]);
        assert_eq!(concs(Interactivity, MeasuredEnergy(Output)), [4, 8, 32]);
        // Latency read as if higher were better keeps only c32: the direction matters.
        let xy: Vec<(f64, f64)> = c
            .points
            .iter()
            .map(|p| {
                (
                    p.metrics.median_e2el_ms.unwrap(),
                    p.metrics.tput_per_gpu.unwrap(),
                )
            })
            .collect();
        assert_eq!(frontier(&xy, Better::Higher, Better::Higher), [3]);
    }

    #[test]
    fn comparisons_need_one_accelerator_a_side() {
        let catalog = Catalog::builtin().unwrap();
        let prices = Prices {
            catalog: &catalog,
            tier: CostTier::OwnedHyperscaler,
        };
        let a = curve(
            "h200",
            &[(4, 100.0, 1000.0, 1.0, None), (8, 50.0, 2000.0, 2.0, None)],
        );
        let b = curve(
            "b200",
            &[(4, 100.0, 2500.0, 1.0, None), (8, 50.0, 5000.0, 2.0, None)],
        );
        let both = [a, b];
        let sel = |s: &str| s.parse::<Selector>().unwrap();
        let t = compare(&both, &sel("h200"), &sel("b200"), &[75.0], &prices).unwrap();
        let ratio = num(t.column("tput_ratio")[0]).unwrap();
        assert!((ratio - 0.4).abs() < 1e-12);
        let (h, b) = (
            catalog.accelerator("h200").unwrap(),
            catalog.accelerator("b200").unwrap(),
        );
        let price =
            |a: &servebench_catalog::Accelerator| a.dollars_per_gpu_hour.owned_hyperscaler.value;
        let want = (price(h) / 1500.0) / (price(b) / 3750.0);
        assert!((num(t.column("cost_ratio")[0]).unwrap() - want).abs() < 1e-12);
        let e = compare(&both, &sel("engine=vllm"), &sel("b200"), &[75.0], &prices).unwrap_err();
        assert!(e.contains("several accelerators"), "{e}");
    }
}
