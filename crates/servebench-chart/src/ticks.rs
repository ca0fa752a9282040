//! Axis ticks a reader can read at a glance: linear steps of 1, 2 or 5 × 10^k, and log10
//! decades (with 2 and 5 in between when the range spans less than two decades).
//!
//! Tick values are computed from integers (`i × m × 10^k`), never by repeated addition, so
//! `0.1 × 3` is the double nearest 0.3 and labels never show accumulated rounding.

/// Never more ticks than this, whatever the range: a guard against absurd inputs.
const MAX_TICKS: f64 = 1000.0;

/// One tick on an axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Tick {
    /// The data value at the tick.
    pub value: f64,
    /// The text under (x) or beside (y) the tick; empty for minor ticks.
    pub label: String,
    /// Major ticks get a label and a grid line; minor ones (2..9 between log decades) only a
    /// faint grid line.
    pub major: bool,
}

/// Linear ticks in `[lo, hi]` at a "nice" step (1, 2 or 5 × 10^k), at most about `target`
/// of them. Empty when the range is not finite or `lo > hi`; one tick when `lo == hi`.
pub fn linear_ticks(lo: f64, hi: f64, target: usize) -> Vec<Tick> {
    if !(lo.is_finite() && hi.is_finite()) || lo > hi {
        return Vec::new();
    }
    if lo == hi {
        return vec![Tick {
            value: lo,
            label: format_plain(lo),
            major: true,
        }];
    }
    let Some((m, e)) = nice_step(hi - lo, target.max(1)) else {
        return Vec::new();
    };
    let step = m as f64 * pow10(e);
    let (first, last) = ((lo / step - 1e-9).ceil(), (hi / step + 1e-9).floor());
    if !(first.is_finite() && last.is_finite()) || last - first > MAX_TICKS {
        return Vec::new();
    }
    let values: Vec<f64> = (first as i64..=last as i64)
        .map(|i| scaled(i as f64 * m as f64, e))
        .collect();
    let max_abs = values.iter().fold(0.0f64, |a, v| a.max(v.abs()));
    let unit = if max_abs >= 1e9 {
        9
    } else if max_abs >= 1e6 {
        6
    } else if max_abs >= 1e4 {
        3
    } else {
        0
    };
    values
        .into_iter()
        .map(|value| Tick {
            value,
            label: format_scaled(value, e, unit),
            major: true,
        })
        .collect()
}

/// Log10 ticks in `[lo, hi]` (both must be > 0): every decade, every other decade when there
/// would be more than `target`, 1-2-5 within decades when fewer than three decades fall in
/// the range (1-9 when even that gives fewer than two ticks), and unlabelled minor ticks at 2..9 × 10^k when the range spans at most 6 decades.
pub fn log_ticks(lo: f64, hi: f64, target: usize) -> Vec<Tick> {
    if !(lo.is_finite() && hi.is_finite()) || lo <= 0.0 || lo > hi {
        return Vec::new();
    }
    let (klo, khi) = (lo.log10().floor() as i32, hi.log10().ceil() as i32);
    if (khi - klo) as f64 > MAX_TICKS {
        return Vec::new();
    }
    let inside = |v: f64| v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9);
    let decades: Vec<i32> = (klo..=khi).filter(|&k| inside(pow10(k))).collect();
    let majors: &[i64] = match decades.len() {
        0..=2 => {
            let with_125 = (klo..=khi)
                .flat_map(|k| [1, 2, 5].map(|m| scaled(m as f64, k)))
                .filter(|&v| inside(v))
                .count();
            if with_125 >= 2 {
                &[1, 2, 5]
            } else {
                &[1, 2, 3, 4, 5, 6, 7, 8, 9]
            }
        }
        _ => &[1],
    };
    let every = if majors == [1] {
        decades.len().div_ceil(target.max(1)).max(1) as i32
    } else {
        1
    };
    let minors = (khi - klo) <= 6;
    let mut ticks = Vec::new();
    for k in klo..=khi {
        for m in 1..=9i64 {
            let value = scaled(m as f64, k);
            if !inside(value) {
                continue;
            }
            let major = majors.contains(&m) && (majors != [1] || k.rem_euclid(every) == 0);
            if major {
                ticks.push(Tick {
                    value,
                    label: format_log(m, k),
                    major: true,
                });
            } else if minors {
                ticks.push(Tick {
                    value,
                    label: String::new(),
                    major: false,
                });
            }
        }
    }
    ticks
}

/// The nice step for `span` split into about `target` parts, as `(m, e)` with step `m × 10^e`
/// and `m` in {1, 2, 5}: the one nearest the raw step on a log scale (as d3 does), so the tick
/// count is within about ×0.7..×1.4 of `target`.
fn nice_step(span: f64, target: usize) -> Option<(i64, i32)> {
    let raw = span / target as f64;
    if !(raw.is_finite() && raw > 0.0) {
        return None;
    }
    let e = raw.log10().floor() as i32;
    let mantissa = raw / pow10(e);
    Some(if mantissa >= 50f64.sqrt() {
        (1, e + 1)
    } else if mantissa >= 10f64.sqrt() {
        (5, e)
    } else if mantissa >= 2f64.sqrt() {
        (2, e)
    } else {
        (1, e)
    })
}

/// 10^k, exact for the integer powers a double can hold exactly.
fn pow10(k: i32) -> f64 {
    if k >= 0 {
        10f64.powi(k)
    } else {
        1.0 / 10f64.powi(-k)
    }
}

/// `n × 10^e` computed as `n / 10^-e` for negative `e`, which rounds once instead of twice.
fn scaled(n: f64, e: i32) -> f64 {
    let v = if e >= 0 {
        n * 10f64.powi(e)
    } else {
        n / 10f64.powi(-e)
    };
    if v == 0.0 {
        0.0 // no "-0"
    } else {
        v
    }
}

fn suffix(unit: i32) -> &'static str {
    match unit {
        3 => "k",
        6 => "M",
        9 => "G",
        _ => "",
    }
}

/// `value` (a multiple of 10^`e`) in units of 10^`unit`, with just the decimals the step needs.
fn format_scaled(value: f64, e: i32, unit: i32) -> String {
    if value == 0.0 {
        return "0".to_string();
    }
    let decimals = (unit - e).clamp(0, 15) as usize;
    format!("{:.decimals$}{}", value / pow10(unit), suffix(unit))
}

/// `m × 10^k` for log axes: plain from 0.0001 to 9999, k/M/G up to 999G, `me±k` beyond.
fn format_log(m: i64, k: i32) -> String {
    match k {
        -4..=3 => format_scaled(scaled(m as f64, k), k, 0),
        4..=5 => format_scaled(scaled(m as f64, k), k, 3),
        6..=8 => format_scaled(scaled(m as f64, k), k, 6),
        9..=11 => format_scaled(scaled(m as f64, k), k, 9),
        _ => format!("{m}e{k}"),
    }
}

/// A single value with no step to go by (degenerate range): shortest round-trip text.
fn format_plain(v: f64) -> String {
    if v == 0.0 {
        "0".to_string()
    } else {
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(t: &[Tick]) -> Vec<f64> {
        t.iter().filter(|t| t.major).map(|t| t.value).collect()
    }
    fn labels(t: &[Tick]) -> Vec<&str> {
        t.iter()
            .filter(|t| t.major)
            .map(|t| t.label.as_str())
            .collect()
    }

    #[test]
    fn linear_zero_to_hundred_steps_by_twenty() {
        let t = linear_ticks(0.0, 100.0, 5);
        assert_eq!(values(&t), [0.0, 20.0, 40.0, 60.0, 80.0, 100.0]);
        assert_eq!(labels(&t), ["0", "20", "40", "60", "80", "100"]);
    }

    #[test]
    fn linear_offset_range_starts_at_first_multiple_inside() {
        let t = linear_ticks(3.2, 47.9, 8);
        assert_eq!(
            values(&t),
            [5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0, 40.0, 45.0]
        );
    }

    #[test]
    fn linear_small_steps_have_exact_values_and_decimals() {
        let t = linear_ticks(0.0, 0.5, 5);
        assert_eq!(values(&t), [0.0, 0.1, 0.2, 0.3, 0.4, 0.5]);
        assert_eq!(labels(&t), ["0", "0.1", "0.2", "0.3", "0.4", "0.5"]);
        let t = linear_ticks(-0.03, 0.03, 6);
        assert_eq!(
            labels(&t),
            ["-0.03", "-0.02", "-0.01", "0", "0.01", "0.02", "0.03"]
        );
    }

    #[test]
    fn linear_large_values_use_si_suffixes() {
        let t = linear_ticks(0.0, 25_000.0, 5);
        assert_eq!(labels(&t), ["0", "5k", "10k", "15k", "20k", "25k"]);
        let t = linear_ticks(0.0, 2_500_000.0, 5);
        assert_eq!(labels(&t), ["0", "0.5M", "1.0M", "1.5M", "2.0M", "2.5M"]);
        // Below 10,000 labels stay plain.
        let t = linear_ticks(0.0, 8_000.0, 4);
        assert_eq!(labels(&t), ["0", "2000", "4000", "6000", "8000"]);
    }

    #[test]
    fn linear_degenerate_and_invalid_ranges() {
        assert_eq!(values(&linear_ticks(7.0, 7.0, 5)), [7.0]);
        assert!(linear_ticks(5.0, 1.0, 5).is_empty());
        assert!(linear_ticks(f64::NAN, 1.0, 5).is_empty());
        assert!(linear_ticks(0.0, f64::INFINITY, 5).is_empty());
        assert!(linear_ticks(-f64::MAX, f64::MAX, 5).is_empty());
    }

    #[test]
    fn log_decades_with_labels() {
        let t = log_ticks(1.0, 10_000.0, 10);
        assert_eq!(values(&t), [1.0, 10.0, 100.0, 1000.0, 10_000.0]);
        assert_eq!(labels(&t), ["1", "10", "100", "1000", "10k"]);
        // Minor ticks 2..9 in each of the 4 decades, unlabelled.
        let minors = t.iter().filter(|t| !t.major).count();
        assert_eq!(minors, 4 * 8);
        assert!(t.iter().filter(|t| !t.major).all(|t| t.label.is_empty()));
    }

    #[test]
    fn log_fractional_and_huge_decades() {
        let t = log_ticks(0.001, 1.0, 10);
        assert_eq!(labels(&t), ["0.001", "0.01", "0.1", "1"]);
        let t = log_ticks(1e5, 1e7, 10);
        assert_eq!(labels(&t), ["100k", "1M", "10M"]);
    }

    #[test]
    fn log_narrow_range_adds_two_and_five() {
        let t = log_ticks(15.0, 180.0, 10);
        assert_eq!(values(&t), [20.0, 50.0, 100.0]);
        assert_eq!(labels(&t), ["20", "50", "100"]);
        // Two decades alone would leave the axis nearly unlabelled.
        let t = log_ticks(8.0, 190.0, 10);
        assert_eq!(labels(&t), ["10", "20", "50", "100"]);
        let t = log_ticks(2.5, 4.5, 10);
        assert_eq!(values(&t), [3.0, 4.0]);
    }

    #[test]
    fn log_many_decades_thin_out_labels() {
        let t = log_ticks(1e-3, 1e12, 5);
        let v = values(&t);
        assert!(v.len() <= 6, "{v:?}");
        assert!(v.len() >= 4, "{v:?}");
        assert!(t.iter().all(|t| t.major), "no minor ticks beyond 6 decades");
    }

    #[test]
    fn log_rejects_non_positive_ranges() {
        assert!(log_ticks(0.0, 10.0, 5).is_empty());
        assert!(log_ticks(-1.0, 10.0, 5).is_empty());
        assert!(log_ticks(10.0, 1.0, 5).is_empty());
    }
}
