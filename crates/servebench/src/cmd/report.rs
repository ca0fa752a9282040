//! `servebench report`: frontiers, values at target interactivities with cost and power,
//! comparisons, history and regressions from the store, as text, CSV or JSON, and charts.

use servebench_analysis::economics::CostTier;
use servebench_catalog::Catalog;
use servebench_report::curves::{self, Query, RunPick, Selector};
use servebench_report::reports::{self, Prices, XMetric, YMetric};
use servebench_report::table::exporter;
use servebench_store::{Source, Store};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum What {
    /// Every config read at the target interactivities: tok/s/GPU, $/M, tok/s/MW, J/token.
    At,
    /// Every config's frontier, point by point (--x, --y choose the metrics).
    Frontier,
    /// --a against --b at the target interactivities.
    Compare,
    /// Every config's tok/s/GPU at the targets, run by run.
    History,
    /// Drops of each config's latest run against the one before.
    Regressions,
}

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// Which report.
    #[arg(value_enum, default_value = "at")]
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
    /// Which runs: latest (each config's), all, or a run key. history and regressions read
    /// all runs.
    #[arg(long, default_value = "latest")]
    run: String,
    /// frontier, chart: the x metric: interactivity or e2el.
    #[arg(long, default_value = "interactivity")]
    x: String,
    /// frontier, chart: the y metric: tput, cost, tpmw, energy or measured-energy.
    #[arg(long, default_value = "tput")]
    y: String,
    /// compare: side A, e.g. hardware=b200,engine=trt (configs of one accelerator).
    #[arg(long)]
    a: Option<String>,
    /// compare: side B, e.g. h200 or hardware=h200,source=reference.
    #[arg(long)]
    b: Option<String>,
    /// regressions: the smallest drop reported, as a fraction.
    #[arg(long, default_value_t = 0.05)]
    threshold: f64,
    /// regressions: exit with status 1 when there are any.
    #[arg(long)]
    fail_on_regression: bool,
    /// text, csv or json.
    #[arg(long, default_value = "text")]
    format: String,
    /// Also draw the view's frontiers (--x, --y) into this .svg or .png file.
    #[arg(long)]
    chart: Option<PathBuf>,
}

fn parse<T: std::str::FromStr<Err = String>>(flag: &str, v: &str) -> anyhow::Result<T> {
    v.parse().map_err(|e| anyhow::anyhow!("--{flag} {e}"))
}

pub fn run(a: ReportArgs) -> anyhow::Result<ExitCode> {
    let t0 = std::time::Instant::now();
    let tier = match a.tier.as_str() {
        "hyperscaler" => CostTier::OwnedHyperscaler,
        "neocloud" => CostTier::OwnedNeocloud,
        "rental" => CostTier::Rental3y,
        x => CostTier::Custom(x.parse().ok().filter(|d: &f64| *d > 0.0).ok_or_else(|| {
            anyhow::anyhow!("--tier {x}: expected hyperscaler, neocloud, rental or a $/GPU-hour")
        })?),
    };
    let sources = match a.source.as_str() {
        "both" => vec![Source::Own, Source::Reference],
        s => vec![parse::<Source>("source", s)?],
    };
    let exp = exporter(&a.format)
        .ok_or_else(|| anyhow::anyhow!("--format {}: expected text, csv or json", a.format))?;
    let (x, y): (XMetric, YMetric) = (parse("x", &a.x)?, parse("y", &a.y)?);
    let runs = match a.what {
        What::History | What::Regressions => RunPick::All,
        _ => parse::<RunPick>("run", &a.run)?,
    };
    let mut store = Store::open(&a.store)?;
    let query = Query {
        model: a.model.clone(),
        isl: a.isl,
        osl: a.osl,
        precision: a.precision.clone(),
        sources,
        runs,
    };
    let curves = curves::load(&mut store, &query)?;
    let loaded = t0.elapsed();
    let catalog = Catalog::builtin()?;
    let prices = Prices {
        catalog: &catalog,
        tier,
    };
    let mut table = match a.what {
        What::At => reports::at_targets(&curves, &a.at, &prices),
        What::Frontier => reports::frontiers(&curves, x, y, &prices),
        What::Compare => {
            let side = |flag: &str, v: &Option<String>| -> anyhow::Result<Selector> {
                let v = v
                    .as_deref()
                    .ok_or_else(|| anyhow::anyhow!("compare needs --a and --b"))?;
                parse(flag, v)
            };
            let (sa, sb) = (side("a", &a.a)?, side("b", &a.b)?);
            reports::compare(&curves, &sa, &sb, &a.at, &prices)
                .map_err(|e| anyhow::anyhow!("compare: {e}"))?
        }
        What::History => reports::history_table(&curves, &a.at),
        What::Regressions => reports::regression_table(&curves, &a.at, a.threshold),
    };
    let view = format!(
        "{} {}/{}{}",
        a.model,
        a.isl,
        a.osl,
        a.precision
            .as_deref()
            .map(|p| format!(" {p}"))
            .unwrap_or_default()
    );
    table.title = format!("{view} — {}", table.title);
    print!("{}", exp.render(&table));
    if let Some(path) = &a.chart {
        let ch = reports::chart(&view, &curves, x, y, &a.at, &prices);
        servebench_chart::write(&ch, path)?;
        eprintln!("servebench report: chart written to {}", path.display());
    }
    eprintln!(
        "servebench report: {} curves, {} points in {:.1} ms ({:.1} ms opening the store and reading the view)",
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
