//! Fault injection: which requests misbehave, and how.
//!
//! Each fault kind is given a fraction of the generation requests. Request `seq = n` (0-based,
//! arrival order, only `POST /v1/completions` and `POST /v1/chat/completions` count) draws
//! `u = frac((n + 1) * 0.6180339887498949)` (a golden-ratio low-discrepancy sequence) and gets the
//! fault whose interval of `[0, 1)` contains `u`; the kinds occupy consecutive intervals, each as
//! long as its fraction, in the order of [`FaultKind::ALL`]. Among `N` requests this gives about
//! `N * F` faults of each kind, deterministically. A request header `x-sim-fault: <kind>` (or
//! `none`) overrides the draw for that request.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// What the server does wrong to one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum FaultKind {
    /// Answer `429 Too Many Requests` with an OpenAI-style error body.
    #[serde(rename = "status_429")]
    Status429,
    /// Answer `500 Internal Server Error` with an OpenAI-style error body.
    #[serde(rename = "status_500")]
    Status500,
    /// Answer `503 Service Unavailable` with an OpenAI-style error body.
    #[serde(rename = "status_503")]
    Status503,
    /// Reset the connection (RST) before writing anything.
    #[serde(rename = "reset_before_headers")]
    ResetBeforeHeaders,
    /// Reset the connection (RST) after half the content chunks.
    #[serde(rename = "reset_mid_stream")]
    ResetMidStream,
    /// Send one chunk midway whose JSON is truncated, then end the body (no more events).
    #[serde(rename = "malformed_chunk")]
    MalformedChunk,
    /// Complete the stream (usage included when asked) but leave out `data: [DONE]`.
    #[serde(rename = "missing_done")]
    MissingDone,
    /// After half the content chunks send nothing for the stall duration, then continue.
    #[serde(rename = "stall")]
    Stall,
    /// After half the content chunks send an `error` event, then end the body without `[DONE]`.
    #[serde(rename = "error_mid_stream")]
    ErrorMidStream,
}

impl FaultKind {
    /// All kinds, in the order in which they take their intervals of `[0, 1)`.
    pub const ALL: [FaultKind; 9] = [
        FaultKind::Status429,
        FaultKind::Status500,
        FaultKind::Status503,
        FaultKind::ResetBeforeHeaders,
        FaultKind::ResetMidStream,
        FaultKind::MalformedChunk,
        FaultKind::MissingDone,
        FaultKind::Stall,
        FaultKind::ErrorMidStream,
    ];

    /// The snake_case name used in the record, in `/sim/stats` and in `x-sim-fault`.
    pub fn as_str(self) -> &'static str {
        match self {
            FaultKind::Status429 => "status_429",
            FaultKind::Status500 => "status_500",
            FaultKind::Status503 => "status_503",
            FaultKind::ResetBeforeHeaders => "reset_before_headers",
            FaultKind::ResetMidStream => "reset_mid_stream",
            FaultKind::MalformedChunk => "malformed_chunk",
            FaultKind::MissingDone => "missing_done",
            FaultKind::Stall => "stall",
            FaultKind::ErrorMidStream => "error_mid_stream",
        }
    }

    /// Position in [`FaultKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The HTTP status of the status faults.
    pub fn http_status(self) -> Option<u16> {
        match self {
            FaultKind::Status429 => Some(429),
            FaultKind::Status500 => Some(500),
            FaultKind::Status503 => Some(503),
            _ => None,
        }
    }

    /// Faults that act after half the content chunks (as opposed to before anything is sent).
    pub fn is_mid_stream(self) -> bool {
        matches!(
            self,
            FaultKind::ResetMidStream
                | FaultKind::MalformedChunk
                | FaultKind::Stall
                | FaultKind::ErrorMidStream
        )
    }
}

impl fmt::Display for FaultKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for FaultKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        FaultKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = FaultKind::ALL.iter().map(|k| k.as_str()).collect();
                format!(
                    "unknown fault kind '{s}'; expected one of {} or none",
                    names.join(", ")
                )
            })
    }
}

/// Parses the value of an `x-sim-fault` header: a kind, or `none` (= no fault, whatever the draw).
pub fn parse_forced(value: &str) -> Result<Option<FaultKind>, String> {
    let v = value.trim();
    if v == "none" {
        Ok(None)
    } else {
        v.parse().map(Some)
    }
}

/// Fractions of generation requests given each fault (each in `[0, 1]`, summing to at most 1).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FaultConfig {
    pub status_429: f64,
    pub status_500: f64,
    pub status_503: f64,
    pub reset_before_headers: f64,
    pub reset_mid_stream: f64,
    pub malformed_chunk: f64,
    pub missing_done: f64,
    pub stall: f64,
    pub error_mid_stream: f64,
}

/// The multiplier of the low-discrepancy draw: `(sqrt(5) - 1) / 2`.
pub const GOLDEN: f64 = 0.6180339887498949;

/// The draw of request `seq`: `frac((seq + 1) * GOLDEN)`, in `[0, 1)`.
pub fn draw(seq: u64) -> f64 {
    ((seq + 1) as f64 * GOLDEN).fract()
}

impl FaultConfig {
    /// The fraction given to `kind`.
    pub fn fraction(&self, kind: FaultKind) -> f64 {
        match kind {
            FaultKind::Status429 => self.status_429,
            FaultKind::Status500 => self.status_500,
            FaultKind::Status503 => self.status_503,
            FaultKind::ResetBeforeHeaders => self.reset_before_headers,
            FaultKind::ResetMidStream => self.reset_mid_stream,
            FaultKind::MalformedChunk => self.malformed_chunk,
            FaultKind::MissingDone => self.missing_done,
            FaultKind::Stall => self.stall,
            FaultKind::ErrorMidStream => self.error_mid_stream,
        }
    }

    /// Sets the fraction given to `kind`.
    pub fn set(&mut self, kind: FaultKind, fraction: f64) {
        let slot = match kind {
            FaultKind::Status429 => &mut self.status_429,
            FaultKind::Status500 => &mut self.status_500,
            FaultKind::Status503 => &mut self.status_503,
            FaultKind::ResetBeforeHeaders => &mut self.reset_before_headers,
            FaultKind::ResetMidStream => &mut self.reset_mid_stream,
            FaultKind::MalformedChunk => &mut self.malformed_chunk,
            FaultKind::MissingDone => &mut self.missing_done,
            FaultKind::Stall => &mut self.stall,
            FaultKind::ErrorMidStream => &mut self.error_mid_stream,
        };
        *slot = fraction;
    }

    /// Sum of all fractions.
    pub fn total(&self) -> f64 {
        FaultKind::ALL.iter().map(|&k| self.fraction(k)).sum()
    }

    /// Checks each fraction is in `[0, 1]` and that they sum to at most 1.
    pub fn validate(&self) -> Result<(), String> {
        for k in FaultKind::ALL {
            let f = self.fraction(k);
            if !(0.0..=1.0).contains(&f) {
                return Err(format!(
                    "fault fraction for {k} is {f}; expected a number in [0, 1]"
                ));
            }
        }
        let total = self.total();
        if total > 1.0 + 1e-9 {
            return Err(format!(
                "fault fractions sum to {total}; they must sum to at most 1"
            ));
        }
        Ok(())
    }

    /// The fault drawn for request `seq` (see the module documentation), or `None`.
    pub fn assign(&self, seq: u64) -> Option<FaultKind> {
        let u = draw(seq);
        let mut lo = 0.0;
        for k in FaultKind::ALL {
            let f = self.fraction(k);
            if f <= 0.0 {
                continue;
            }
            let hi = lo + f;
            if u >= lo && u < hi {
                return Some(k);
            }
            lo = hi;
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_serde_and_from_str() {
        for k in FaultKind::ALL {
            let json = serde_json::to_string(&k).unwrap();
            assert_eq!(json, format!("\"{}\"", k.as_str()));
            let back: FaultKind = serde_json::from_str(&json).unwrap();
            assert_eq!(back, k);
            assert_eq!(k.as_str().parse::<FaultKind>().unwrap(), k);
            assert_eq!(FaultKind::ALL[k.index()], k);
        }
        assert_eq!(parse_forced("none").unwrap(), None);
        assert_eq!(
            parse_forced("status_429").unwrap(),
            Some(FaultKind::Status429)
        );
        assert!(parse_forced("status429").is_err());
    }

    #[test]
    fn validate_rejects_out_of_range_and_oversubscribed() {
        let mut c = FaultConfig::default();
        assert!(c.validate().is_ok());
        c.stall = 1.5;
        assert!(c.validate().is_err());
        c.stall = -0.1;
        assert!(c.validate().is_err());
        c.stall = f64::NAN;
        assert!(c.validate().is_err());
        c.stall = 0.6;
        c.status_429 = 0.5;
        assert!(c.validate().is_err());
        c.status_429 = 0.4;
        assert!(c.validate().is_ok());
    }

    #[test]
    fn assignment_follows_intervals_and_counts_are_close_to_n_f() {
        let c = FaultConfig {
            status_429: 0.1,
            reset_mid_stream: 0.05,
            stall: 0.2,
            ..Default::default()
        };
        // Interval boundaries: 429 [0, .1), reset_mid [.1, .15), stall [.15, .35).
        for n in 0..2000u64 {
            let u = draw(n);
            let want = if u < 0.1 {
                Some(FaultKind::Status429)
            } else if u < 0.15 {
                Some(FaultKind::ResetMidStream)
            } else if u < 0.35 {
                Some(FaultKind::Stall)
            } else {
                None
            };
            assert_eq!(c.assign(n), want, "seq {n}, u {u}");
        }
        let n = 10_000u64;
        let mut counts = [0u64; 9];
        for s in 0..n {
            if let Some(k) = c.assign(s) {
                counts[k.index()] += 1;
            }
        }
        for k in FaultKind::ALL {
            let expect = c.fraction(k) * n as f64;
            let got = counts[k.index()] as f64;
            assert!((got - expect).abs() <= 3.0, "{k}: {got} vs {expect}");
        }
        // Everything faulted at fraction 1.
        let all = FaultConfig {
            error_mid_stream: 1.0,
            ..Default::default()
        };
        assert!((0..1000).all(|s| all.assign(s) == Some(FaultKind::ErrorMidStream)));
    }
}
