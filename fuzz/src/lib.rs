//! Helpers shared by the fuzz targets: splitting an input into the pieces a socket might have
//! returned, and a per-process scratch directory for parsers that take file paths.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Splits `data` into (pieces, payload). The first byte says how: its high bit set, one byte
/// per piece (the worst case of a slow socket); else its low 4 bits are the number `k` of cut
/// bytes that follow, each the length of the next piece (0 allowed), the rest of the payload
/// being the last piece. The payload is what follows the header. The concatenation of the
/// pieces is always the payload.
pub fn split(data: &[u8]) -> (Vec<&[u8]>, &[u8]) {
    let Some((&ctl, rest)) = data.split_first() else {
        return (Vec::new(), data);
    };
    if ctl & 0x80 != 0 {
        return (rest.chunks(1).collect(), rest);
    }
    let k = usize::from(ctl & 0x0f).min(rest.len());
    let (cuts, payload) = rest.split_at(k);
    let mut pieces = Vec::with_capacity(k + 1);
    let mut at = 0;
    for &c in cuts {
        let end = (at + usize::from(c)).min(payload.len());
        pieces.push(&payload[at..end]);
        at = end;
    }
    pieces.push(&payload[at..]);
    (pieces, payload)
}

/// Splits at the first NUL byte (several files, or two strings, in one input).
pub fn split_nul(data: &[u8]) -> (&[u8], Option<&[u8]>) {
    match data.iter().position(|&b| b == 0) {
        Some(i) => (&data[..i], Some(&data[i + 1..])),
        None => (data, None),
    }
}

/// A directory of this process's own for scratch files (in RAM where /dev/shm exists).
/// `scripts/fuzz.sh` removes these after its runs.
pub fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let base = if Path::new("/dev/shm").is_dir() {
            PathBuf::from("/dev/shm")
        } else {
            std::env::temp_dir()
        };
        let d = base.join(format!("servebench-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&d).expect("scratch directory");
        d
    })
}

/// Writes `bytes` to `name` in the scratch directory and returns its path.
pub fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let p = scratch().join(name);
    if let Some(parent) = p.parent() {
        std::fs::create_dir_all(parent).expect("scratch subdirectory");
    }
    std::fs::write(&p, bytes).expect("scratch file");
    p
}

/// Removes `name` from the scratch directory if it is there.
pub fn remove(name: &str) {
    let _ = std::fs::remove_file(scratch().join(name));
}

/// A small deterministic byte source for choosing options from an input's first bytes.
pub struct Knobs<'a> {
    bytes: &'a [u8],
}

impl<'a> Knobs<'a> {
    /// Takes `n` option bytes from the front of `data` (zeros if it is shorter); returns the
    /// knobs and the rest.
    pub fn take(data: &'a [u8], n: usize) -> (Knobs<'a>, &'a [u8]) {
        let n = n.min(data.len());
        (Knobs { bytes: &data[..n] }, &data[n..])
    }

    /// Option byte `i` (0 when the input was too short to have it).
    pub fn byte(&self, i: usize) -> u8 {
        self.bytes.get(i).copied().unwrap_or(0)
    }
}

/// The dataset targets' common body.
pub mod dataset {
    use servebench_core::Api;
    use servebench_dataset::{Dataset, DatasetKind, DatasetSpec, Prompt};
    use servebench_tokenizer::Tokenizer;
    use std::sync::OnceLock;

    /// cl100k_base, built once per process.
    pub fn tokenizer() -> &'static Tokenizer {
        static T: OnceLock<Tokenizer> = OnceLock::new();
        T.get_or_init(|| Tokenizer::builtin("cl100k_base").expect("built-in cl100k_base"))
    }

    /// Builds a `kind` dataset from the file `data[1..]` with options from `data[0]`, and
    /// checks what it holds.
    pub fn check(kind: DatasetKind, data: &[u8]) {
        let Some((&ctl, body)) = data.split_first() else {
            return;
        };
        let name = format!("dataset/{}", kind.as_str());
        let path = crate::write(&name, body);
        let spec = DatasetSpec {
            kind,
            path: Some(path),
            isl: 1024,
            osl: if ctl & 0x40 != 0 { 0 } else { 128 },
            osl_override: ctl & 0x01 != 0,
            range_ratio: 1.0,
            seed: u64::from(ctl >> 4),
            num_prompts: usize::from((ctl >> 1) & 0x03) + 1,
            num_warmups: usize::from((ctl >> 3) & 0x01),
            api: if ctl & 0x80 != 0 {
                Api::Chat
            } else {
                Api::Completions
            },
        };
        let Ok(ds) = Dataset::build(&spec, tokenizer(), 1) else {
            return;
        };
        assert_eq!(ds.len(), spec.num_prompts);
        assert_eq!(ds.warmup_len(), spec.num_warmups);
        for i in 0..ds.len() {
            let r = ds.request(i);
            assert!(r.output_len > 0, "request {i} asks for no output");
            if let Prompt::Messages(m) = &r.prompt {
                assert_eq!(spec.api, Api::Chat, "messages without the chat API");
                assert!(serde_json::from_str::<serde_json::Value>(m).is_ok());
            }
        }
        for j in 0..ds.warmup_len() {
            let _ = ds.warmup(j);
        }
        assert_eq!(ds.recompute_sha256(), ds.sha256(), "dataset hash");
        let _ = ds.input_lengths();
        let _ = ds.output_lengths();
        let _ = ds.storage();
    }
}
