//! Pareto frontiers.
//!
//! A point dominates another when it is at least as good on both metrics and better on one.
//! The frontier is every point no other point dominates, sorted by the first metric (best
//! first). Exact duplicates keep their first occurrence; a single point is its own frontier;
//! non-finite values never enter.

/// Whether larger or smaller values of a metric are better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    Higher,
    Lower,
}

impl Better {
    /// `a` is at least as good as `b`.
    fn at_least(self, a: f64, b: f64) -> bool {
        match self {
            Better::Higher => a >= b,
            Better::Lower => a <= b,
        }
    }
}

/// Indices of `points` on the frontier for metrics (x, y) with directions `dx`, `dy`, sorted by
/// x from best to worst (so y goes from worst to best).
pub fn frontier(points: &[(f64, f64)], dx: Better, dy: Better) -> Vec<usize> {
    let (xs, ys): (Vec<f64>, Vec<f64>) = points.iter().copied().unzip();
    ByX::new(&xs, dx).frontier(&ys, dy)
}

/// A sign that makes "best first" ascending.
fn key(v: f64, d: Better) -> f64 {
    match d {
        Better::Higher => -v,
        Better::Lower => v,
    }
}

/// Points in order of one metric (x), best first, ties by index, non-finite ones left out:
/// the frontiers of several y metrics against one x share this one sort.
pub struct ByX {
    /// (x key, index), sorted.
    order: Vec<(f64, usize)>,
}

impl ByX {
    pub fn new(xs: &[f64], dx: Better) -> ByX {
        let mut order: Vec<(f64, usize)> = xs
            .iter()
            .enumerate()
            .filter(|(_, x)| x.is_finite())
            .map(|(i, &x)| (key(x, dx), i))
            .collect();
        order.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        ByX { order }
    }

    /// The frontier of `ys` (indexed as the x values were) against x: sorted by x best first
    /// then y best first, one pass keeps each point better in y than every point before it.
    pub fn frontier(&self, ys: &[f64], dy: Better) -> Vec<usize> {
        let mut out: Vec<usize> = Vec::new();
        let mut best_y: Option<f64> = None;
        let mut keep = |i: usize| {
            let y = ys[i];
            match best_y {
                // Dominated (or a duplicate) unless strictly better in y than all before it.
                Some(b) if dy.at_least(b, y) => {}
                _ => {
                    best_y = Some(y);
                    out.push(i);
                }
            }
        };
        let mut tied: Vec<(f64, usize)> = Vec::new();
        for group in self.order.chunk_by(|a, b| a.0.total_cmp(&b.0).is_eq()) {
            match group {
                [(_, i)] if ys[*i].is_finite() => keep(*i),
                [_] => {}
                _ => {
                    // Equal x: best y first, then by index.
                    tied.clear();
                    tied.extend(
                        group
                            .iter()
                            .filter(|(_, i)| ys[*i].is_finite())
                            .map(|&(_, i)| (key(ys[i], dy), i)),
                    );
                    tied.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                    tied.iter().for_each(|&(_, i)| keep(i));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Better::{Higher, Lower};

    /// The frontier by its definition: every finite point no other dominates (nor precedes as
    /// its exact duplicate), by x best first.
    fn brute_force(p: &[(f64, f64)], dx: Better, dy: Better) -> Vec<usize> {
        let ok = |i: usize| p[i].0.is_finite() && p[i].1.is_finite();
        let mut out: Vec<usize> = (0..p.len())
            .filter(|&i| ok(i))
            .filter(|&i| {
                !(0..p.len()).filter(|&j| ok(j) && j != i).any(|j| {
                    let (a, b) = (p[j], p[i]);
                    let same = a == b;
                    let at_least = dx.at_least(a.0, b.0) && dy.at_least(a.1, b.1);
                    (at_least && !same) || (same && j < i)
                })
            })
            .collect();
        out.sort_by(|&a, &b| key(p[a].0, dx).total_cmp(&key(p[b].0, dx)));
        out
    }

    #[test]
    fn the_frontier_is_every_undominated_point_whatever_the_ties() {
        // Values from a small set, so many points tie in x, in y or in both; some not finite.
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move |k: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % k
        };
        for round in 0..500 {
            let n = 1 + next(40) as usize;
            let v = |r: u64| match r {
                0 => f64::NAN,
                1 => f64::INFINITY,
                r => r as f64 * 0.5,
            };
            let pts: Vec<(f64, f64)> = (0..n).map(|_| (v(next(9)), v(next(9)))).collect();
            for (dx, dy) in [
                (Higher, Higher),
                (Higher, Lower),
                (Lower, Higher),
                (Lower, Lower),
            ] {
                assert_eq!(
                    frontier(&pts, dx, dy),
                    brute_force(&pts, dx, dy),
                    "round {round}: {pts:?} {dx:?} {dy:?}"
                );
            }
        }
    }

    #[test]
    fn throughput_against_interactivity_both_higher() {
        // (tok/s/user, tok/s/GPU)
        let p = [
            (100.0, 500.0),
            (80.0, 900.0),
            (90.0, 700.0),
            (85.0, 650.0), // dominated by (90, 700)
            (40.0, 1500.0),
            (40.0, 1400.0), // same x, worse y
            (30.0, 1500.0), // same y, worse x
            (100.0, 500.0), // duplicate of the first
        ];
        assert_eq!(frontier(&p, Higher, Higher), [0, 2, 1, 4]);
    }

    #[test]
    fn every_direction() {
        let p = [(1.0, 1.0), (2.0, 2.0), (1.0, 2.0), (2.0, 1.0)];
        assert_eq!(frontier(&p, Higher, Higher), [1]);
        assert_eq!(frontier(&p, Lower, Lower), [0]);
        assert_eq!(frontier(&p, Higher, Lower), [3]);
        assert_eq!(frontier(&p, Lower, Higher), [2]);
        // A trade-off keeps both ends, ordered by x from best.
        let t = [(1.0, 5.0), (3.0, 2.0), (2.0, 2.0)];
        assert_eq!(frontier(&t, Lower, Higher), [0]);
        assert_eq!(frontier(&t, Higher, Higher), [1, 0]);
        assert_eq!(
            frontier(&t, Lower, Lower),
            [0, 2],
            "(3, 2) is dominated by (2, 2)"
        );
    }

    #[test]
    fn edge_cases() {
        assert_eq!(frontier(&[], Higher, Higher), Vec::<usize>::new());
        assert_eq!(frontier(&[(3.0, 4.0)], Higher, Lower), [0]);
        assert_eq!(
            frontier(&[(f64::NAN, 1.0), (1.0, 1.0)], Higher, Higher),
            [1]
        );
        assert_eq!(frontier(&[(2.0, 2.0), (2.0, 2.0)], Higher, Higher), [0]);
    }
}
