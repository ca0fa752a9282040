//! Offline tokenizers for servebench: HuggingFace `tokenizer.json` files and the tiktoken
//! encodings embedded in the binary. Nothing here ever touches the network.
//!
//! # Resolution order ([`Tokenizer::resolve`])
//!
//! Given the `--tokenizer` argument (`arg`, optional) and the `--model` name:
//!
//! 1. **Path.** `arg` names a `tokenizer.json` file, or a directory holding one. (With no
//!    `arg`, the model name is tried as a path too, as vLLM does for local model directories.)
//! 2. **HF cache.** `arg` (or, with no `arg`, `model`) is a hub id `org/name` (or `name`) whose
//!    snapshot is in the local HF hub cache: `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else
//!    `~/.cache/huggingface/hub` (see [`hf_hub_cache_dir`]), at
//!    `models--org--name/snapshots/<rev>/tokenizer.json`, preferring the revision that
//!    `refs/main` names, else the first snapshot by name that has the file.
//! 3. **Built-in.** `arg` is `o200k_base` or `cl100k_base`, optionally written
//!    `tiktoken:o200k_base` (with the prefix, steps 1–2 are skipped).
//! 4. **Fallback.** With no `arg` and nothing found for the model: `o200k_base` when the model
//!    name suggests an OpenAI o200k model (it contains `gpt-oss`, `gpt-4o`, `gpt-4.1` or `gpt-5`,
//!    or has `o1`, `o3` or `o4` as a whole word, e.g. `o3-mini`, so `falcon1`-style names do
//!    not match), else `cl100k_base`; [`Resolved::fallback`] is then `true` so that the caller
//!    can warn that token counts are approximate.
//!
//! An explicit `arg` that matches nothing is an error that lists everything tried.
//!
//! # Encoding and decoding
//!
//! [`Tokenizer::encode`] never adds special tokens (no BOS/EOS; HF post-processors are not
//! applied). tiktoken encodings use `encode_ordinary` (special-token text is ordinary text);
//! HF tokenizers still match added tokens that appear literally in the text, as `transformers`
//! does with `add_special_tokens=False`.
//!
//! [`Tokenizer::decode`] never skips special tokens: every id becomes its text. For byte-level
//! tokenizers (tiktoken; HF with a `ByteLevel` decoder) the result is `String::from_utf8_lossy`
//! of the tokens' concatenated raw bytes, computed from a flat table (tokens that are valid
//! UTF-8 on their own are copied without re-validation); ids that are not in the vocabulary
//! are skipped. This equals tiktoken's `decode_bytes` + lossy conversion and HF's
//! `decode(ids, skip_special_tokens=false)`. Other HF tokenizers use HF's own `decode` with
//! `skip_special_tokens=false`.

mod builtin;
mod hf;
mod table;

pub use builtin::BUILTIN_NAMES;
pub use hf::hf_hub_cache_dir;
pub use table::push_lossy;

use servebench_core::result::TokenizerInfo;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum TokenizerError {
    #[error("cannot read tokenizer file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot load tokenizer {}: {message}", path.display())]
    Load { path: PathBuf, message: String },
    #[error("unknown built-in tokenizer encoding '{0}' (known: o200k_base, cl100k_base)")]
    UnknownBuiltin(String),
    #[error("tokenizer '{arg}' not found; tried: {}", tried.join("; "))]
    NotFound { arg: String, tried: Vec<String> },
}

/// A loaded tokenizer. Cheap to clone (shared state behind an `Arc`); `Send + Sync`.
#[derive(Clone)]
pub struct Tokenizer {
    inner: Arc<Inner>,
}

struct Inner {
    backend: Backend,
    info: TokenizerInfo,
}

enum Backend {
    Tiktoken(&'static builtin::Builtin),
    Hf(Box<hf::HfTokenizer>),
}

/// The outcome of [`Tokenizer::resolve`].
#[derive(Debug, Clone)]
pub struct Resolved {
    pub tokenizer: Tokenizer,
    /// True when nothing matched the model and a built-in encoding was chosen as a stand-in.
    pub fallback: bool,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("name", &self.inner.info.name)
            .field("source", &self.inner.info.source)
            .field("vocab_size", &self.inner.info.vocab_size)
            .finish()
    }
}

impl Tokenizer {
    /// Finds a tokenizer for `arg` (the `--tokenizer` value) or the model; see the module docs
    /// for the order. Reads the HF cache location from the environment ([`hf_hub_cache_dir`]).
    pub fn resolve(arg: Option<&str>, model: &str) -> Result<Resolved, TokenizerError> {
        Self::resolve_with_cache(arg, model, hf_hub_cache_dir().as_deref())
    }

    /// [`Tokenizer::resolve`] with an explicit HF hub cache directory (`None`: no cache).
    pub fn resolve_with_cache(
        arg: Option<&str>,
        model: &str,
        hf_cache: Option<&Path>,
    ) -> Result<Resolved, TokenizerError> {
        let found = |tokenizer| {
            Ok(Resolved {
                tokenizer,
                fallback: false,
            })
        };
        let mut tried = Vec::new();
        let query = arg.unwrap_or(model);
        if query.starts_with("tiktoken:") {
            return found(Self::builtin(query)?);
        }
        if !query.is_empty() {
            if let Some(t) = try_path(query, &mut tried)? {
                return found(t);
            }
            if hf::looks_like_hub_id(query) {
                match hf_cache {
                    Some(cache) => match hf::find_in_cache(cache, query) {
                        Ok(path) => return found(Self::load_file(&path, query.to_string())?),
                        Err(why) => tried.push(why),
                    },
                    None => tried.push("HF cache (no cache directory: HOME is not set)".into()),
                }
            }
        }
        match arg {
            Some(a) => {
                if BUILTIN_NAMES.contains(&a) {
                    return found(Self::builtin(a)?);
                }
                tried.push(format!(
                    "built-in encodings ({}, optionally prefixed 'tiktoken:')",
                    BUILTIN_NAMES.join(", ")
                ));
                Err(TokenizerError::NotFound {
                    arg: a.to_string(),
                    tried,
                })
            }
            None => Ok(Resolved {
                tokenizer: Self::builtin(fallback_encoding(model))?,
                fallback: true,
            }),
        }
    }

    /// A built-in tiktoken encoding: `o200k_base` or `cl100k_base` (optionally `tiktoken:`-prefixed).
    /// The first call per encoding builds it (~0.3 s optimised); later calls share it.
    pub fn builtin(name: &str) -> Result<Tokenizer, TokenizerError> {
        let bare = name.strip_prefix("tiktoken:").unwrap_or(name);
        let b = builtin::get(bare).ok_or_else(|| TokenizerError::UnknownBuiltin(name.into()))?;
        let info = TokenizerInfo {
            name: b.name.to_string(),
            source: format!("builtin:{}", b.name),
            sha256: b.sha256.clone(),
            vocab_size: b.ordinary,
        };
        Ok(Tokenizer {
            inner: Arc::new(Inner {
                backend: Backend::Tiktoken(b),
                info,
            }),
        })
    }

    /// Loads a HuggingFace `tokenizer.json` file.
    pub fn from_file(path: &Path) -> Result<Tokenizer, TokenizerError> {
        Self::load_file(path, path.display().to_string())
    }

    fn load_file(path: &Path, name: String) -> Result<Tokenizer, TokenizerError> {
        let bytes = std::fs::read(path).map_err(|source| TokenizerError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let h = hf::HfTokenizer::from_bytes(&bytes).map_err(|message| TokenizerError::Load {
            path: path.to_path_buf(),
            message,
        })?;
        let info = TokenizerInfo {
            name,
            source: path.display().to_string(),
            sha256: hex::encode(Sha256::digest(&bytes)),
            vocab_size: h.vocab_size,
        };
        Ok(Tokenizer {
            inner: Arc::new(Inner {
                backend: Backend::Hf(Box::new(h)),
                info,
            }),
        })
    }

    /// Token ids of `text`, without special tokens added.
    pub fn encode(&self, text: &str) -> Vec<u32> {
        match &self.inner.backend {
            Backend::Tiktoken(b) => b.bpe.encode_ordinary(text),
            // Encoding errors do not occur with well-formed tokenizer files; should one occur,
            // the text counts as zero tokens.
            Backend::Hf(h) => h
                .tok
                .encode_fast(text, false)
                .map(|e| e.get_ids().to_vec())
                .unwrap_or_default(),
        }
    }

    /// Number of tokens of `text` (same as `encode(text).len()`).
    pub fn count(&self, text: &str) -> usize {
        match &self.inner.backend {
            Backend::Tiktoken(b) => b.bpe.encode_ordinary(text).len(),
            Backend::Hf(h) => h.tok.encode_fast(text, false).map(|e| e.len()).unwrap_or(0),
        }
    }

    /// Text of `ids`; see the module docs (lossy UTF-8, special tokens kept, unknown ids skipped).
    pub fn decode(&self, ids: &[u32]) -> String {
        if let Some(t) = self.table() {
            let mut out = String::with_capacity(ids.len() * 6);
            let mut w = table::LossyWriter::new(&mut out);
            t.decode_into(ids, &mut w);
            w.finish();
            return out;
        }
        match &self.inner.backend {
            Backend::Hf(h) => h.tok.decode(ids, false).unwrap_or_default(),
            Backend::Tiktoken(_) => unreachable!("tiktoken always has a byte table"),
        }
    }

    /// Appends the raw bytes of `ids` to `out` (byte-level tokenizers; unknown ids are skipped).
    /// Returns false, appending nothing, for tokenizers that are not byte-level.
    pub fn decode_bytes_into(&self, ids: &[u32], out: &mut Vec<u8>) -> bool {
        match self.table() {
            Some(t) => {
                t.extend(ids, out);
                true
            }
            None => false,
        }
    }

    /// Appends the raw bytes of the `len` consecutive ids `start, start + 1, ...` taken modulo
    /// [`Tokenizer::vocab_size`] (the runs of InferenceX's random prompts) to `out`: the same
    /// bytes as [`Tokenizer::decode_bytes_into`] on those ids, copied in a few slices.
    /// Returns false, appending nothing, for tokenizers that are not byte-level.
    pub fn run_bytes_into(&self, start: u32, len: u32, out: &mut Vec<u8>) -> bool {
        let Some(t) = self.table() else {
            return false;
        };
        self.for_run(start, len, |lo, hi| t.extend_range(lo, hi, out));
        true
    }

    /// Appends the text of the `len` consecutive ids `start, start + 1, ...` taken modulo
    /// [`Tokenizer::vocab_size`] to `out`: exactly `decode` of those ids (lossy UTF-8), but
    /// copied in a few slices with UTF-8 validation only around partial-character tokens.
    /// Returns false, appending nothing, for tokenizers that are not byte-level.
    pub fn run_text_into(&self, start: u32, len: u32, out: &mut String) -> bool {
        let Some(t) = self.table() else {
            return false;
        };
        let mut w = table::LossyWriter::new(out);
        self.for_run(start, len, |lo, hi| t.decode_range_into(lo, hi, &mut w));
        w.finish();
        true
    }

    /// Splits a run of ids modulo the vocabulary into ranges `lo..hi` without wrap-around.
    fn for_run(&self, start: u32, len: u32, mut f: impl FnMut(u32, u32)) {
        let vocab = self.vocab_size();
        if vocab == 0 {
            return;
        }
        let mut id = start % vocab;
        let mut left = len;
        while left > 0 {
            let n = left.min(vocab - id);
            f(id, id + n);
            left -= n;
            id = 0;
        }
    }

    /// Raw bytes of token `id` for byte-level tokenizers (special tokens: their text); `None`
    /// for ids outside the vocabulary and for tokenizers that are not byte-level.
    #[inline]
    pub fn token_bytes(&self, id: u32) -> Option<&[u8]> {
        self.table()?.get(id)
    }

    /// True for tiktoken encodings and HF tokenizers whose decoder is `ByteLevel`.
    pub fn is_byte_level(&self) -> bool {
        self.table().is_some()
    }

    /// The base vocabulary size without added/special tokens: `transformers`'
    /// `tokenizer.vocab_size` for HF files, the number of ordinary ranks for tiktoken
    /// (cl100k_base: 100,256; o200k_base: 199,998).
    pub fn vocab_size(&self) -> u32 {
        self.inner.info.vocab_size
    }

    /// Name, source, SHA-256 (of the tokenizer.json bytes, or of the embedded `.tiktoken` text)
    /// and base vocabulary size, for the result's provenance.
    pub fn info(&self) -> TokenizerInfo {
        self.inner.info.clone()
    }

    /// Heap bytes of the id → bytes table (0 if not byte-level); the tokenizer's own tables
    /// are not counted.
    pub fn byte_table_heap_bytes(&self) -> usize {
        self.table().map_or(0, |t| t.heap_bytes())
    }

    #[inline]
    fn table(&self) -> Option<&table::ByteTable> {
        match &self.inner.backend {
            Backend::Tiktoken(b) => Some(&b.table),
            Backend::Hf(h) => h.table.as_ref(),
        }
    }
}

/// Step 1 of the resolution: `query` as a file or directory. `Ok(None)` (with the reason noted
/// in `tried`) when there is nothing there; an error when something is there but fails to load.
fn try_path(query: &str, tried: &mut Vec<String>) -> Result<Option<Tokenizer>, TokenizerError> {
    let p = Path::new(query);
    if p.is_file() {
        return Tokenizer::load_file(p, query.to_string()).map(Some);
    }
    if p.is_dir() {
        let f = p.join("tokenizer.json");
        if f.is_file() {
            return Tokenizer::load_file(&f, query.to_string()).map(Some);
        }
        tried.push(format!(
            "path {} (a directory without tokenizer.json)",
            p.display()
        ));
    } else {
        tried.push(format!("path {} (does not exist)", p.display()));
    }
    Ok(None)
}

/// The built-in encoding used when nothing is found for `model`.
pub fn fallback_encoding(model: &str) -> &'static str {
    let m = model.to_ascii_lowercase();
    let long = ["gpt-oss", "gpt-4o", "gpt-4.1", "gpt-5"];
    let is_word_char = |c: char| c.is_ascii_alphanumeric();
    let has_word = |w: &str| {
        m.match_indices(w).any(|(i, _)| {
            let before = m[..i].chars().next_back();
            let after = m[i + w.len()..].chars().next();
            !before.is_some_and(is_word_char) && !after.is_some_and(is_word_char)
        })
    };
    if long.iter().any(|w| m.contains(w)) || ["o1", "o3", "o4"].iter().any(|w| has_word(w)) {
        "o200k_base"
    } else {
        "cl100k_base"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fallback_choice() {
        for m in [
            "openai/gpt-oss-120b",
            "gpt-oss-20b",
            "gpt-4o-mini",
            "GPT-4.1",
            "gpt-5-nano",
            "o1",
            "o3-mini",
            "openai/o4-mini-2025-04-16",
            "o1-preview",
        ] {
            assert_eq!(fallback_encoding(m), "o200k_base", "{m}");
        }
        for m in [
            "meta-llama/Llama-3.3-70B-Instruct",
            "deepseek-ai/DeepSeek-R1-0528",
            "gpt-4",
            "gpt-3.5-turbo",
            "Qwen/Qwen3-32B",
            "falcon1-7b",
            "pythia-410m",
            "",
        ] {
            assert_eq!(fallback_encoding(m), "cl100k_base", "{m}");
        }
    }

    #[test]
    fn hub_id_shapes() {
        assert!(hf::looks_like_hub_id("meta-llama/Llama-3.3-70B-Instruct"));
        assert!(hf::looks_like_hub_id("gpt2"));
        assert!(!hf::looks_like_hub_id("/abs/path"));
        assert!(!hf::looks_like_hub_id("a/b/c"));
        assert!(!hf::looks_like_hub_id("../x"));
        assert!(!hf::looks_like_hub_id("has space/x"));
    }
}
