//! A latency distribution given by its percentiles (index `i`: the `i`-th percentile, 0 the
//! minimum, 100 the maximum), as bench results keep it: its CDF, and a histogram of it.

use serde::Serialize;

/// The share of requests at or below `x`: the CDF through the percentiles, linear between
/// two distinct ones (a run of equal percentiles is a step).
pub fn cdf(percentiles: &[f64], x: f64) -> f64 {
    let n = percentiles.len();
    if n < 2 || x < percentiles[0] {
        return 0.0;
    }
    if x >= percentiles[n - 1] {
        return 1.0;
    }
    let step = 1.0 / (n - 1) as f64;
    // The last percentile at or below x, then the way to the next.
    let i = percentiles.partition_point(|&q| q <= x) - 1;
    let (lo, hi) = (percentiles[i], percentiles[i + 1]);
    let within = if hi > lo { (x - lo) / (hi - lo) } else { 0.0 };
    (i as f64 + within) * step
}

/// Equal-width bins from the minimum to the maximum, with the share of requests in each.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Histogram {
    /// `bins + 1` edges.
    pub edges: Vec<f64>,
    /// The share of requests in each bin (they sum to 1).
    pub shares: Vec<f64>,
}

/// The histogram of a distribution given by its percentiles, in `bins` bins; `None` for fewer
/// than two percentiles, a non-finite or decreasing one, or no spread (all requests alike).
pub fn histogram(percentiles: &[f64], bins: usize) -> Option<Histogram> {
    let (&lo, &hi) = (percentiles.first()?, percentiles.last()?);
    let ordered = percentiles.windows(2).all(|w| w[0] <= w[1]);
    if percentiles.len() < 2
        || bins == 0
        || !ordered
        || !(lo.is_finite() && hi.is_finite())
        || hi <= lo
    {
        return None;
    }
    let width = (hi - lo) / bins as f64;
    let edges: Vec<f64> = (0..=bins)
        .map(|k| if k == bins { hi } else { lo + width * k as f64 })
        .collect();
    // The share at or below the first edge (the minimum's own) belongs to the first bin.
    let shares = edges
        .windows(2)
        .enumerate()
        .map(|(k, e)| {
            let below = if k == 0 { 0.0 } else { cdf(percentiles, e[0]) };
            cdf(percentiles, e[1]) - below
        })
        .collect();
    Some(Histogram { edges, shares })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_uniform_distribution_has_equal_bins() {
        // Percentiles 0..=100 of a uniform distribution on [0, 100].
        let q: Vec<f64> = (0..=100).map(f64::from).collect();
        assert_eq!(cdf(&q, 37.5), 0.375);
        assert_eq!((cdf(&q, -1.0), cdf(&q, 100.0)), (0.0, 1.0));
        let h = histogram(&q, 10).unwrap();
        assert_eq!(h.edges.len(), 11);
        assert_eq!((h.edges[0], h.edges[10]), (0.0, 100.0));
        for s in &h.shares {
            assert!((s - 0.1).abs() < 1e-12, "{:?}", h.shares);
        }
    }

    #[test]
    fn a_step_puts_its_mass_in_one_bin() {
        // Half the requests at 10 ms exactly, the other half spread over 20..30 ms.
        let q: Vec<f64> = (0..=100)
            .map(|i| {
                if i <= 50 {
                    10.0
                } else {
                    20.0 + (i - 50) as f64 / 5.0
                }
            })
            .collect();
        assert_eq!(cdf(&q, 10.0), 0.5);
        // Between the 50th (10 ms) and the 51st percentile (20.2 ms) the CDF climbs its 1%
        // linearly: half-way at 15.1 ms.
        assert!((cdf(&q, 15.1) - 0.505).abs() < 1e-12);
        let h = histogram(&q, 4).unwrap();
        // Bins of 5 ms from 10 to 30: [10,15] holds the step, [15,20] next to nothing.
        assert_eq!(h.edges, [10.0, 15.0, 20.0, 25.0, 30.0]);
        assert!((h.shares[0] - 0.5).abs() < 0.01, "{:?}", h.shares);
        assert!(h.shares[1].abs() < 0.011, "{:?}", h.shares);
        assert!((h.shares.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!((h.shares[2] + h.shares[3] - 0.5).abs() < 0.011);
    }

    #[test]
    fn no_histogram_without_a_spread_or_an_order() {
        assert_eq!(histogram(&[5.0; 101], 10), None);
        assert_eq!(histogram(&[1.0], 10), None);
        assert_eq!(histogram(&[2.0, 1.0], 10), None);
        assert_eq!(histogram(&[1.0, f64::INFINITY], 10), None);
    }
}
