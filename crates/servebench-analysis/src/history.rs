//! How a config's curve moves between runs: its value at target interactivities per run, and
//! the regressions between two runs.
//!
//! A drop counts as a regression only when it exceeds both the threshold asked for and the
//! run-to-run noise: the relative spread of the config's earlier runs at that interactivity
//! (their standard deviation over their mean), so a config that always wobbles by 8% is not
//! flagged for a 6% dip.

use crate::interp::frontier_at;

/// One run of a config: its date (sortable) and its points (tok/s/user, tok/s/GPU).
#[derive(Debug, Clone)]
pub struct RunCurve {
    pub date: String,
    pub points: Vec<(f64, f64)>,
}

/// The frontier's tok/s/GPU at each target, per run (in date order).
pub fn history(runs: &[RunCurve], targets: &[f64]) -> Vec<(String, Vec<Option<f64>>)> {
    let mut v: Vec<&RunCurve> = runs.iter().collect();
    v.sort_by(|a, b| a.date.cmp(&b.date));
    v.into_iter()
        .map(|r| (r.date.clone(), frontier_at(&r.points, targets).1))
        .collect()
}

/// A drop of the latest run against the one before it, at one target interactivity.
#[derive(Debug, Clone, PartialEq)]
pub struct Regression {
    pub interactivity: f64,
    pub before: f64,
    pub after: f64,
    /// after / before − 1 (negative).
    pub change: f64,
    /// The relative run-to-run spread it had to exceed.
    pub noise: f64,
}

/// Regressions of the latest run against the previous one: drops larger than `threshold`
/// (e.g. 0.05) and than the earlier runs' noise at the same interactivity.
pub fn regressions(runs: &[RunCurve], targets: &[f64], threshold: f64) -> Vec<Regression> {
    regressions_in(&history(runs, targets), targets, threshold)
}

/// [`regressions`] of a [`history`] already read (one history, several thresholds).
pub fn regressions_in(
    h: &[(String, Vec<Option<f64>>)],
    targets: &[f64],
    threshold: f64,
) -> Vec<Regression> {
    if h.len() < 2 {
        return Vec::new();
    }
    let (earlier, latest) = h.split_at(h.len() - 1);
    let mut out = Vec::new();
    for (k, &t) in targets.iter().enumerate() {
        let (Some(after), Some(before)) = (latest[0].1[k], earlier[earlier.len() - 1].1[k]) else {
            continue;
        };
        let past: Vec<f64> = earlier.iter().filter_map(|r| r.1[k]).collect();
        let noise = if past.len() >= 2 {
            let mean = past.iter().sum::<f64>() / past.len() as f64;
            let var =
                past.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / (past.len() - 1) as f64;
            var.sqrt() / mean
        } else {
            0.0
        };
        let change = after / before - 1.0;
        if -change > threshold && -change > noise {
            out.push(Regression {
                interactivity: t,
                before,
                after,
                change,
                noise,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(date: &str, scale: f64) -> RunCurve {
        RunCurve {
            date: date.into(),
            points: vec![
                (20.0, 3000.0 * scale),
                (50.0, 2000.0 * scale),
                (100.0, 800.0 * scale),
            ],
        }
    }

    #[test]
    fn history_is_in_date_order_and_only_inside_the_range() {
        let h = history(
            &[run("2026-11-02", 1.1), run("2026-11-01", 1.0)],
            &[50.0, 150.0],
        );
        assert_eq!(h[0].0, "2026-11-01");
        assert_eq!(h[0].1, [Some(2000.0), None]);
        assert!((h[1].1[0].unwrap() - 2200.0).abs() < 1e-9);
    }

    #[test]
    fn a_drop_beyond_threshold_and_noise_is_a_regression() {
        // Stable history, then a 10% drop: flagged at every target.
        let runs = [run("1", 1.0), run("2", 1.01), run("3", 0.99), run("4", 0.9)];
        let r = regressions(&runs, &[20.0, 50.0], 0.05);
        assert_eq!(r.len(), 2);
        assert!((r[0].change - (0.9 / 0.99 - 1.0)).abs() < 1e-12);
        assert!(r[0].noise < 0.02);
        // The same drop in a config that always moves by ~10% is noise.
        let noisy = [run("1", 1.0), run("2", 1.2), run("3", 0.99), run("4", 0.9)];
        assert!(regressions(&noisy, &[50.0], 0.05).is_empty());
        // A small dip is under the threshold; an improvement is never a regression.
        assert!(regressions(&[run("1", 1.0), run("2", 0.97)], &[50.0], 0.05).is_empty());
        assert!(regressions(&[run("1", 1.0), run("2", 1.5)], &[50.0], 0.05).is_empty());
        assert!(regressions(&[run("1", 1.0)], &[50.0], 0.05).is_empty());
    }
}
