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
    // Sort by x best first, then y best first; one pass keeps each point better in y than
    // every point before it.
    let key = |v: f64, d: Better| match d {
        Better::Higher => -v,
        Better::Lower => v,
    };
    let mut idx: Vec<usize> = (0..points.len())
        .filter(|&i| points[i].0.is_finite() && points[i].1.is_finite())
        .collect();
    idx.sort_by(|&a, &b| {
        let (pa, pb) = (points[a], points[b]);
        key(pa.0, dx)
            .total_cmp(&key(pb.0, dx))
            .then(key(pa.1, dy).total_cmp(&key(pb.1, dy)))
            .then(a.cmp(&b))
    });
    let mut out: Vec<usize> = Vec::new();
    let mut best_y: Option<f64> = None;
    for i in idx {
        let y = points[i].1;
        match best_y {
            // Dominated (or a duplicate) unless strictly better in y than all before it.
            Some(b) if dy.at_least(b, y) => continue,
            _ => {
                best_y = Some(y);
                out.push(i);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use Better::{Higher, Lower};

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
