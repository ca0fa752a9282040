//! The built-in tiktoken encodings that tiktoken-rs embeds (`o200k_base`, `cl100k_base`).
//!
//! Building a `CoreBPE` takes ~0.3 s in release and several seconds unoptimised, so each encoding
//! is built at most once per process and kept in a `OnceLock` (read-only after that).

use crate::table::ByteTable;
use sha2::{Digest, Sha256};
use std::sync::OnceLock;
use tiktoken_rs::CoreBPE;

/// Names accepted by [`crate::Tokenizer::builtin`].
pub const BUILTIN_NAMES: [&str; 2] = ["o200k_base", "cl100k_base"];

pub(crate) struct Builtin {
    pub(crate) name: &'static str,
    pub(crate) bpe: CoreBPE,
    /// Bytes of every ordinary rank followed by the special tokens' text.
    pub(crate) table: ByteTable,
    /// Number of ordinary ranks (`0..ordinary` are all present in both encodings).
    pub(crate) ordinary: u32,
    /// SHA-256 of the embedded `.tiktoken` file text.
    pub(crate) sha256: String,
}

static O200K: OnceLock<Builtin> = OnceLock::new();
static CL100K: OnceLock<Builtin> = OnceLock::new();

/// The cached encoding `name` (without any `tiktoken:` prefix), or `None` if unknown.
pub(crate) fn get(name: &str) -> Option<&'static Builtin> {
    match name {
        "o200k_base" => Some(O200K.get_or_init(|| {
            load(
                "o200k_base",
                tiktoken_rs::o200k_base().expect("embedded o200k_base"),
                &[("<|endoftext|>", 199_999), ("<|endofprompt|>", 200_018)],
            )
        })),
        "cl100k_base" => Some(CL100K.get_or_init(|| {
            load(
                "cl100k_base",
                tiktoken_rs::cl100k_base().expect("embedded cl100k_base"),
                &[
                    ("<|endoftext|>", 100_257),
                    ("<|fim_prefix|>", 100_258),
                    ("<|fim_middle|>", 100_259),
                    ("<|fim_suffix|>", 100_260),
                    ("<|endofprompt|>", 100_276),
                ],
            )
        })),
        _ => None,
    }
}

fn load(name: &'static str, bpe: CoreBPE, specials: &[(&str, u32)]) -> Builtin {
    // Ordinary ranks are contiguous from 0; count them by decoding until the first gap.
    // (Special tokens sit above them, after a gap in both encodings.)
    let mut ordinary = 0u32;
    let mut rank_bytes: Vec<Vec<u8>> = Vec::new();
    let first_special = specials.iter().map(|s| s.1).min().unwrap_or(u32::MAX);
    while ordinary < first_special {
        match bpe.decode_bytes(&[ordinary]) {
            Ok(b) => rank_bytes.push(b),
            Err(_) => break,
        }
        ordinary += 1;
    }
    let max_special = specials.iter().map(|s| s.1).max().unwrap_or(0);
    let n = max_special.max(ordinary.saturating_sub(1)) + 1;
    let table = ByteTable::build(n, |id| {
        if id < ordinary {
            Some(std::mem::take(&mut rank_bytes[id as usize]))
        } else {
            specials
                .iter()
                .find(|s| s.1 == id)
                .map(|s| s.0.as_bytes().to_vec())
        }
    });

    // The `.tiktoken` file is `base64(token bytes) rank\n` per rank in rank order, so the
    // embedded text is reproduced exactly from the table (checked against the published
    // hashes in the tests).
    let mut h = Sha256::new();
    let mut line = String::new();
    for rank in 0..ordinary {
        line.clear();
        base64_encode(table.get(rank).unwrap_or_default(), &mut line);
        line.push(' ');
        line.push_str(&rank.to_string());
        line.push('\n');
        h.update(line.as_bytes());
    }
    Builtin {
        name,
        bpe,
        table,
        ordinary,
        sha256: hex::encode(h.finalize()),
    }
}

fn base64_encode(data: &[u8], out: &mut String) {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let v = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        out.push(A[(v >> 18) as usize & 63] as char);
        out.push(A[(v >> 12) as usize & 63] as char);
        out.push(if chunk.len() > 1 {
            A[(v >> 6) as usize & 63] as char
        } else {
            '='
        });
        out.push(if chunk.len() > 2 {
            A[v as usize & 63] as char
        } else {
            '='
        });
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (input, want) in [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ] {
            let mut s = String::new();
            super::base64_encode(input.as_bytes(), &mut s);
            assert_eq!(s, want);
        }
    }
}
