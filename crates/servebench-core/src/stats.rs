//! Summary statistics with the exact semantics of vLLM's and InferenceX's `calculate_metrics`:
//! population standard deviation (numpy's default `ddof=0`) and percentiles by linear
//! interpolation between closest ranks (numpy's default `method="linear"`).
//! An empty sample summarises to zeros, as those tools treat an empty list as `[0]`.

use serde::{Deserialize, Serialize};

/// The percentiles servebench reports for every latency metric.
pub const PERCENTILES: [f64; 3] = [90.0, 99.0, 99.9];

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Summary {
    pub count: u64,
    pub mean: f64,
    pub median: f64,
    pub std: f64,
    pub min: f64,
    pub max: f64,
    pub p90: f64,
    pub p99: f64,
    #[serde(rename = "p99.9")]
    pub p999: f64,
}

/// numpy `percentile(a, q, method="linear")` over an ascending-sorted slice.
pub fn percentile_sorted(sorted: &[f64], q: f64) -> f64 {
    match sorted.len() {
        0 => 0.0,
        1 => sorted[0],
        n => {
            let pos = q / 100.0 * (n - 1) as f64;
            let lo = pos.floor() as usize;
            let hi = (lo + 1).min(n - 1);
            let frac = pos - lo as f64;
            sorted[lo] + (sorted[hi] - sorted[lo]) * frac
        }
    }
}

impl Summary {
    /// Summarise a sample (sorted in place).
    pub fn of(values: &mut [f64]) -> Summary {
        if values.is_empty() {
            return Summary::default();
        }
        values.sort_unstable_by(|a, b| a.total_cmp(b));
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        Summary {
            count: values.len() as u64,
            mean,
            median: percentile_sorted(values, 50.0),
            std: var.sqrt(),
            min: values[0],
            max: values[values.len() - 1],
            p90: percentile_sorted(values, 90.0),
            p99: percentile_sorted(values, 99.0),
            p999: percentile_sorted(values, 99.9),
        }
    }

    /// Summarise a copy of a sample.
    pub fn of_slice(values: &[f64]) -> Summary {
        Summary::of(&mut values.to_vec())
    }

    /// Multiply every location statistic by `k` (unit conversion); count is kept.
    pub fn scaled(self, k: f64) -> Summary {
        Summary {
            count: self.count,
            mean: self.mean * k,
            median: self.median * k,
            std: self.std * k,
            min: self.min * k,
            max: self.max * k,
            p90: self.p90 * k,
            p99: self.p99 * k,
            p999: self.p999 * k,
        }
    }
}

/// Exact distribution of integer samples (e.g. inter-token gaps in microseconds) kept as
/// value → count, so millions of samples summarise without a second copy of them all.
/// Percentiles are exactly those of the expanded, sorted sample.
#[derive(Debug, Default, Clone)]
pub struct CountDistribution {
    counts: rustc_hash::FxHashMap<u32, u64>,
    n: u64,
    sum: u128,
    sum_sq: u128,
}

impl CountDistribution {
    pub fn new() -> Self {
        Self::default()
    }

    #[inline]
    pub fn add(&mut self, v: u32) {
        *self.counts.entry(v).or_insert(0) += 1;
        self.n += 1;
        self.sum += v as u128;
        self.sum_sq += (v as u128) * (v as u128);
    }

    /// `c` samples of value `v` at once.
    #[inline]
    pub fn add_count(&mut self, v: u32, c: u64) {
        *self.counts.entry(v).or_insert(0) += c;
        self.n += c;
        self.sum += v as u128 * c as u128;
        self.sum_sq += (v as u128) * (v as u128) * c as u128;
    }

    pub fn extend(&mut self, vs: &[u32]) {
        // Runs of one value (steady decode steps) cost one map update each.
        for run in vs.chunk_by(|a, b| a == b) {
            let (v, c) = (run[0], run.len() as u64);
            *self.counts.entry(v).or_insert(0) += c;
            self.n += c;
            self.sum += v as u128 * c as u128;
            self.sum_sq += (v as u128) * (v as u128) * c as u128;
        }
    }

    pub fn merge(&mut self, other: &CountDistribution) {
        for (&v, &c) in &other.counts {
            *self.counts.entry(v).or_insert(0) += c;
        }
        self.n += other.n;
        self.sum += other.sum;
        self.sum_sq += other.sum_sq;
    }

    pub fn len(&self) -> u64 {
        self.n
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Population mean and standard deviation, from exact integer moments (no cancellation).
    pub fn mean_std(&self) -> (f64, f64) {
        if self.n == 0 {
            return (0.0, 0.0);
        }
        let n = self.n as f64;
        let mean = self.sum as f64 / n;
        let var = (self.sum_sq as f64 - (self.sum as f64) * (self.sum as f64) / n) / n;
        (mean, var.max(0.0).sqrt())
    }

    /// Percentiles `qs` (0-100, numpy's linear interpolation) of the sample; 0 when empty.
    pub fn percentiles(&self, qs: &[f64]) -> Vec<f64> {
        if self.n == 0 {
            return vec![0.0; qs.len()];
        }
        let mut sorted: Vec<(u32, u64)> = self.counts.iter().map(|(&v, &c)| (v, c)).collect();
        sorted.sort_unstable();
        // k-th smallest value (0-based).
        let kth = |k: u64| -> f64 {
            let mut seen = 0u64;
            for &(v, c) in &sorted {
                seen += c;
                if k < seen {
                    return v as f64;
                }
            }
            sorted[sorted.len() - 1].0 as f64
        };
        interpolated(qs, self.n, kth)
    }

    /// Summary of the sample, each value multiplied by `unit` (e.g. 1e-3 for µs → ms).
    pub fn summary(&self, unit: f64) -> Summary {
        if self.n == 0 {
            return Summary::default();
        }
        summary_of(self.n, self.mean_std(), |qs| self.percentiles(qs)).scaled(unit)
    }
}

/// numpy's linear interpolation between the order statistics `kth` (0-based) of a sample of
/// `n > 0` values, at percentiles `qs`.
fn interpolated(qs: &[f64], n: u64, kth: impl Fn(u64) -> f64) -> Vec<f64> {
    qs.iter()
        .map(|q| {
            let pos = q / 100.0 * (n - 1) as f64;
            let lo = pos.floor() as u64;
            let hi = (lo + 1).min(n - 1);
            let (a, b) = (kth(lo), kth(hi));
            a + (b - a) * (pos - lo as f64)
        })
        .collect()
}

/// The summary of a non-empty sample of `n` values from its moments and its percentiles.
fn summary_of(n: u64, (mean, std): (f64, f64), mut p: impl FnMut(&[f64]) -> Vec<f64>) -> Summary {
    let p = p(&[0.0, 50.0, 90.0, 99.0, 99.9, 100.0]);
    Summary {
        count: n,
        mean,
        median: p[1],
        std,
        min: p[0],
        max: p[5],
        p90: p[2],
        p99: p[3],
        p999: p[4],
    }
}

/// A sample of non-negative values to summarise once complete: [`Vec<f64>`] keeps every value
/// (exact statistics, memory per value), [`Sketch`] keeps a bounded histogram (exact count,
/// mean, std, min and max; percentiles within [`SKETCH_RELATIVE_ERROR`]).
pub trait Sample: Default + Send {
    /// Keeps every value (exact percentiles).
    const EXACT: bool;
    fn add(&mut self, v: f64);
    fn merge(&mut self, other: Self);
    fn len(&self) -> u64;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Population mean and standard deviation; zeros when empty.
    fn mean_std(&self) -> (f64, f64);
    /// Percentiles `qs` (0-100, numpy's linear interpolation); zeros when empty.
    fn percentiles(&mut self, qs: &[f64]) -> Vec<f64>;

    /// The servebench summary of the sample.
    fn summary(&mut self) -> Summary {
        if self.is_empty() {
            return Summary::default();
        }
        let (n, moments) = (self.len(), self.mean_std());
        summary_of(n, moments, |qs| self.percentiles(qs))
    }
}

impl Sample for Vec<f64> {
    const EXACT: bool = true;
    fn add(&mut self, v: f64) {
        self.push(v);
    }

    fn merge(&mut self, mut other: Self) {
        self.append(&mut other);
    }

    fn len(&self) -> u64 {
        <[f64]>::len(self) as u64
    }

    fn mean_std(&self) -> (f64, f64) {
        if <[f64]>::is_empty(self) {
            return (0.0, 0.0);
        }
        let n = <[f64]>::len(self) as f64;
        let mean = self.iter().sum::<f64>() / n;
        let var = self.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / n;
        (mean, var.sqrt())
    }

    fn percentiles(&mut self, qs: &[f64]) -> Vec<f64> {
        if !self.is_sorted_by(|a, b| a <= b) {
            self.sort_unstable_by(|a, b| a.total_cmp(b));
        }
        qs.iter().map(|&q| percentile_sorted(self, q)).collect()
    }

    fn summary(&mut self) -> Summary {
        Summary::of(self)
    }
}

/// Mantissa bits a [`Sketch`] bucket keeps: buckets are 2^-10 of their value wide.
const SKETCH_BITS: u32 = 10;
/// The most a [`Sketch`] percentile is off, relative to the exact one's order statistics:
/// half a bucket.
pub const SKETCH_RELATIVE_ERROR: f64 = 1.0 / (2u64 << SKETCH_BITS) as f64;

/// A log-linear histogram of non-negative values: a value's bucket is its float's exponent and
/// the top [`SKETCH_BITS`] bits of its mantissa, so memory is bounded by the range of the
/// values (1,024 buckets per doubling, counted only where used), not by their number. Count,
/// mean, standard deviation (Welford, merged by Chan's formula), minimum and maximum are exact;
/// an order statistic is its bucket's midpoint, clamped to the sample's range.
#[derive(Debug, Clone, Default)]
pub struct Sketch {
    buckets: rustc_hash::FxHashMap<u32, u64>,
    n: u64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
}

impl Sketch {
    fn key(v: f64) -> u32 {
        (v.to_bits() >> (52 - SKETCH_BITS)) as u32
    }

    fn midpoint(key: u32) -> f64 {
        // Zero (a gap within one microsecond) is a value of its own, not a bucket's middle.
        if key == 0 {
            return 0.0;
        }
        let lo = f64::from_bits(u64::from(key) << (52 - SKETCH_BITS));
        let hi = f64::from_bits(u64::from(key + 1) << (52 - SKETCH_BITS));
        lo + (hi - lo) / 2.0
    }
}

impl Sample for Sketch {
    const EXACT: bool = false;
    fn add(&mut self, v: f64) {
        // Negative, NaN and infinite values have no place on a latency axis: kept as 0.
        let v = if v.is_finite() { v.max(0.0) } else { 0.0 };
        *self.buckets.entry(Self::key(v)).or_insert(0) += 1;
        if self.n == 0 {
            (self.min, self.max) = (v, v);
        } else {
            self.min = self.min.min(v);
            self.max = self.max.max(v);
        }
        self.n += 1;
        let d = v - self.mean;
        self.mean += d / self.n as f64;
        self.m2 += d * (v - self.mean);
    }

    fn merge(&mut self, other: Self) {
        if other.n == 0 {
            return;
        }
        if self.n == 0 {
            *self = other;
            return;
        }
        let (na, nb) = (self.n as f64, other.n as f64);
        let d = other.mean - self.mean;
        let n = na + nb;
        self.mean += d * nb / n;
        self.m2 += other.m2 + d * d * na * nb / n;
        self.n += other.n;
        self.min = self.min.min(other.min);
        self.max = self.max.max(other.max);
        for (k, c) in other.buckets {
            *self.buckets.entry(k).or_insert(0) += c;
        }
    }

    fn len(&self) -> u64 {
        self.n
    }

    fn mean_std(&self) -> (f64, f64) {
        if self.n == 0 {
            return (0.0, 0.0);
        }
        (self.mean, (self.m2 / self.n as f64).max(0.0).sqrt())
    }

    fn percentiles(&mut self, qs: &[f64]) -> Vec<f64> {
        if self.n == 0 {
            return vec![0.0; qs.len()];
        }
        let mut sorted: Vec<(u32, u64)> = self.buckets.iter().map(|(&k, &c)| (k, c)).collect();
        sorted.sort_unstable();
        let last = self.n - 1;
        let kth = |k: u64| -> f64 {
            if k == 0 {
                return self.min;
            }
            if k >= last {
                return self.max;
            }
            let mut seen = 0u64;
            for &(key, c) in &sorted {
                seen += c;
                if k < seen {
                    return Self::midpoint(key).clamp(self.min, self.max);
                }
            }
            self.max
        };
        interpolated(qs, self.n, kth)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_linear_percentiles_hand_computed() {
        // numpy: np.percentile([1,2,3,4], [50, 90, 99, 99.9]) = [2.5, 3.7, 3.97, 3.997]
        let s = Summary::of(&mut [4.0, 1.0, 3.0, 2.0]);
        assert_eq!(s.median, 2.5);
        assert!((s.p90 - 3.7).abs() < 1e-12);
        assert!((s.p99 - 3.97).abs() < 1e-12);
        assert!((s.p999 - 3.997).abs() < 1e-12);
        assert_eq!(s.mean, 2.5);
        // np.std([1,2,3,4]) = sqrt(1.25)
        assert!((s.std - 1.25f64.sqrt()).abs() < 1e-12);
        assert_eq!((s.min, s.max, s.count), (1.0, 4.0, 4));
    }

    #[test]
    fn empty_and_single() {
        assert_eq!(Summary::of(&mut []), Summary::default());
        let s = Summary::of(&mut [7.0]);
        assert_eq!((s.mean, s.median, s.p99, s.std), (7.0, 7.0, 7.0, 0.0));
    }

    #[test]
    fn count_distribution_matches_expanded_sample() {
        // Runs of equal values too, as steady decode steps give.
        let values: Vec<u32> = (0..1000u32)
            .flat_map(|i| {
                std::iter::repeat_n((i * 7919) % 1013 + (i % 3) * 5, (i % 4 + 1) as usize)
            })
            .collect();
        let mut d = CountDistribution::new();
        d.extend(&values);
        let mut f: Vec<f64> = values.iter().map(|&v| v as f64).collect();
        let want = Summary::of(&mut f);
        let got = d.summary(1.0);
        for (a, b) in [
            (got.mean, want.mean),
            (got.median, want.median),
            (got.std, want.std),
            (got.p90, want.p90),
            (got.p99, want.p99),
            (got.p999, want.p999),
            (got.min, want.min),
            (got.max, want.max),
        ] {
            assert!((a - b).abs() < 1e-9, "{a} vs {b}");
        }
        let ms = d.summary(1e-3);
        assert!((ms.mean - want.mean * 1e-3).abs() < 1e-12);
    }

    #[test]
    fn a_sketch_is_exact_in_its_moments_and_within_half_a_bucket_in_its_percentiles() {
        // Latencies from 0.3 ms to 5 s, skewed, in two halves merged as two threads' would be.
        let values: Vec<f64> = (0..20_000u64)
            .map(|i| 0.3 + ((i * 7919) % 10_007) as f64 * ((i % 13) as f64 + 1.0) / 26.0)
            .collect();
        let (mut a, mut b) = (Sketch::default(), Sketch::default());
        for (i, &v) in values.iter().enumerate() {
            if i % 2 == 0 {
                a.add(v)
            } else {
                b.add(v)
            }
        }
        a.merge(b);
        let mut exact = values.clone();
        let want = Summary::of(&mut exact);
        let got = a.summary();
        assert_eq!(got.count, 20_000);
        assert_eq!((got.min, got.max), (want.min, want.max));
        assert!(
            (got.mean - want.mean).abs() < 1e-9 * want.mean,
            "{} {}",
            got.mean,
            want.mean
        );
        assert!(
            (got.std - want.std).abs() < 1e-9 * want.std,
            "{} {}",
            got.std,
            want.std
        );
        for (g, w) in [
            (got.median, want.median),
            (got.p90, want.p90),
            (got.p99, want.p99),
            (got.p999, want.p999),
        ] {
            assert!((g - w).abs() <= w * SKETCH_RELATIVE_ERROR, "{g} vs {w}");
        }
        // A bucket is 2^-10 of its value wide: 5 s and 0.3 ms span about 14 doublings.
        assert!(a.buckets.len() <= 15 * 1024, "{}", a.buckets.len());
    }

    #[test]
    fn a_sketch_of_one_value_and_of_none() {
        let mut s = Sketch::default();
        assert_eq!(s.summary(), Summary::default());
        s.add(12.5);
        s.add(12.5);
        let got = s.summary();
        assert_eq!(
            (got.mean, got.median, got.p99, got.std),
            (12.5, 12.5, 12.5, 0.0)
        );
        // Zeros are exact (chunks in the same microsecond): the median of 0, 0, 12.5 is 0.
        let mut z = Sketch::default();
        [0.0, 0.0, 12.5].into_iter().for_each(|v| z.add(v));
        assert_eq!(z.percentiles(&[50.0]), [0.0]);
        // Out-of-range input is kept as 0, never poisons the moments.
        s.add(f64::NAN);
        s.add(-3.0);
        assert_eq!(s.summary().min, 0.0);
        assert!((s.summary().mean - 6.25).abs() < 1e-12);
    }

    #[test]
    fn exact_samples_summarise_as_summary_of() {
        let mut v = vec![4.0, 1.0, 3.0, 2.0];
        assert_eq!(
            Sample::summary(&mut v),
            Summary::of(&mut [4.0, 1.0, 3.0, 2.0])
        );
        assert_eq!(v.percentiles(&[50.0]), [2.5]);
        assert_eq!(v.mean_std().0, 2.5);
    }
}
