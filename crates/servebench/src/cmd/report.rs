//! `servebench report`: frontiers from the store, read at target interactivities, with cost
//! and power.

use servebench_analysis::economics::{economics, CostTier};
use servebench_analysis::interp::frontier_at;
use servebench_catalog::Catalog;
use servebench_store::{Source, Store};
use std::collections::BTreeMap;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct ReportArgs {
    /// The store: sqlite:PATH.
    #[arg(long, default_value = "sqlite:servebench.db")]
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
    /// Interactivities (tok/s/user) to read every frontier at.
    #[arg(long, value_delimiter = ',', default_value = "20,50,100")]
    at: Vec<f64>,
    /// Cost tier: hyperscaler, neocloud, rental, or your own $/GPU-hour.
    #[arg(long, default_value = "hyperscaler")]
    tier: String,
    /// Whose points: own, or the published reference.
    #[arg(long, default_value = "own")]
    source: String,
    /// text, csv or json.
    #[arg(long, default_value = "text")]
    format: String,
}

pub fn run(a: ReportArgs) -> anyhow::Result<ExitCode> {
    let t0 = std::time::Instant::now();
    let tier = match a.tier.as_str() {
        "hyperscaler" => CostTier::OwnedHyperscaler,
        "neocloud" => CostTier::OwnedNeocloud,
        "rental" => CostTier::Rental3y,
        x => CostTier::Custom(x.parse().map_err(|_| {
            anyhow::anyhow!("--tier {x}: expected hyperscaler, neocloud, rental or a $/GPU-hour")
        })?),
    };
    let source = match a.source.as_str() {
        "own" => Source::Own,
        "reference" => Source::Reference,
        x => anyhow::bail!("--source {x}: expected own or reference"),
    };
    let store = Store::open(&a.store)?;
    let points = store.view(&a.model, a.isl, a.osl, a.precision.as_deref(), source)?;
    let catalog = Catalog::builtin()?;
    let mut by: BTreeMap<&str, Vec<&servebench_store::ViewPoint>> = BTreeMap::new();
    for p in &points {
        by.entry(p.config.as_str()).or_default().push(p);
    }
    let mut rows = Vec::new();
    for (config, pts) in &by {
        let xy: Vec<(f64, f64)> = pts
            .iter()
            .filter_map(|p| Some((p.median_intvty?, p.tput_per_gpu?)))
            .collect();
        let (front, at) = frontier_at(&xy, &a.at);
        let accel = catalog.accelerator(&pts[0].hardware).ok();
        for (&target, tput) in a.at.iter().zip(at) {
            let e = match (tput, accel) {
                (Some(t), Some(acc)) => Some(economics(acc, tier, t)),
                _ => None,
            };
            rows.push(serde_json::json!({
                "config": config, "frontier_points": front.len(), "points": xy.len(),
                "interactivity": target, "tput_per_gpu": tput,
                "dollars_per_mtok": e.map(|e| e.dollars_per_mtok),
                "tokens_per_s_per_mw": e.map(|e| e.tokens_per_s_per_mw),
                "joules_per_token": e.map(|e| e.joules_per_token),
            }));
        }
    }
    let num = |v: &serde_json::Value, d: usize| {
        v.as_f64().map_or("-".to_string(), |x| format!("{x:.d$}"))
    };
    match a.format.as_str() {
        "json" => println!("{}", serde_json::to_string_pretty(&rows)?),
        "csv" => {
            println!("config,interactivity,tput_per_gpu,dollars_per_mtok,tokens_per_s_per_mw,joules_per_token");
            for r in &rows {
                println!(
                    "{},{},{},{},{},{}",
                    r["config"].as_str().unwrap_or(""),
                    r["interactivity"],
                    num(&r["tput_per_gpu"], 1),
                    num(&r["dollars_per_mtok"], 4),
                    num(&r["tokens_per_s_per_mw"], 0),
                    num(&r["joules_per_token"], 3)
                );
            }
        }
        _ => {
            println!(
                "{} {}/{}{}: {} configs, {} points ({:?})",
                a.model,
                a.isl,
                a.osl,
                a.precision
                    .as_deref()
                    .map(|p| format!(" {p}"))
                    .unwrap_or_default(),
                by.len(),
                points.len(),
                source
            );
            println!(
                "{:<62} {:>9} {:>11} {:>9} {:>11} {:>8}",
                "config", "tok/s/usr", "tok/s/GPU", "$/M", "tok/s/MW", "J/tok"
            );
            for r in &rows {
                println!(
                    "{:<62} {:>9} {:>11} {:>9} {:>11} {:>8}",
                    r["config"].as_str().unwrap_or(""),
                    num(&r["interactivity"], 0),
                    num(&r["tput_per_gpu"], 1),
                    num(&r["dollars_per_mtok"], 3),
                    num(&r["tokens_per_s_per_mw"], 0),
                    num(&r["joules_per_token"], 2)
                );
            }
        }
    }
    eprintln!(
        "servebench report: {} points, {} frontiers in {:.1} ms",
        points.len(),
        by.len(),
        t0.elapsed().as_secs_f64() * 1e3
    );
    Ok(ExitCode::SUCCESS)
}
