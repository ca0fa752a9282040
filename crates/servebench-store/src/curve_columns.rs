//! A curve's points in one value (`curves.columns`, kept by ingest): a view of a hundred
//! thousand points reads a few thousand of these instead of as many index rows, each with
//! twenty columns to step through (`docs/store.md`, "Curve columns").
//!
//! Little-endian: `SBC1`; the number of distinct images (u32), each as its length (u32) and
//! UTF-8 bytes; the number of points (u32); then each point by concurrency: its row id (i64),
//! concurrency and GPUs (u32 each), its image (u32, 0 for none, else 1 + its index), which
//! metrics it has (u16, bit `i` for the `i`-th of [`Metrics`] in field order), each metric
//! (f64; the request counts as u64), and the length of its simulator's expected-error JSON
//! (u32, 0 for a measured point) and that JSON. Store contents are untrusted: a value that
//! does not read as this is an error naming what was expected, never a panic.

use crate::Metrics;

const MAGIC: &[u8; 4] = b"SBC1";

/// One point of a curve as stored.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CurvePoint {
    pub id: i64,
    pub conc: u32,
    pub num_gpus: u32,
    pub image: Option<String>,
    /// The simulator's expected error, as the JSON text ingest kept.
    pub simulated: Option<String>,
    pub metrics: Metrics,
}

/// A point as [`decode`] lends it: its image by the curve's index, its texts borrowed.
pub(crate) struct DecodedPoint<'a> {
    pub id: i64,
    pub conc: u32,
    pub num_gpus: u32,
    /// Index into the images [`decode`] gave first.
    pub image: Option<usize>,
    pub simulated: Option<&'a str>,
    pub metrics: Metrics,
}

#[derive(Debug, thiserror::Error)]
#[error("a curve's stored columns do not read at byte {at}: expected {expected}")]
pub(crate) struct Malformed {
    at: usize,
    expected: &'static str,
}

/// The stored value of a curve's points (any order: stored by concurrency).
pub(crate) fn encode(points: &mut [CurvePoint]) -> Vec<u8> {
    points.sort_by_key(|p| (p.conc, p.id));
    let mut images: Vec<&str> = points.iter().filter_map(|p| p.image.as_deref()).collect();
    images.sort_unstable();
    images.dedup();
    let mut out = Vec::with_capacity(16 + points.len() * 130);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(images.len() as u32).to_le_bytes());
    for i in &images {
        out.extend_from_slice(&(i.len() as u32).to_le_bytes());
        out.extend_from_slice(i.as_bytes());
    }
    out.extend_from_slice(&(points.len() as u32).to_le_bytes());
    for p in points.iter() {
        out.extend_from_slice(&p.id.to_le_bytes());
        out.extend_from_slice(&p.conc.to_le_bytes());
        out.extend_from_slice(&p.num_gpus.to_le_bytes());
        let image = p
            .image
            .as_deref()
            .and_then(|i| images.binary_search(&i).ok())
            .map_or(0, |k| k as u32 + 1);
        out.extend_from_slice(&image.to_le_bytes());
        let (mask, words) = metric_words(&p.metrics);
        out.extend_from_slice(&mask.to_le_bytes());
        for w in words {
            out.extend_from_slice(&w.to_le_bytes());
        }
        let sim = p.simulated.as_deref().unwrap_or("");
        out.extend_from_slice(&(sim.len() as u32).to_le_bytes());
        out.extend_from_slice(sim.as_bytes());
    }
    out
}

/// Reads a stored curve: its images, then `f` for each point by concurrency.
pub(crate) fn decode<'a>(
    bytes: &'a [u8],
    images: &mut Vec<&'a str>,
    mut f: impl FnMut(DecodedPoint<'a>),
) -> Result<(), Malformed> {
    let mut r = Reader { bytes, at: 0 };
    if r.take(4, "the SBC1 mark")? != MAGIC {
        return Err(r.malformed(0, "the SBC1 mark"));
    }
    images.clear();
    for _ in 0..r.u32("the number of images")? {
        let n = r.u32("an image's length")? as usize;
        let at = r.at;
        let s = std::str::from_utf8(r.take(n, "an image")?)
            .map_err(|_| r.malformed(at, "an image in UTF-8"))?;
        images.push(s);
    }
    for _ in 0..r.u32("the number of points")? {
        let id = r.u64("a point id")? as i64;
        let conc = r.u32("a concurrency")?;
        let num_gpus = r.u32("a GPU count")?;
        let at = r.at;
        let image = match r.u32("an image index")? as usize {
            0 => None,
            k if k <= images.len() => Some(k - 1),
            _ => return Err(r.malformed(at, "an image index within the curve's images")),
        };
        let mask = u16::from_le_bytes(r.array("which metrics are present")?);
        let mut words = [0u64; 13];
        for w in &mut words {
            *w = r.u64("a metric")?;
        }
        let n = r.u32("the expected error's length")? as usize;
        let at = r.at;
        let sim = std::str::from_utf8(r.take(n, "the expected error")?)
            .map_err(|_| r.malformed(at, "the expected error in UTF-8"))?;
        f(DecodedPoint {
            id,
            conc,
            num_gpus,
            image,
            simulated: (n > 0).then_some(sim),
            metrics: metrics_of(mask, &words),
        });
    }
    if r.at != bytes.len() {
        return Err(r.malformed(r.at, "the end of the curve"));
    }
    Ok(())
}

/// Which of a point's metrics are present, and each one's bits (0 where absent).
fn metric_words(m: &Metrics) -> (u16, [u64; 13]) {
    let f = |v: Option<f64>| v.map(f64::to_bits);
    let all = [
        f(m.tput_per_gpu),
        f(m.input_tput_per_gpu),
        f(m.output_tput_per_gpu),
        f(m.median_intvty),
        f(m.median_ttft_ms),
        f(m.median_tpot_ms),
        f(m.median_e2el_ms),
        f(m.p99_ttft_ms),
        f(m.p99_tpot_ms),
        f(m.p99_e2el_ms),
        m.completed,
        m.failed,
        f(m.measured_j_per_token),
    ];
    let mut mask = 0u16;
    let mut words = [0u64; 13];
    for (i, v) in all.into_iter().enumerate() {
        if let Some(v) = v {
            mask |= 1 << i;
            words[i] = v;
        }
    }
    (mask, words)
}

fn metrics_of(mask: u16, w: &[u64; 13]) -> Metrics {
    let word = |i: usize| (mask & (1 << i) != 0).then_some(w[i]);
    let f = |i: usize| word(i).map(f64::from_bits);
    Metrics {
        tput_per_gpu: f(0),
        input_tput_per_gpu: f(1),
        output_tput_per_gpu: f(2),
        median_intvty: f(3),
        median_ttft_ms: f(4),
        median_tpot_ms: f(5),
        median_e2el_ms: f(6),
        p99_ttft_ms: f(7),
        p99_tpot_ms: f(8),
        p99_e2el_ms: f(9),
        completed: word(10),
        failed: word(11),
        measured_j_per_token: f(12),
    }
}

struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn malformed(&self, at: usize, expected: &'static str) -> Malformed {
        Malformed { at, expected }
    }

    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], Malformed> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&e| e <= self.bytes.len())
            .ok_or_else(|| self.malformed(self.at, what))?;
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }

    fn array<const N: usize>(&mut self, what: &'static str) -> Result<[u8; N], Malformed> {
        let s = self.take(N, what)?;
        Ok(s.try_into().expect("take gives N bytes"))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, Malformed> {
        Ok(u32::from_le_bytes(self.array(what)?))
    }

    fn u64(&mut self, what: &'static str) -> Result<u64, Malformed> {
        Ok(u64::from_le_bytes(self.array(what)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(id: i64, conc: u32, image: Option<&str>, sim: Option<&str>) -> CurvePoint {
        CurvePoint {
            id,
            conc,
            num_gpus: 8,
            image: image.map(str::to_string),
            simulated: sim.map(str::to_string),
            metrics: Metrics {
                tput_per_gpu: Some(1234.5),
                median_intvty: Some(f64::MIN_POSITIVE),
                completed: Some(u64::MAX),
                failed: Some(0),
                measured_j_per_token: Some(-0.0),
                ..Default::default()
            },
        }
    }

    fn decoded(bytes: &[u8]) -> Result<Vec<CurvePoint>, Malformed> {
        let mut images = Vec::new();
        let mut out = Vec::new();
        let mut pts = Vec::new();
        decode(bytes, &mut images, |p| {
            pts.push((p.id, p.conc, p.num_gpus, p.image, p.simulated, p.metrics))
        })?;
        for (id, conc, num_gpus, image, sim, metrics) in pts {
            out.push(CurvePoint {
                id,
                conc,
                num_gpus,
                image: image.map(|i| images[i].to_string()),
                simulated: sim.map(str::to_string),
                metrics,
            });
        }
        Ok(out)
    }

    #[test]
    fn a_curve_reads_back_exactly_by_concurrency() {
        let mut pts = vec![
            point(7, 64, Some("img:b"), None),
            point(3, 4, Some("img:a"), Some(r#"{"basis":"in sample"}"#)),
            point(5, 16, None, None),
            point(9, 32, Some("img:a"), None),
        ];
        let bytes = encode(&mut pts.clone());
        pts.sort_by_key(|p| p.conc);
        let back = decoded(&bytes).unwrap();
        assert_eq!(back, pts);
        // Every absent metric stays absent; the extremes keep their bits.
        assert_eq!(back[0].metrics.p99_e2el_ms, None);
        assert_eq!(back[0].metrics.completed, Some(u64::MAX));
        assert!(back[0]
            .metrics
            .measured_j_per_token
            .unwrap()
            .is_sign_negative());
    }

    #[test]
    fn every_truncation_and_bad_byte_is_an_error_not_a_panic() {
        let bytes = encode(&mut [point(1, 4, Some("i"), Some("{}"))]);
        for n in 0..bytes.len() {
            let e = decoded(&bytes[..n]).unwrap_err().to_string();
            assert!(e.contains("at byte ") && e.contains("expected"), "{e}");
        }
        let mut extra = bytes.clone();
        extra.push(0);
        assert_eq!(
            decoded(&extra).unwrap_err().to_string(),
            format!(
                "a curve's stored columns do not read at byte {}: expected the end of the curve",
                bytes.len()
            )
        );
        // An image index past the curve's images: 4 mark + 4 count + 4 + 1 image + 4 points
        // + 8 id + 4 conc + 4 GPUs.
        let mut bad = bytes.clone();
        bad[33..37].copy_from_slice(&9u32.to_le_bytes());
        assert_eq!(
            decoded(&bad).unwrap_err().to_string(),
            "a curve's stored columns do not read at byte 33: expected an image index within \
             the curve's images"
        );
        let mut huge = bytes;
        huge[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(decoded(&huge).is_err());
    }
}
