//! `servebench calibrate`: the simulator against published InferenceMAX results, point by point.

use anyhow::Context;
use servebench_catalog::Catalog;
use servebench_sim::calibration::{compare, load_v1_dashboard, share_within, Comparison};
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct CalibrateArgs {
    /// Directory of the published v1 dashboard files (*_interactivity.json).
    #[arg(long)]
    published: PathBuf,
    /// Measured requests per unit of concurrency in each simulated point (InferenceX uses 10).
    #[arg(long, default_value_t = 10)]
    requests_per_conc: usize,
    /// A directory of extra catalog files (e.g. fitted engine knobs).
    #[arg(long)]
    catalog: Option<PathBuf>,
    /// Write every comparison as JSON here.
    #[arg(long)]
    out: Option<PathBuf>,
}

fn median_abs(v: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = v.map(f64::abs).collect();
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

pub fn run(a: CalibrateArgs) -> anyhow::Result<ExitCode> {
    let mut catalog = Catalog::builtin()?;
    if let Some(d) = &a.catalog {
        catalog.load_dir(d)?;
    }
    let (points, skipped) = load_v1_dashboard(&a.published)
        .with_context(|| format!("reading {}", a.published.display()))?;
    let t0 = std::time::Instant::now();
    let cmp = compare(&catalog, &points, a.requests_per_conc);
    let mut groups: BTreeMap<(String, String, String), Vec<&Comparison>> = BTreeMap::new();
    for c in &cmp {
        let p = &c.published;
        groups
            .entry((p.model.clone(), p.hw_key.clone(), p.precision.clone()))
            .or_default()
            .push(c);
    }
    println!(
        "{:<18} {:<10} {:<5} {:>6} {:>15} {:>15} {:>10}",
        "model", "hw", "prec", "points", "|tput err| med", "|intv err| med", "within 35%"
    );
    for ((m, hw, p), cs) in &groups {
        let ok: Vec<&Comparison> = cs.iter().copied().filter(|c| c.error.is_none()).collect();
        if ok.is_empty() {
            println!(
                "{m:<18} {hw:<10} {p:<5} {:>6}  not simulated: {}",
                cs.len(),
                cs[0].error.as_deref().unwrap_or("")
            );
            continue;
        }
        let owned: Vec<Comparison> = ok.iter().map(|c| (*c).clone()).collect();
        println!(
            "{m:<18} {hw:<10} {p:<5} {:>6} {:>14.0}% {:>14.0}% {:>9.0}%",
            ok.len(),
            100.0 * median_abs(ok.iter().map(|c| c.tput_error)),
            100.0 * median_abs(ok.iter().map(|c| c.interactivity_error)),
            100.0 * share_within(&owned, 0.35)
        );
    }
    let simulated = cmp.iter().filter(|c| c.error.is_none()).count();
    println!(
        "\n{} published points: {} simulated in {:.1} s, {} not simulated, {} skipped (not modelled yet: {}).",
        points.len() + skipped.len(),
        simulated,
        t0.elapsed().as_secs_f64(),
        cmp.len() - simulated,
        skipped.len(),
        skipped.first().map_or("", |s| s.reason.as_str())
    );
    println!(
        "Within ±35% on both tok/s/GPU and tok/s/user: {:.0}% of simulated points.",
        100.0 * share_within(&cmp, 0.35)
    );
    if let Some(out) = &a.out {
        std::fs::write(out, serde_json::to_string_pretty(&cmp)? + "\n")
            .with_context(|| format!("writing {}", out.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
