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

/// A change of one run against the run before it, at one target interactivity.
#[derive(Debug, Clone, PartialEq)]
pub struct Movement {
    pub interactivity: f64,
    pub before: f64,
    pub after: f64,
    /// after / before − 1 (negative for a drop).
    pub change: f64,
    /// The relative run-to-run spread it had to exceed.
    pub noise: f64,
}

/// A drop of the latest run against the one before it.
pub type Regression = Movement;

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
    let Some(latest) = h.len().checked_sub(1) else {
        return Vec::new();
    };
    let mut v = movements_at(h, latest, targets, threshold);
    v.retain(|m| m.change < 0.0);
    v
}

/// How run `i` of a [`history`] moved against run `i − 1`, either way: the targets where the
/// change exceeds both `threshold` and the noise of the runs before `i` (the relative spread
/// of their values there, their standard deviation over their mean). None for the first run.
pub fn movements_at(
    h: &[(String, Vec<Option<f64>>)],
    i: usize,
    targets: &[f64],
    threshold: f64,
) -> Vec<Movement> {
    if i == 0 || i >= h.len() {
        return Vec::new();
    }
    let earlier = &h[..i];
    let mut out = Vec::new();
    for (k, &t) in targets.iter().enumerate() {
        let (Some(after), Some(before)) = (h[i].1[k], earlier[i - 1].1[k]) else {
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
        if change.abs() > threshold && change.abs() > noise {
            out.push(Movement {
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

    #[test]
    fn movements_go_either_way_against_the_noise_before_them() {
        let h = history(
            &[run("1", 1.0), run("2", 1.01), run("3", 1.2), run("4", 1.17)],
            &[50.0],
        );
        // Run 3: +18.8% over run 2, beyond 5% and the 0.7% spread of runs 1-2.
        let m = movements_at(&h, 2, &[50.0], 0.05);
        assert_eq!(m.len(), 1);
        assert!((m[0].change - (1.2 / 1.01 - 1.0)).abs() < 1e-12);
        assert!((m[0].before - 2020.0).abs() < 1e-9 && (m[0].after - 2400.0).abs() < 1e-9);
        // Run 4: −2.5% is under the threshold; run 1 has nothing before it.
        assert!(movements_at(&h, 3, &[50.0], 0.05).is_empty());
        assert!(movements_at(&h, 0, &[50.0], 0.05).is_empty());
        assert!(movements_at(&h, 9, &[50.0], 0.05).is_empty());
        // A rise is a movement, never a regression.
        assert!(regressions_in(&h[..3], &[50.0], 0.05).is_empty());
    }
}
