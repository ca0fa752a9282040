//! `servebench report`: frontiers, values at target interactivities with cost and power,
//! comparisons, history, regressions and accuracy from the store, as text, CSV or JSON, and charts.

use servebench_catalog::Catalog;
use servebench_report::request::{Request, What};
use servebench_report::table::exporter;
use servebench_store::Store;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// Which report: at (every frontier read at the target interactivities: tok/s/GPU, $/M,
    /// tok/s/MW, J/token), frontier (every frontier point by point; --x, --y), compare
    /// (--a against --b at the targets), history (tok/s/GPU at the targets run by run),
    /// regressions (drops of each frontier's latest run against the one before) or accuracy
    /// (the accuracy evals beside the points measured with them).
    #[arg(default_value = "at")]
    what: What,
    /// The store: sqlite:PATH or postgres://USER:PASSWORD@HOST:PORT/DB.
    #[arg(long, default_value = "sqlite:servebench.db", env = "SERVEBENCH_STORE")]
    store: String,
    /// Model as stored (a catalog id, or the served name of your runs).
    #[arg(long)]
    model: String,
    #[arg(long, default_value_t = 1024)]
    isl: u32,
    #[arg(long, default_value_t = 1024)]
    osl: u32,
    /// The agentic-coding workload (trace replays) instead of --isl/--osl; frontiers then
    /// default to --x e2e-norm, InferenceX's agentic axis.
    #[arg(long, conflicts_with_all = ["isl", "osl"])]
    agentic: bool,
    #[arg(long)]
    precision: Option<String>,
    /// Interactivities (tok/s/user) to read the frontiers at.
    #[arg(long, value_delimiter = ',', default_value = "20,50,100")]
    at: Vec<f64>,
    /// Cost tier: hyperscaler, neocloud, rental, or your own $/GPU-hour.
    #[arg(long, default_value = "hyperscaler")]
    tier: String,
    /// Whose points: own, reference (published), or both (side by side, never blended).
    #[arg(long, default_value = "own")]
    source: String,
    /// Which runs: latest (each config's), all, or a run key. history, regressions and
    /// accuracy read all runs.
    #[arg(long, default_value = "latest")]
    run: String,
    /// Which points share a frontier: hwkey (InferenceMAX's hardware key: the accelerator,
    /// _trt for TensorRT-LLM, _mtp for MTP; precisions, TPs and topologies pooled), hardware,
    /// engine, precision (hwkey × precision) or config (one frontier per deployed config).
    #[arg(long, default_value = "hwkey")]
    group: String,
    /// frontier, chart: the x metric: interactivity, e2el, ttft (median), p99-ttft or e2e-norm
    /// (agentic points: E2E-normalised interactivity at P90). Default: interactivity, e2e-norm
    /// with --agentic.
    #[arg(long)]
    x: Option<String>,
    /// frontier, chart: the y metric: tput, input, output (tok/s/GPU); cost, cost-input,
    /// cost-output ($/M tokens); tpmw, tpmw-input, tpmw-output (tok/s/MW); energy,
    /// energy-input, energy-output (modelled J/token); measured-energy (J/output token),
    /// measured-energy-total, measured-energy-input.
    #[arg(long, default_value = "tput")]
    y: String,
    /// compare: side A, e.g. hardware=b200,engine=trt (configs of one accelerator).
    #[arg(long)]
    a: Option<String>,
    /// compare: side B, e.g. h200 or hardware=h200,source=reference.
    #[arg(long)]
    b: Option<String>,
    /// regressions: the smallest drop reported; history: the smallest change marked as a
    /// movement (with what changed between the two runs); a fraction.
    #[arg(long, default_value_t = 0.05)]
    threshold: f64,
    /// Only the points measured in their own run, none carried over unchanged from an earlier
    /// one (`sweep --reuse`): what a night measured.
    #[arg(long)]
    new_only: bool,
    /// regressions: exit with status 1 when there are any.
    #[arg(long)]
    fail_on_regression: bool,
    /// text, csv, json or markdown (a GitHub-flavoured table, as a run page's summary).
    #[arg(long, default_value = "text")]
    format: String,
    /// Also draw the view's frontiers (--x, --y) into this .svg or .png file.
    #[arg(long)]
    chart: Option<PathBuf>,
}

pub fn run(a: ReportArgs) -> anyhow::Result<ExitCode> {
    let t0 = std::time::Instant::now();

    // The flags as the query pairs the dashboard's report API takes: one parser for both.
    let (isl, osl) = if a.agentic {
        servebench_store::AGENTIC_WORKLOAD
    } else {
        (a.isl, a.osl)
    };
    let x = a.x.clone().unwrap_or_else(|| {
        if a.agentic {
            "e2e-norm"
        } else {
            "interactivity"
        }
        .into()
    });
    let mut pairs: Vec<(String, String)> = vec![
        ("model".into(), a.model.clone()),
        ("isl".into(), isl.to_string()),
        ("osl".into(), osl.to_string()),
        (
            "at".into(),
            a.at.iter()
                .map(f64::to_string)
                .collect::<Vec<_>>()
                .join(","),
        ),
        ("tier".into(), a.tier.clone()),
        ("source".into(), a.source.clone()),
        ("run".into(), a.run.clone()),
        ("x".into(), x),
        ("y".into(), a.y.clone()),
        ("threshold".into(), a.threshold.to_string()),
        ("group".into(), a.group.clone()),
        ("new_only".into(), a.new_only.to_string()),
    ];
    for (k, v) in [("precision", &a.precision), ("a", &a.a), ("b", &a.b)] {
        if let Some(v) = v {
            pairs.push((k.into(), v.clone()));
        }
    }
    let req = Request::from_pairs(a.what, &pairs).map_err(|e| anyhow::anyhow!("--{e}"))?;
    let exp = exporter(&a.format).ok_or_else(|| {
        anyhow::anyhow!(
            "--format {}: expected text, csv, json or markdown",
            a.format
        )
    })?;
    let mut store = Store::open_read_only(&a.store)?;
    let catalog = Catalog::builtin()?;
    let (curves, table) = req.run(&mut store, &catalog).map_err(anyhow::Error::msg)?;
    let loaded = t0.elapsed();
    print!("{}", exp.render(&table));
    if let Some(path) = &a.chart {
        servebench_chart::write(&req.chart(&curves, &catalog), path)?;
        eprintln!("servebench report: chart written to {}", path.display());
    }
    eprintln!(
        "servebench report: {} curves, {} points in {:.1} ms ({:.1} ms to open the store, read the view and compute the report)",
        curves.len(),
        curves.iter().map(|c| c.points.len()).sum::<usize>(),
        t0.elapsed().as_secs_f64() * 1e3,
        loaded.as_secs_f64() * 1e3
    );
    if a.what == What::Regressions && a.fail_on_regression && !table.rows.is_empty() {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
