//! Tiny tokenizer.json files written by the tests (no downloads).
#![allow(dead_code)]

use serde_json::json;
use std::path::{Path, PathBuf};

/// GPT-2's byte → character alphabet.
pub fn gpt2_byte_to_char() -> Vec<char> {
    let mut n = 0u32;
    (0..=255u32)
        .map(|b| {
            let printable = (0x21..=0x7e).contains(&b) || (0xa1..=0xac).contains(&b) || b >= 0xae;
            let c = if printable {
                b
            } else {
                n += 1;
                255 + n
            };
            char::from_u32(c).unwrap()
        })
        .collect()
}

/// A byte-level BPE tokenizer: ids 0..=255 are the 256 bytes (in byte order), then a few
/// merges; `<|endoftext|>` is an added special token with id 262 (HF renumbers added tokens to
/// follow the vocabulary, so a test file must use the next free id).
pub fn byte_level_bpe_json() -> String {
    let alphabet = gpt2_byte_to_char();
    let mut vocab = serde_json::Map::new();
    for (b, c) in alphabet.iter().enumerate() {
        vocab.insert(c.to_string(), json!(b));
    }
    let merges = [
        ("h", "e"),
        ("l", "l"),
        ("he", "ll"),
        ("hell", "o"),
        ("Ġ", "w"),
        ("o", "r"),
    ];
    for (i, (a, b)) in merges.iter().enumerate() {
        vocab.insert(format!("{a}{b}"), json!(256 + i));
    }
    let merges: Vec<String> = merges.iter().map(|(a, b)| format!("{a} {b}")).collect();
    json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [{
            "id": 262, "content": "<|endoftext|>", "single_word": false, "lstrip": false,
            "rstrip": false, "normalized": false, "special": true
        }],
        "normalizer": null,
        "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
        "post_processor": {"type": "ByteLevel", "add_prefix_space": false, "trim_offsets": true, "use_regex": true},
        "decoder": {"type": "ByteLevel", "add_prefix_space": true, "trim_offsets": true, "use_regex": true},
        "model": {
            "type": "BPE", "dropout": null, "unk_token": null, "continuing_subword_prefix": null,
            "end_of_word_suffix": null, "fuse_unk": false, "byte_fallback": false,
            "ignore_merges": false, "vocab": vocab, "merges": merges
        }
    })
    .to_string()
}

/// A whitespace WordLevel tokenizer (not byte-level) with no decoder.
pub fn word_level_json() -> String {
    json!({
        "version": "1.0",
        "truncation": null,
        "padding": null,
        "added_tokens": [],
        "normalizer": null,
        "pre_tokenizer": {"type": "Whitespace"},
        "post_processor": null,
        "decoder": null,
        "model": {
            "type": "WordLevel",
            "vocab": {"[UNK]": 0, "hello": 1, "world": 2, "again": 3},
            "unk_token": "[UNK]"
        }
    })
    .to_string()
}

pub fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
    let p = dir.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(&p, text).unwrap();
    p
}

/// A fake HF hub cache holding `acme/tiny` with two snapshots: `abc123` (byte-level BPE, named by
/// refs/main) and `000old` (WordLevel, sorted first by name).
pub fn fake_cache(root: &Path) -> PathBuf {
    let cache = root.join("hub");
    let repo = "models--acme--tiny";
    write(&cache, &format!("{repo}/refs/main"), "abc123\n");
    write(
        &cache,
        &format!("{repo}/snapshots/abc123/tokenizer.json"),
        &byte_level_bpe_json(),
    );
    write(
        &cache,
        &format!("{repo}/snapshots/000old/tokenizer.json"),
        &word_level_json(),
    );
    // A second repo without refs/main: the first snapshot with a tokenizer.json wins.
    write(
        &cache,
        "models--acme--norefs/snapshots/bbb/tokenizer.json",
        &word_level_json(),
    );
    std::fs::create_dir_all(cache.join("models--acme--norefs/snapshots/aaa")).unwrap();
    cache
}
