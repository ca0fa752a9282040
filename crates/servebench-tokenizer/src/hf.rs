//! HuggingFace `tokenizer.json` files (the `tokenizers` crate) and the local HF hub cache.

use crate::table::{byte_level_token_bytes, gpt2_char_to_byte, ByteTable};
use std::path::{Path, PathBuf};
use tokenizers::DecoderWrapper;

pub(crate) struct HfTokenizer {
    pub(crate) tok: tokenizers::Tokenizer,
    /// Present when the decoder is `ByteLevel`: then decoding is byte concatenation.
    pub(crate) table: Option<ByteTable>,
    pub(crate) vocab_size: u32,
}

impl HfTokenizer {
    pub(crate) fn from_bytes(bytes: &[u8]) -> Result<HfTokenizer, String> {
        let mut tok = tokenizers::Tokenizer::from_bytes(bytes).map_err(|e| e.to_string())?;
        // transformers never applies the truncation/padding stored in tokenizer.json unless
        // asked to; neither do we (they would silently change token counts).
        tok.with_truncation(None).map_err(|e| e.to_string())?;
        tok.with_padding(None);
        let vocab_size = u32::try_from(tok.get_vocab_size(false)).unwrap_or(u32::MAX);
        let table = if matches!(tok.get_decoder(), Some(DecoderWrapper::ByteLevel(_))) {
            let max_id = tok.get_vocab(true).values().copied().max().unwrap_or(0);
            let alphabet = gpt2_char_to_byte();
            // Same lookup as `Tokenizer::decode`: added tokens first, then the model's vocabulary.
            Some(ByteTable::build(max_id + 1, |id| {
                tok.id_to_token(id)
                    .map(|t| byte_level_token_bytes(&t, &alphabet))
            }))
        } else {
            None
        };
        Ok(HfTokenizer {
            tok,
            table,
            vocab_size,
        })
    }
}

/// The local HF hub cache directory, as `huggingface_hub` finds it: `$HF_HUB_CACHE` (or its
/// legacy name `$HUGGINGFACE_HUB_CACHE`), else `$HF_HOME/hub`, else
/// `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`.
pub fn hf_hub_cache_dir() -> Option<PathBuf> {
    let var = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(p) = var("HF_HUB_CACHE").or_else(|| var("HUGGINGFACE_HUB_CACHE")) {
        return Some(p);
    }
    if let Some(p) = var("HF_HOME") {
        return Some(p.join("hub"));
    }
    if let Some(p) = var("XDG_CACHE_HOME") {
        return Some(p.join("huggingface").join("hub"));
    }
    var("HOME").map(|h| h.join(".cache").join("huggingface").join("hub"))
}

/// Whether `s` looks like a hub id (`name` or `org/name`), so that it is worth a cache lookup.
pub(crate) fn looks_like_hub_id(s: &str) -> bool {
    let parts: Vec<&str> = s.split('/').collect();
    parts.len() <= 2
        && parts.iter().all(|p| {
            !p.is_empty()
                && *p != "."
                && *p != ".."
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        })
}

/// Finds `tokenizer.json` for `id` under `cache`: the snapshot named by `refs/main` if it has
/// one, else the first other snapshot (by name) that has one. `Err` says why nothing was found.
pub(crate) fn find_in_cache(cache: &Path, id: &str) -> Result<PathBuf, String> {
    let repo = cache.join(format!("models--{}", id.replace('/', "--")));
    if !repo.is_dir() {
        return Err(format!("HF cache {} (not present)", repo.display()));
    }
    let snapshots = repo.join("snapshots");
    if let Ok(rev) = std::fs::read_to_string(repo.join("refs").join("main")) {
        let p = snapshots.join(rev.trim()).join("tokenizer.json");
        if p.is_file() {
            return Ok(p);
        }
    }
    let mut revs: Vec<PathBuf> = std::fs::read_dir(&snapshots)
        .map(|rd| rd.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    revs.sort();
    revs.into_iter()
        .map(|r| r.join("tokenizer.json"))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!(
                "HF cache {} (no snapshot has tokenizer.json)",
                snapshots.display()
            )
        })
}
