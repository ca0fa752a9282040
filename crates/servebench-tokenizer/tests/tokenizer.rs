mod common;

use servebench_tokenizer::{Tokenizer, TokenizerError};
use std::path::Path;

const FOX: &str = "The quick brown fox jumps over the lazy dog.";

#[test]
fn cl100k_builtin() {
    let t = Tokenizer::builtin("cl100k_base").unwrap();
    assert_eq!(t.vocab_size(), 100_256);
    assert!(t.is_byte_level());
    assert_eq!(t.encode("hello world"), vec![15339, 1917]);
    assert_eq!(t.count(FOX), 10);
    for s in [
        FOX,
        "",
        "日本語のテキスト 🦀\n\ttabs",
        "<|endoftext|> is ordinary text here",
    ] {
        assert_eq!(t.decode(&t.encode(s)), s);
    }
    // Special-token text is encoded as ordinary text; the special id decodes to its text.
    assert!(t.encode("<|endoftext|>").len() > 1);
    assert_eq!(t.decode(&[100_257]), "<|endoftext|>");
    assert_eq!(t.token_bytes(100_257), Some(&b"<|endoftext|>"[..]));
    assert_eq!(t.token_bytes(15339), Some(&b"hello"[..]));
    assert_eq!(t.token_bytes(1917), Some(&b" world"[..]));
    // Ids outside the vocabulary (the gap at 100256, beyond the end) are skipped.
    assert_eq!(t.token_bytes(100_256), None);
    assert_eq!(t.decode(&[15339, 100_256, 9_999_999, 1917]), "hello world");
    let info = t.info();
    assert_eq!(info.name, "cl100k_base");
    assert_eq!(info.source, "builtin:cl100k_base");
    assert_eq!(info.vocab_size, 100_256);
    // The published hash of cl100k_base.tiktoken.
    assert_eq!(
        info.sha256,
        "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7"
    );
    // Aliases share the cached encoding.
    let t2 = Tokenizer::builtin("tiktoken:cl100k_base").unwrap();
    assert_eq!(t2.info(), info);
}

#[test]
fn o200k_builtin() {
    let t = Tokenizer::builtin("o200k_base").unwrap();
    assert_eq!(t.vocab_size(), 199_998);
    assert_eq!(t.encode("hello world"), vec![24912, 2375]);
    assert_eq!(t.count(FOX), 10);
    for s in [FOX, "日本語のテキスト 🦀", "  spaces\r\n"] {
        assert_eq!(t.decode(&t.encode(s)), s);
    }
    assert_eq!(t.decode(&[199_999]), "<|endoftext|>");
    assert_eq!(t.token_bytes(199_998), None);
    assert_eq!(
        t.info().sha256,
        "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d"
    );
}

#[test]
fn builtin_decode_is_lossy_on_split_utf8() {
    let t = Tokenizer::builtin("cl100k_base").unwrap();
    // Find a token that is a lone UTF-8 lead byte and check the lossy conversion.
    let lead = (0..t.vocab_size())
        .find(|&id| t.token_bytes(id) == Some(&[0xe6][..]))
        .unwrap();
    let a = t.encode("a")[0];
    assert_eq!(t.decode(&[lead, a]), "\u{fffd}a");
    let mut raw = Vec::new();
    assert!(t.decode_bytes_into(&[lead, a], &mut raw));
    assert_eq!(raw, b"\xe6a");
}

#[test]
fn unknown_builtin_is_an_error() {
    let e = Tokenizer::builtin("p50k_base").unwrap_err();
    assert!(matches!(e, TokenizerError::UnknownBuiltin(_)));
    assert!(e.to_string().contains("o200k_base, cl100k_base"), "{e}");
    let e = Tokenizer::resolve_with_cache(Some("tiktoken:r50k"), "m", None).unwrap_err();
    assert!(e.to_string().contains("'tiktoken:r50k'"), "{e}");
}

#[test]
fn hf_byte_level_bpe_from_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::write(
        dir.path(),
        "tok/tokenizer.json",
        &common::byte_level_bpe_json(),
    );
    let t = Tokenizer::from_file(&path).unwrap();
    assert!(t.is_byte_level());
    assert_eq!(t.vocab_size(), 262);
    let ids = t.encode("hello world");
    // hello, Ġw, or, l, d
    assert_eq!(ids, vec![259, 260, 261, b'l' as u32, b'd' as u32]);
    assert_eq!(t.count("hello world"), 5);
    assert_eq!(t.decode(&ids), "hello world");
    assert_eq!(t.token_bytes(260), Some(&b" w"[..]));
    assert_eq!(t.token_bytes(262), Some(&b"<|endoftext|>"[..]));
    assert_eq!(t.token_bytes(280), None);
    // The added special token is matched in text even without adding special tokens.
    assert_eq!(t.encode("hello<|endoftext|>"), vec![259, 262]);

    // Our fast decode equals HF's decode(skip_special_tokens=false) on arbitrary ids,
    // including split UTF-8 sequences, unknown ids and the special token.
    let hf = tokenizers::Tokenizer::from_file(&path).unwrap();
    let mut state = 12345u64;
    for _ in 0..300 {
        let n = (state % 12) as usize;
        let ids: Vec<u32> = (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                ((state >> 33) % 270) as u32
            })
            .collect();
        assert_eq!(t.decode(&ids), hf.decode(&ids, false).unwrap(), "{ids:?}");
    }
    let info = t.info();
    assert_eq!(info.vocab_size, 262);
    assert_eq!(info.source, path.display().to_string());
    assert_eq!(info.sha256.len(), 64);
    // Directory form.
    let r =
        Tokenizer::resolve_with_cache(Some(dir.path().join("tok").to_str().unwrap()), "m", None)
            .unwrap();
    assert!(!r.fallback);
    assert_eq!(r.tokenizer.info().sha256, info.sha256);
}

#[test]
fn hf_word_level_is_not_byte_level() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::write(dir.path(), "tokenizer.json", &common::word_level_json());
    let t = Tokenizer::from_file(&path).unwrap();
    assert!(!t.is_byte_level());
    assert_eq!(t.vocab_size(), 4);
    assert_eq!(t.encode("hello world again"), vec![1, 2, 3]);
    assert_eq!(t.encode("hello mars"), vec![1, 0]);
    assert_eq!(t.token_bytes(1), None);
    // No decoder: HF joins tokens with spaces.
    assert_eq!(t.decode(&[1, 2]), "hello world");
    let mut out = Vec::new();
    assert!(!t.decode_bytes_into(&[1], &mut out));
    assert!(out.is_empty());
}

#[test]
fn hf_cache_resolution() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::fake_cache(dir.path());
    // refs/main names abc123 (byte-level BPE), although 000old sorts first.
    for (arg, model) in [(Some("acme/tiny"), "other"), (None, "acme/tiny")] {
        let r = Tokenizer::resolve_with_cache(arg, model, Some(&cache)).unwrap();
        assert!(!r.fallback);
        let info = r.tokenizer.info();
        assert_eq!(info.name, "acme/tiny");
        assert!(
            info.source.ends_with("snapshots/abc123/tokenizer.json"),
            "{}",
            info.source
        );
        assert!(r.tokenizer.is_byte_level());
    }
    // Without refs/main: the first snapshot (by name) that has tokenizer.json.
    let r = Tokenizer::resolve_with_cache(None, "acme/norefs", Some(&cache)).unwrap();
    assert!(r
        .tokenizer
        .info()
        .source
        .ends_with("snapshots/bbb/tokenizer.json"));
    assert!(!r.tokenizer.is_byte_level());
}

#[test]
fn builtin_by_name_and_fallbacks() {
    let empty = tempfile::tempdir().unwrap();
    let cache = Some(empty.path());
    let r = Tokenizer::resolve_with_cache(Some("o200k_base"), "whatever", cache).unwrap();
    assert!(!r.fallback);
    assert_eq!(r.tokenizer.info().name, "o200k_base");
    let r = Tokenizer::resolve_with_cache(Some("tiktoken:cl100k_base"), "x", cache).unwrap();
    assert_eq!(r.tokenizer.info().name, "cl100k_base");

    for (model, want) in [
        ("openai/gpt-oss-120b", "o200k_base"),
        ("gpt-4o", "o200k_base"),
        ("o3-mini", "o200k_base"),
        ("meta-llama/Llama-3.3-70B-Instruct", "cl100k_base"),
        ("deepseek-ai/DeepSeek-R1-0528", "cl100k_base"),
    ] {
        let r = Tokenizer::resolve_with_cache(None, model, cache).unwrap();
        assert!(r.fallback, "{model}");
        assert_eq!(r.tokenizer.info().name, want, "{model}");
        assert_eq!(r.tokenizer.info().source, format!("builtin:{want}"));
    }
    // No cache directory at all still falls back.
    let r = Tokenizer::resolve_with_cache(None, "some/model", None).unwrap();
    assert!(r.fallback);
}

#[test]
fn explicit_arg_matching_nothing_names_what_was_tried() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::fake_cache(dir.path());
    let e = Tokenizer::resolve_with_cache(Some("nope/missing"), "m", Some(&cache)).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, TokenizerError::NotFound { .. }));
    assert!(msg.contains("tokenizer 'nope/missing' not found"), "{msg}");
    assert!(msg.contains("path nope/missing (does not exist)"), "{msg}");
    assert!(msg.contains("models--nope--missing (not present)"), "{msg}");
    assert!(
        msg.contains("built-in encodings (o200k_base, cl100k_base"),
        "{msg}"
    );

    // A directory without tokenizer.json, and a repo without any usable snapshot.
    let empty_dir = dir.path().join("emptydir");
    std::fs::create_dir_all(&empty_dir).unwrap();
    let e = Tokenizer::resolve_with_cache(Some(empty_dir.to_str().unwrap()), "m", Some(&cache))
        .unwrap_err()
        .to_string();
    assert!(e.contains("a directory without tokenizer.json"), "{e}");
    std::fs::create_dir_all(cache.join("models--acme--empty/snapshots/x")).unwrap();
    let e = Tokenizer::resolve_with_cache(Some("acme/empty"), "m", Some(&cache))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no snapshot has tokenizer.json"), "{e}");
}

#[test]
fn broken_file_is_a_load_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::write(dir.path(), "tokenizer.json", "{\"not\": \"a tokenizer\"}");
    let e = Tokenizer::from_file(&path).unwrap_err();
    assert!(matches!(e, TokenizerError::Load { .. }));
    assert!(e.to_string().contains(&path.display().to_string()));
    // An existing path that fails to load is an error, not a silent fallback.
    assert!(Tokenizer::resolve_with_cache(None, path.to_str().unwrap(), None).is_err());
    let e = Tokenizer::from_file(Path::new("/definitely/not/here.json")).unwrap_err();
    assert!(matches!(e, TokenizerError::Io { .. }));
}

#[test]
fn tokenizer_is_send_sync_and_shared() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Tokenizer>();
    let t = std::sync::Arc::new(Tokenizer::builtin("cl100k_base").unwrap());
    let counts: Vec<usize> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..4)
            .map(|_| {
                let t = t.clone();
                s.spawn(move || t.count(FOX))
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(counts, vec![10; 4]);
}

#[test]
fn fast_decoding_equals_lossy_conversion_of_the_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let path = common::write(dir.path(), "tokenizer.json", &common::byte_level_bpe_json());
    let hf = Tokenizer::from_file(&path).unwrap();
    let mut state = 7u64;
    let mut next = |m: u32| {
        state = state
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((state >> 33) % u64::from(m)) as u32
    };
    for t in [
        Tokenizer::builtin("cl100k_base").unwrap(),
        Tokenizer::builtin("o200k_base").unwrap(),
        hf,
    ] {
        let v = t.vocab_size();
        // Lone-byte tokens make the lossy conversion matter.
        let raw: Vec<u32> = (0..v)
            .filter(|&id| std::str::from_utf8(t.token_bytes(id).unwrap_or(b"")).is_err())
            .collect();
        assert!(!raw.is_empty());
        for _ in 0..300 {
            let ids: Vec<u32> = (0..next(40))
                .map(|_| match next(3) {
                    0 => raw[next(raw.len() as u32) as usize],
                    1 => next(v + 50),
                    _ => next(v),
                })
                .collect();
            let mut bytes = Vec::new();
            assert!(t.decode_bytes_into(&ids, &mut bytes));
            assert_eq!(t.decode(&ids), String::from_utf8_lossy(&bytes), "{ids:?}");
        }
        let mut starts: Vec<u32> = (0..200).map(|_| next(v)).collect();
        starts.extend(raw.iter().take(50).map(|&id| id.saturating_sub(1)));
        starts.extend([0, v - 1, v - 2, v + 3]);
        for start in starts {
            for len in [0, 1, 3, 64, 1024.min(2 * v + 7)] {
                let ids: Vec<u32> = (0..len)
                    .map(|j| ((u64::from(start) + u64::from(j)) % u64::from(v)) as u32)
                    .collect();
                let (mut a, mut b) = (Vec::new(), Vec::new());
                assert!(t.run_bytes_into(start, len, &mut a));
                assert!(t.decode_bytes_into(&ids, &mut b));
                assert_eq!(a, b, "start {start} len {len}");
                let mut s = String::from("prefix ");
                assert!(t.run_text_into(start, len, &mut s));
                assert_eq!(
                    s,
                    format!("prefix {}", t.decode(&ids)),
                    "start {start} len {len}"
                );
            }
        }
    }
    let dir2 = tempfile::tempdir().unwrap();
    let wl = common::write(dir2.path(), "tokenizer.json", &common::word_level_json());
    let wl = Tokenizer::from_file(&wl).unwrap();
    let (mut out, mut text) = (Vec::new(), String::new());
    assert!(!wl.run_bytes_into(0, 3, &mut out));
    assert!(!wl.run_text_into(0, 3, &mut text));
    assert!(out.is_empty() && text.is_empty());
}
