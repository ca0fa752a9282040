//! `ceil`, `floor` and `round` to integers, exactly as `f64::ceil() as u64` and friends give
//! them, without the libm calls those are on a baseline x86-64 build (no SSE4.1 `roundsd`): the
//! scheduler rounds every sequence's cache size and token gap every step, and the calls were a
//! sixth of a decode-heavy simulation's time.

/// `x.ceil() as u64`.
#[inline]
pub(crate) fn ceil_u64(x: f64) -> u64 {
    // Below 2^53 every f64 with a fraction truncates exactly; above, the call decides.
    if (0.0..9.0e15).contains(&x) {
        let t = x as u64;
        t + u64::from((t as f64) < x)
    } else {
        x.ceil() as u64
    }
}

/// `x.round() as u32` (halves away from zero).
#[inline]
pub(crate) fn round_u32(x: f64) -> u32 {
    if (0.0..4_294_967_295.0).contains(&x) {
        let t = x as u64;
        // x − trunc(x) is exact: its bits are a tail of x's.
        (t + u64::from(x - t as f64 >= 0.5)) as u32
    } else {
        x.round() as u32
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against the library's own rounding on the edges (halves, just below and above
    /// integers, the range ends, negatives, NaN) and on many ordinary values.
    #[test]
    fn the_same_integers_as_the_library() {
        let mut xs = vec![
            0.0,
            -0.0,
            0.5,
            1.5,
            2.5,
            0.49999999999999994,
            1.0 - f64::EPSILON,
            1.0 + f64::EPSILON,
            -0.2,
            -1.5,
            -7.0,
            f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            4_294_967_294.5,
            4_294_967_295.0,
            4_294_967_296.7,
            8.999_999_999_999_999e15,
            9.0e15,
            1e300,
        ];
        let mut v = 0.123_456_789f64;
        for _ in 0..100_000 {
            v = (v * 1103.515245 + 0.12345).fract() * 2e6;
            xs.extend([v, v.floor() + 0.5, v.floor(), v.floor() - f64::EPSILON * v]);
        }
        for x in xs {
            assert_eq!(ceil_u64(x), x.ceil() as u64, "ceil {x:e}");
            assert_eq!(round_u32(x), x.round() as u32, "round {x:e}");
        }
    }
}
