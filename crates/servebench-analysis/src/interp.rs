//! Values along a frontier at a target interactivity.
//!
//! The frontier's points (interactivity x, metric y) are joined by Steffen's monotone cubic
//! (M. Steffen, "A simple method for monotonic interpolation in one dimension", A&A 239, 1990),
//! as InferenceX's dashboard does: it passes through every point, never overshoots between two
//! of them, and is not extended beyond the measured range (`None` there). Metrics that are
//! reciprocal to throughput ($/M, J/token) are derived from the interpolated throughput, not
//! interpolated themselves.

/// A monotone cubic through points sorted by strictly increasing x.
#[derive(Debug, Clone)]
pub struct Steffen {
    x: Vec<f64>,
    y: Vec<f64>,
    d: Vec<f64>,
}

fn sign(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

impl Steffen {
    /// Through `points` (any order; points with equal x keep the first). `None` without points.
    pub fn new(points: &[(f64, f64)]) -> Option<Steffen> {
        let mut p: Vec<(f64, f64)> = points
            .iter()
            .copied()
            .filter(|(x, y)| x.is_finite() && y.is_finite())
            .collect();
        p.sort_by(|a, b| a.0.total_cmp(&b.0));
        p.dedup_by(|b, a| a.0 == b.0);
        if p.is_empty() {
            return None;
        }
        let (x, y): (Vec<f64>, Vec<f64>) = p.into_iter().unzip();
        let n = x.len();
        let mut d = vec![0.0; n];
        if n >= 2 {
            let h: Vec<f64> = (0..n - 1).map(|i| x[i + 1] - x[i]).collect();
            let s: Vec<f64> = (0..n - 1).map(|i| (y[i + 1] - y[i]) / h[i]).collect();
            for i in 1..n - 1 {
                let p = (s[i - 1] * h[i] + s[i] * h[i - 1]) / (h[i - 1] + h[i]);
                d[i] = (sign(s[i - 1]) + sign(s[i]))
                    * s[i - 1].abs().min(s[i].abs()).min(0.5 * p.abs());
            }
            let end = |s0: f64, s1: f64, h0: f64, h1: f64| {
                let p = s0 * (1.0 + h0 / (h0 + h1)) - s1 * h0 / (h0 + h1);
                if p * s0 <= 0.0 {
                    0.0
                } else if p.abs() > 2.0 * s0.abs() {
                    2.0 * s0
                } else {
                    p
                }
            };
            if n == 2 {
                d[0] = s[0];
                d[1] = s[0];
            } else {
                d[0] = end(s[0], s[1], h[0], h[1]);
                d[n - 1] = end(s[n - 2], s[n - 3], h[n - 2], h[n - 3]);
            }
        }
        Some(Steffen { x, y, d })
    }

    /// The value at `x`, or `None` outside the measured range.
    pub fn at(&self, x: f64) -> Option<f64> {
        let n = self.x.len();
        if !(x >= self.x[0] && x <= self.x[n - 1]) {
            return None;
        }
        if n == 1 {
            return Some(self.y[0]);
        }
        let i = match self.x.partition_point(|&v| v <= x) {
            0 => 0,
            k if k >= n => n - 2,
            k => k - 1,
        };
        let h = self.x[i + 1] - self.x[i];
        let t = (x - self.x[i]) / h;
        let (y0, y1, d0, d1) = (self.y[i], self.y[i + 1], self.d[i] * h, self.d[i + 1] * h);
        // Cubic Hermite basis.
        let (t2, t3) = (t * t, t * t * t);
        Some(
            (2.0 * t3 - 3.0 * t2 + 1.0) * y0
                + (t3 - 2.0 * t2 + t) * d0
                + (-2.0 * t3 + 3.0 * t2) * y1
                + (t3 - t2) * d1,
        )
    }

    /// The measured range of x.
    pub fn range(&self) -> (f64, f64) {
        (self.x[0], self.x[self.x.len() - 1])
    }
}

/// A against B at the same interactivity: the ratio of their tok/s/GPU (A / B) and of their
/// $/M (A / B, the reciprocal scaled by their prices). `None` where either curve has no
/// measurement.
pub fn compare_at(
    a: &Steffen,
    b: &Steffen,
    interactivity: f64,
    a_dollars_per_gpu_hour: f64,
    b_dollars_per_gpu_hour: f64,
) -> Option<(f64, f64)> {
    let (ta, tb) = (a.at(interactivity)?, b.at(interactivity)?);
    let cost = |d: f64, t: f64| crate::economics::dollars_per_million_tokens(d, t);
    Some((
        ta / tb,
        cost(a_dollars_per_gpu_hour, ta) / cost(b_dollars_per_gpu_hour, tb),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passes_through_points_and_never_leaves_the_range() {
        let s = Steffen::new(&[
            (10.0, 3000.0),
            (50.0, 1500.0),
            (30.0, 2500.0),
            (90.0, 400.0),
        ])
        .unwrap();
        for (x, y) in [
            (10.0, 3000.0),
            (30.0, 2500.0),
            (50.0, 1500.0),
            (90.0, 400.0),
        ] {
            assert!((s.at(x).unwrap() - y).abs() < 1e-9);
        }
        assert_eq!(s.at(9.99), None);
        assert_eq!(s.at(90.01), None);
        assert_eq!(s.range(), (10.0, 90.0));
        // Monotone data stays monotone and inside each interval's values.
        let mut last = f64::INFINITY;
        for k in 0..=800 {
            let x = 10.0 + 0.1 * k as f64;
            let v = s.at(x).unwrap();
            assert!(v <= last + 1e-9, "decreasing at {x}");
            assert!((400.0..=3000.0).contains(&v));
            last = v;
        }
    }

    #[test]
    fn no_overshoot_at_a_flat_step_and_linear_for_two_points() {
        let s = Steffen::new(&[(0.0, 0.0), (1.0, 0.0), (2.0, 1.0), (3.0, 1.0)]).unwrap();
        for k in 0..=300 {
            let v = s.at(k as f64 / 100.0).unwrap();
            assert!((-1e-12..=1.0 + 1e-12).contains(&v), "{v}");
        }
        let l = Steffen::new(&[(1.0, 10.0), (3.0, 30.0)]).unwrap();
        assert!((l.at(2.0).unwrap() - 20.0).abs() < 1e-12);
        let one = Steffen::new(&[(5.0, 7.0)]).unwrap();
        assert_eq!((one.at(5.0), one.at(5.1)), (Some(7.0), None));
        assert!(Steffen::new(&[]).is_none());
    }

    #[test]
    fn comparisons_at_equal_interactivity() {
        let a = Steffen::new(&[(20.0, 4000.0), (60.0, 2000.0)]).unwrap();
        let b = Steffen::new(&[(20.0, 2000.0), (60.0, 1000.0)]).unwrap();
        let (tput, cost) = compare_at(&a, &b, 40.0, 2.0, 1.0).unwrap();
        assert!((tput - 2.0).abs() < 1e-12, "twice the tok/s/GPU");
        assert!(
            (cost - 1.0).abs() < 1e-12,
            "at twice the price: the same $/M"
        );
        assert_eq!(compare_at(&a, &b, 70.0, 2.0, 1.0), None);
    }
}

/// One curve read at target interactivities: its tok/s/GPU-vs-tok/s/user frontier (indices
/// into `points`, as (tok/s/user, tok/s/GPU)), and the frontier's tok/s/GPU at each target
/// (`None` outside its measured range).
pub fn frontier_at(points: &[(f64, f64)], targets: &[f64]) -> (Vec<usize>, Vec<Option<f64>>) {
    use crate::pareto::{frontier, Better};
    let f = frontier(points, Better::Higher, Better::Higher);
    let spline = Steffen::new(&f.iter().map(|&i| points[i]).collect::<Vec<_>>());
    let values = targets
        .iter()
        .map(|&t| spline.as_ref().and_then(|s| s.at(t)))
        .collect();
    (f, values)
}

#[cfg(test)]
mod frontier_tests {
    use super::*;

    #[test]
    fn dominated_points_do_not_bend_the_curve() {
        // (tok/s/user, tok/s/GPU): (60, 900) is dominated by (70, 1000).
        let pts = [
            (100.0, 500.0),
            (70.0, 1000.0),
            (60.0, 900.0),
            (30.0, 2000.0),
        ];
        let (f, at) = frontier_at(&pts, &[70.0, 100.0, 20.0]);
        assert_eq!(f, [0, 1, 3]);
        assert_eq!(at[0], Some(1000.0));
        assert_eq!(at[1], Some(500.0));
        assert_eq!(at[2], None, "below the measured range");
    }
}
