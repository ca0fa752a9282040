//! How far to trust the simulator where nothing published exists to fit: hold-out validation
//! on the published v1 points (`docs/sim.md`, "Hold-out error").
//!
//! - **Leave one accelerator out**: the accelerator's own fits are removed, so its knobs come
//!   by the family rule from the other accelerators' fits (which never saw its points), and
//!   its published points are predicted. That is the situation of B300, GB200 or GB300 today.
//! - **Leave one model out**: every fit is redone on the other models' points alone (from the
//!   engines' defaults), and the held-out model's points are predicted with those knobs. That
//!   is the situation of a model added to the catalog without published points.
//!
//! Each held-out set is reported beside the in-sample figures of the same points.

use crate::calibration::{compare, fit, share_within, Comparison, PublishedPoint};
use serde::Serialize;
use servebench_catalog::{Catalog, ErrorFigures, Figure, Precision};
use std::collections::BTreeMap;

/// Agreement of a set of simulated points with their published values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Agreement {
    pub points: usize,
    /// Points the simulator could not run.
    pub not_simulated: usize,
    /// Share with both tok/s/GPU and tok/s/user within ±35%.
    pub within_35: f64,
    /// Median |simulated / published − 1| of tok/s/GPU and of tok/s/user.
    pub median_tput_error: f64,
    pub median_interactivity_error: f64,
}

impl Agreement {
    /// As the catalog's hold-out file keeps it, every figure naming `source`.
    pub fn figures(&self, source: &str) -> ErrorFigures {
        let f = |v: f64| Figure {
            value: v,
            source: source.into(),
        };
        ErrorFigures {
            points: f((self.points - self.not_simulated) as f64),
            within_35: f(self.within_35),
            median_tput_error: f(self.median_tput_error),
            median_interactivity_error: f(self.median_interactivity_error),
        }
    }

    pub fn of(c: &[Comparison]) -> Agreement {
        let ok: Vec<&Comparison> = c.iter().filter(|x| x.error.is_none()).collect();
        let median = |f: fn(&Comparison) -> f64| {
            let mut v: Vec<f64> = ok.iter().map(|x| f(x).abs()).collect();
            v.sort_by(f64::total_cmp);
            match v.len() {
                0 => f64::NAN,
                n if n % 2 == 1 => v[n / 2],
                n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
            }
        };
        Agreement {
            points: c.len(),
            not_simulated: c.len() - ok.len(),
            within_35: share_within(c, 0.35),
            median_tput_error: median(|x| x.tput_error),
            median_interactivity_error: median(|x| x.interactivity_error),
        }
    }
}

/// One held-out set: its points predicted in sample and held out.
#[derive(Debug, Clone, Serialize)]
pub struct HeldOut {
    /// The accelerator or model left out.
    pub held: String,
    pub in_sample: Agreement,
    pub held_out: Agreement,
    /// Where the held-out predictions' knobs came from, per engine and precision.
    pub knobs: Vec<String>,
    /// The comparisons behind the two (to pool sets exactly).
    #[serde(skip)]
    pub comparisons: (Vec<Comparison>, Vec<Comparison>),
}

impl HeldOut {
    fn new(
        held: String,
        in_sample: Vec<Comparison>,
        held_out: Vec<Comparison>,
        knobs: Vec<String>,
    ) -> HeldOut {
        HeldOut {
            held,
            in_sample: Agreement::of(&in_sample),
            held_out: Agreement::of(&held_out),
            knobs,
            comparisons: (in_sample, held_out),
        }
    }
}

/// The points of each distinct value of `key`, in order.
fn by(
    points: &[PublishedPoint],
    key: fn(&PublishedPoint) -> &str,
) -> BTreeMap<String, Vec<PublishedPoint>> {
    let mut m: BTreeMap<String, Vec<PublishedPoint>> = BTreeMap::new();
    for p in points {
        m.entry(key(p).to_string()).or_default().push(p.clone());
    }
    m
}

/// Where `catalog` takes the knobs of each engine × precision of `points` from.
fn origins(catalog: &Catalog, points: &[PublishedPoint]) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    for p in points {
        let Ok(precision) = p.precision.parse::<Precision>() else {
            continue;
        };
        let line = match catalog.engine_knobs(&p.engine, Some(&p.model), &p.accelerator, precision)
        {
            Ok((_, origin)) => format!("{} {} {precision}: {origin}", p.engine, p.accelerator),
            Err(e) => format!("{} {}: {e}", p.engine, p.accelerator),
        };
        if !seen.contains(&line) {
            seen.push(line);
        }
    }
    seen
}

/// Leave one accelerator out, for each accelerator of `points`.
pub fn leave_one_accelerator_out(
    catalog: &Catalog,
    points: &[PublishedPoint],
    requests_per_conc: usize,
) -> Vec<HeldOut> {
    by(points, |p| &p.accelerator)
        .into_iter()
        .map(|(accel, pts)| {
            let mut without = catalog.clone();
            without.calibrations.retain(|(_, a, _, _), _| *a != accel);
            HeldOut::new(
                accel,
                compare(catalog, &pts, requests_per_conc),
                compare(&without, &pts, requests_per_conc),
                origins(&without, &pts),
            )
        })
        .collect()
}

/// The pooled fits of every engine × accelerator × precision of `points`, each from the
/// engine's defaults (no fit of `catalog` is a starting point), `threads` at a time.
pub fn refit_pooled(
    catalog: &Catalog,
    points: &[PublishedPoint],
    requests_per_conc: usize,
    threads: usize,
) -> Result<Catalog, String> {
    let mut blank = catalog.clone();
    blank.calibrations.clear();
    let mut combos: Vec<(String, String, Precision)> = points
        .iter()
        .filter_map(|p| {
            Some((
                p.engine.clone(),
                p.accelerator.clone(),
                p.precision.parse().ok()?,
            ))
        })
        .collect();
    combos.sort();
    combos.dedup();
    let next = std::sync::atomic::AtomicUsize::new(0);
    let fits = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some((e, a, p)) = combos.get(i) else {
                    break;
                };
                let f = fit(&blank, e, None, a, *p, points, requests_per_conc);
                fits.lock().unwrap_or_else(|p| p.into_inner()).push(f);
            });
        }
    });
    let mut refit = blank;
    for f in fits.into_inner().unwrap_or_else(|p| p.into_inner()) {
        let f = f?;
        refit
            .calibrations
            .insert((f.engine, f.accelerator, f.precision, None), f.knobs);
    }
    Ok(refit)
}

/// Leave one model out, for each model of `points`: every fit redone without its points.
pub fn leave_one_model_out(
    catalog: &Catalog,
    points: &[PublishedPoint],
    requests_per_conc: usize,
    fit_requests_per_conc: usize,
    threads: usize,
) -> Result<Vec<HeldOut>, String> {
    let mut out = Vec::new();
    for (model, pts) in by(points, |p| &p.model) {
        let others: Vec<PublishedPoint> = points
            .iter()
            .filter(|p| p.model != model)
            .cloned()
            .collect();
        let without = refit_pooled(catalog, &others, fit_requests_per_conc, threads)?;
        out.push(HeldOut::new(
            model,
            compare(catalog, &pts, requests_per_conc),
            compare(&without, &pts, requests_per_conc),
            origins(&without, &pts),
        ));
    }
    Ok(out)
}

/// The held-out sets together, every point counted once: (in sample, held out).
pub fn pooled(sets: &[HeldOut]) -> (Agreement, Agreement) {
    let all = |f: fn(&HeldOut) -> &Vec<Comparison>| -> Vec<Comparison> {
        sets.iter().flat_map(|s| f(s).iter().cloned()).collect()
    };
    (
        Agreement::of(&all(|s| &s.comparisons.0)),
        Agreement::of(&all(|s| &s.comparisons.1)),
    )
}
