//! `servebench calibrate`: the simulator against published InferenceMAX results, point by point.

use anyhow::Context;
use servebench_catalog::{CalibrationKey, Catalog, DeploymentKind, Knobs, Precision};
use servebench_sim::calibration::{
    compare, comparisons_csv, fit, load_v1_dashboard, orderings, share_within, Comparison,
    PublishedPoint, TIE_BAND,
};
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
    /// Write every single-node comparison as CSV here (one line per published point).
    #[arg(long)]
    csv: Option<PathBuf>,
    /// Write every disaggregated comparison (GB200 Dynamo) as CSV here.
    #[arg(long)]
    disagg_csv: Option<PathBuf>,
    /// Fit each engine's efficiency knobs per accelerator to the published points first.
    #[arg(long)]
    fit: bool,
    /// With --fit: write one calibration file per engine into this directory
    /// (the repository's is catalog/calibration).
    #[arg(long, requires = "fit")]
    write: Option<PathBuf>,
    /// With --fit: measured requests per unit of concurrency while fitting (fewer is faster).
    #[arg(long, default_value_t = 2)]
    fit_requests_per_conc: usize,
    /// How far to trust the simulator without published points to fit: predict each
    /// accelerator's points from the other accelerators' fits (`accelerator`, by the family
    /// rule), or each model's from fits redone on the other models alone (`model`; refits
    /// every combination, minutes), beside the in-sample figures.
    #[arg(long, value_name = "accelerator|model")]
    hold_out: Option<HoldOutBy>,
    /// With --hold-out: write the pooled figures into this hold-out file (the repository's is
    /// catalog/calibration/holdout.yaml), keeping the other hold-out's section.
    #[arg(long, requires = "hold_out", value_name = "FILE")]
    holdout_file: Option<PathBuf>,
    /// With --hold-out model: threads fitting at once (default: the cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Only the published points of these hardware keys (b200, b200_trt, h200, ...).
    #[arg(long, value_delimiter = ',', value_name = "HW_KEY")]
    only: Vec<String>,
}

/// The calibration file of `engine`: every calibration of it in `catalog` (fitted now or
/// before), pooled ones under `accelerators`, per-model ones under `models`; `notes` are the
/// comments of the fits made now.
fn calibration_yaml(
    engine: &str,
    catalog: &Catalog,
    notes: &BTreeMap<CalibrationKey, String>,
) -> String {
    let mut s = format!(
        "# servebench catalog: efficiency knobs of {engine} per accelerator, fitted by\n\
         # `servebench calibrate --fit` to the published InferenceMAX v1 points (mean squared log\n\
         # error of tok/s/GPU and tok/s/user): pooled over the models under `accelerators`, per\n\
         # model under `models`. Regenerate rather than edit by hand.\n\
         kind: calibration\nengine: {engine}\nagainst: InferenceMAX v1 dashboard data of 2025-10-25\n"
    );
    let mine: Vec<(&CalibrationKey, &Knobs)> = catalog
        .calibrations
        .iter()
        .filter(|((e, ..), _)| e == engine)
        .collect();
    let mut models: Vec<Option<&str>> = mine.iter().map(|((.., m), _)| m.as_deref()).collect();
    models.sort();
    models.dedup();
    if !models.contains(&None) {
        s.push_str("accelerators: {}\n");
    }
    for model in models {
        let indent = match model {
            None => {
                s.push_str("accelerators:\n");
                ""
            }
            Some(m) => {
                if !s.contains("\nmodels:\n") {
                    s.push_str("models:\n");
                }
                s.push_str(&format!("  {m}:\n"));
                "  "
            }
        };
        let mut last_accel = "";
        for (key, knobs) in mine.iter().filter(|((.., m), _)| m.as_deref() == model) {
            let (_, accel, precision, _) = key;
            if accel != last_accel {
                s.push_str(&format!("{indent}  {accel}:\n"));
                last_accel = accel;
            }
            match notes.get(*key) {
                Some(n) => s.push_str(&format!("{indent}    {precision}:  # {n}\n")),
                None => s.push_str(&format!("{indent}    {precision}:\n")),
            }
            for (name, fig) in knobs.figures() {
                // Efficiencies to 4 decimals, microseconds to 0.1.
                let digits = if name.ends_with("_us") { 1 } else { 4 };
                s.push_str(&format!(
                    "{indent}      {name}: {{value: {:.digits$}, source: {}}}\n",
                    fig.value, fig.source
                ));
            }
            if knobs.kinds != [DeploymentKind::SingleNode] {
                let kinds: Vec<String> = knobs.kinds.iter().map(|k| k.to_string()).collect();
                s.push_str(&format!("{indent}      kinds: [{}]\n", kinds.join(", ")));
            }
        }
    }
    s
}

pub(super) fn median_abs(v: impl Iterator<Item = f64>) -> f64 {
    let mut v: Vec<f64> = v.map(f64::abs).collect();
    v.sort_by(|a, b| a.total_cmp(b));
    v.get(v.len() / 2).copied().unwrap_or(f64::NAN)
}

/// The source the hold-out figures name.
const HOLDOUT_SOURCE: &str = "servebench-holdout-ix-v1";

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HoldOutBy {
    Accelerator,
    Model,
}

/// The hold-out table: each held-out set in sample and held out, then all of them pooled.
fn hold_out(
    a: &CalibrateArgs,
    by: HoldOutBy,
    catalog: &Catalog,
    points: &[PublishedPoint],
) -> anyhow::Result<()> {
    use servebench_sim::holdout::{
        leave_one_accelerator_out, leave_one_model_out, pooled, Agreement,
    };
    let t0 = std::time::Instant::now();
    let sets = match by {
        HoldOutBy::Accelerator => leave_one_accelerator_out(catalog, points, a.requests_per_conc),
        HoldOutBy::Model => {
            let threads = a
                .threads
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
            leave_one_model_out(
                catalog,
                points,
                a.requests_per_conc,
                a.fit_requests_per_conc,
                threads,
            )
            .map_err(anyhow::Error::msg)?
        }
    };
    let what = match by {
        HoldOutBy::Accelerator => "accelerator",
        HoldOutBy::Model => "model",
    };
    println!("Leave one {what} out: each {what}'s published points predicted without its own fits (held out), beside the fitted simulator (in sample).");
    println!(
        "{:<18} {:>6} {:>22} {:>22} {:>22}",
        what, "points", "within ±35% in/held", "|tput err| med in/held", "|intv err| med in/held"
    );
    let row = |name: &str, i: &Agreement, h: &Agreement| {
        println!(
            "{name:<18} {:>6} {:>10.0}% / {:>6.0}% {:>10.0}% / {:>6.0}% {:>10.0}% / {:>6.0}%",
            i.points - i.not_simulated,
            100.0 * i.within_35,
            100.0 * h.within_35,
            100.0 * i.median_tput_error,
            100.0 * h.median_tput_error,
            100.0 * i.median_interactivity_error,
            100.0 * h.median_interactivity_error,
        )
    };
    for s in &sets {
        row(&s.held, &s.in_sample, &s.held_out);
    }
    let (i, h_out) = pooled(&sets);
    row("all held out", &i, &h_out);
    println!("Knobs of the held-out predictions:");
    for s in &sets {
        for k in &s.knobs {
            println!("  {}: {k}", s.held);
        }
    }
    eprintln!(
        "servebench calibrate: hold-out by {what} in {:.1} s",
        t0.elapsed().as_secs_f64()
    );
    if let Some(out) = &a.out {
        std::fs::write(
            out,
            serde_json::to_string_pretty(
                &serde_json::json!({"by": what, "sets": sets, "in_sample": i, "held_out": h_out}),
            )? + "\n",
        )
        .with_context(|| format!("writing {}", out.display()))?;
    }
    if let Some(file) = &a.holdout_file {
        write_holdout(file, by, catalog, points, (&i, &h_out))?;
    }
    Ok(())
}

/// The hold-out file with this run's pooled figures: the in-sample ones and the chosen
/// hold-out's, the other hold-out's section kept from the catalog's file.
fn write_holdout(
    file: &std::path::Path,
    by: HoldOutBy,
    catalog: &Catalog,
    points: &[PublishedPoint],
    (in_sample, held_out): (
        &servebench_sim::holdout::Agreement,
        &servebench_sim::holdout::Agreement,
    ),
) -> anyhow::Result<()> {
    use servebench_catalog::HoldoutErrors;
    let figures = |g: &servebench_sim::holdout::Agreement| g.figures(HOLDOUT_SOURCE);
    let mut models: Vec<String> = points.iter().map(|p| p.model.clone()).collect();
    models.sort();
    models.dedup();
    let mut h = catalog.holdout.clone().unwrap_or(HoldoutErrors {
        kind: "holdout".into(),
        against: String::new(),
        fitted_models: Vec::new(),
        in_sample: figures(in_sample),
        leave_one_accelerator_out: None,
        leave_one_model_out: None,
    });
    h.against = "InferenceMAX v1 dashboard data of 2025-10-25".into();
    h.fitted_models = models;
    h.in_sample = figures(in_sample);
    match by {
        HoldOutBy::Accelerator => h.leave_one_accelerator_out = Some(figures(held_out)),
        HoldOutBy::Model => h.leave_one_model_out = Some(figures(held_out)),
    }
    std::fs::write(file, h.yaml()).with_context(|| format!("writing {}", file.display()))?;
    eprintln!("wrote {}", file.display());
    Ok(())
}

pub fn run(a: CalibrateArgs) -> anyhow::Result<ExitCode> {
    let mut catalog = Catalog::builtin()?;
    if let Some(d) = &a.catalog {
        catalog.load_dir(d)?;
    }
    let (mut points, mut disagg) = load_v1_dashboard(&a.published)
        .with_context(|| format!("reading {}", a.published.display()))?;
    if !a.only.is_empty() {
        points.retain(|p| a.only.contains(&p.hw_key));
        disagg.retain(|p| a.only.contains(&p.hw_key));
    }
    let deployments = super::calibrate_disagg::Deployments::v1()?;
    if a.fit {
        fit_all(&a, &mut catalog, &points, (&deployments, &disagg))?;
    }
    if let Some(by) = a.hold_out {
        hold_out(&a, by, &catalog, &points)?;
        return Ok(ExitCode::SUCCESS);
    }
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
        "\n{} single-node published points: {} simulated in {:.1} s, {} not simulated.",
        points.len(),
        simulated,
        t0.elapsed().as_secs_f64(),
        cmp.len() - simulated,
    );
    let share = share_within(&cmp, 0.35);
    println!(
        "Within ±35% on both tok/s/GPU and tok/s/user: {} of {simulated} simulated points ({:.1}%).",
        (share * simulated as f64).round(),
        100.0 * share
    );
    let ords = orderings(&cmp);
    let (pairs, swapped) = ords
        .iter()
        .fold((0, 0), |(p, s), o| (p + o.pairs, s + o.swapped.len()));
    println!(
        "Ordering of deployments per workload (best tok/s/GPU, best tok/s/user; published values within {:.0}% are ties): {} of {pairs} ranked pairs in the published order.",
        100.0 * TIE_BAND,
        pairs - swapped
    );
    for o in ords.iter().filter(|o| !o.swapped.is_empty()) {
        let list: Vec<String> = o
            .swapped
            .iter()
            .map(|(x, y)| format!("{x} > {y}"))
            .collect();
        println!(
            "  {} {}/{} by {}: simulated the other way round: {}",
            o.model,
            o.isl,
            o.osl,
            o.metric,
            list.join(", ")
        );
    }
    let t1 = std::time::Instant::now();
    let disagg_cmp = deployments.compare(&catalog, &disagg, a.requests_per_conc);
    super::calibrate_disagg::print_report(&disagg_cmp);
    eprintln!(
        "servebench calibrate: {} disaggregated points in {:.1} s",
        disagg.len(),
        t1.elapsed().as_secs_f64()
    );
    let cmp: Vec<Comparison> = cmp.into_iter().chain(disagg_cmp).collect();
    if !disagg.is_empty() {
        let ords = orderings(&cmp);
        let (all, swapped) = ords
            .iter()
            .fold((0, 0), |(p, s), o| (p + o.pairs, s + o.swapped.len()));
        let gb: Vec<String> = ords
            .iter()
            .flat_map(|o| &o.swapped)
            .filter(|(x, y)| {
                let dis = |k: &str| {
                    disagg
                        .iter()
                        .any(|p| k.starts_with(&format!("{}/", p.hw_key)))
                };
                dis(x) || dis(y)
            })
            .map(|(x, y)| format!("{x} > {y}"))
            .collect();
        println!(
            "  Ordering with them among the single-node deployments: {} of {all} ranked pairs in the published order{}",
            all - swapped,
            if gb.is_empty() {
                String::new()
            } else {
                format!("; swapped with a disaggregated one: {}", gb.join(", "))
            }
        );
    }
    if let Some(out) = &a.out {
        std::fs::write(out, serde_json::to_string_pretty(&cmp)? + "\n")
            .with_context(|| format!("writing {}", out.display()))?;
    }
    let (single, disagg_cmp): (Vec<Comparison>, Vec<Comparison>) =
        cmp.into_iter().partition(|c| !c.published.disagg);
    for (file, cmp) in [(&a.csv, single), (&a.disagg_csv, disagg_cmp)] {
        if let Some(out) = file {
            std::fs::write(out, comparisons_csv(&cmp))
                .with_context(|| format!("writing {}", out.display()))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The notes (`fp8:  # 87 points, …`) of an engine's calibration file as
/// [`calibration_yaml`] writes it, by key.
fn earlier_notes(engine: &str, text: &str) -> Vec<(CalibrationKey, String)> {
    let (mut in_models, mut model, mut accel) = (false, None::<String>, String::new());
    let mut out = Vec::new();
    for line in text.lines() {
        let indent = (line.len() - line.trim_start().len()) / 2;
        let Some((name, rest)) = line.trim().split_once(':') else {
            continue;
        };
        // Under `models:` every level is one deeper (the model's name first).
        match (indent, in_models) {
            (0, _) => {
                in_models = name == "models";
                model = None;
            }
            (1, true) => model = Some(name.to_string()),
            (1, false) | (2, true) => accel = name.to_string(),
            (2, false) | (3, true) => {
                if let (Ok(p), Some(note)) =
                    (name.parse::<Precision>(), rest.trim().strip_prefix("# "))
                {
                    let key = (engine.to_string(), accel.clone(), p, model.clone());
                    out.push((key, note.to_string()));
                }
            }
            _ => {}
        }
    }
    out
}

/// Fits every engine × accelerator × precision of the published points, pooled over models,
/// then per model where several models share the combination (starting from the pooled knobs);
/// applies the fits to `catalog` and writes the engines' files when asked.
fn fit_all(
    a: &CalibrateArgs,
    catalog: &mut Catalog,
    points: &[PublishedPoint],
    (deployments, disagg): (&super::calibrate_disagg::Deployments, &[PublishedPoint]),
) -> anyhow::Result<()> {
    let mut pooled: BTreeMap<(String, String, Precision), Vec<String>> = BTreeMap::new();
    for p in points {
        if let Ok(prec) = p.precision.parse::<Precision>() {
            let models = pooled
                .entry((p.engine.clone(), p.accelerator.clone(), prec))
                .or_default();
            if !models.contains(&p.model) {
                models.push(p.model.clone());
            }
        }
    }
    let mut groups: Vec<(String, Option<String>, String, Precision)> = pooled
        .keys()
        .map(|(e, acc, p)| (e.clone(), None, acc.clone(), *p))
        .collect();
    for ((e, acc, p), models) in &pooled {
        if models.len() > 1 {
            for m in models {
                groups.push((e.clone(), Some(m.clone()), acc.clone(), *p));
            }
        }
    }
    let mut notes = BTreeMap::new();
    for (engine, model, accel, precision) in &groups {
        let t = std::time::Instant::now();
        let f = fit(
            catalog,
            engine,
            model.as_deref(),
            accel,
            *precision,
            points,
            a.fit_requests_per_conc,
        )
        .map_err(anyhow::Error::msg)?;
        let knobs: Vec<String> = f
            .knobs
            .figures()
            .iter()
            .map(|(n, v)| format!("{n} {:.4}", v.value))
            .collect();
        eprintln!(
            "fitted {engine} on {accel} {precision} ({}): {}; error {:.3} -> {:.3} ({} points, {:.1} s)",
            model.as_deref().unwrap_or("all models"),
            knobs.join(", "),
            f.objective_before,
            f.objective_after,
            f.points,
            t.elapsed().as_secs_f64()
        );
        let key = (engine.clone(), accel.clone(), *precision, model.clone());
        notes.insert(
            key.clone(),
            format!(
                "{} points, error {:.3} -> {:.3}",
                f.points, f.objective_before, f.objective_after
            ),
        );
        catalog.calibrations.insert(key, f.knobs);
    }
    // The disaggregated points fit their own accelerators' knobs (GB200: no single-node point
    // shares them), all-to-all latency included.
    for f in deployments.fit(catalog, disagg, a.fit_requests_per_conc)? {
        eprintln!(
            "fitted {} on {} {} (disaggregated): error {:.3} -> {:.3} ({} points)",
            f.engine, f.accelerator, f.precision, f.objective_before, f.objective_after, f.points
        );
        let key = (f.engine.clone(), f.accelerator.clone(), f.precision, None);
        notes.insert(
            key.clone(),
            format!(
                "{} disaggregated points, error {:.3} -> {:.3}",
                f.points, f.objective_before, f.objective_after
            ),
        );
        groups.push((f.engine.clone(), None, f.accelerator.clone(), f.precision));
        catalog.calibrations.insert(key, f.knobs);
    }
    if let Some(dir) = &a.write {
        std::fs::create_dir_all(dir)?;
        let mut engines: Vec<&str> = groups.iter().map(|g| g.0.as_str()).collect();
        engines.sort();
        engines.dedup();
        for e in engines {
            let path = dir.join(format!("{e}.yaml"));
            // Fits not redone now keep the note the file gave them.
            let mut notes = notes.clone();
            if let Ok(old) = std::fs::read_to_string(&path) {
                for (key, note) in earlier_notes(e, &old) {
                    notes.entry(key).or_insert(note);
                }
            }
            std::fs::write(&path, calibration_yaml(e, catalog, &notes))
                .with_context(|| format!("writing {}", path.display()))?;
            eprintln!("wrote {}", path.display());
        }
    }
    Ok(())
}
