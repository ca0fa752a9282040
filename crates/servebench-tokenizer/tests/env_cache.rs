//! The only test that sets environment variables; it lives alone in its own test binary (its
//! own process), so no other test can race with it.

mod common;

use servebench_tokenizer::{hf_hub_cache_dir, Tokenizer};

#[test]
fn hf_cache_location_from_environment() {
    let dir = tempfile::tempdir().unwrap();
    let cache = common::fake_cache(dir.path()); // <dir>/hub
    for k in [
        "HF_HUB_CACHE",
        "HUGGINGFACE_HUB_CACHE",
        "HF_HOME",
        "XDG_CACHE_HOME",
    ] {
        std::env::remove_var(k);
    }

    std::env::set_var("HOME", "/home/someone");
    assert_eq!(
        hf_hub_cache_dir().unwrap(),
        std::path::Path::new("/home/someone/.cache/huggingface/hub")
    );

    // $HF_HOME/hub
    std::env::set_var("HF_HOME", dir.path());
    assert_eq!(hf_hub_cache_dir().unwrap(), cache);
    let r = Tokenizer::resolve(None, "acme/tiny").unwrap();
    assert!(!r.fallback);
    assert!(r.tokenizer.is_byte_level());

    // $HF_HUB_CACHE wins over $HF_HOME; an empty value counts as unset.
    std::env::set_var("HF_HUB_CACHE", dir.path().join("elsewhere"));
    assert_eq!(hf_hub_cache_dir().unwrap(), dir.path().join("elsewhere"));
    let r = Tokenizer::resolve(None, "acme/tiny").unwrap();
    assert!(r.fallback, "not in the HF_HUB_CACHE directory");
    std::env::set_var("HF_HUB_CACHE", "");
    assert_eq!(hf_hub_cache_dir().unwrap(), cache);
    std::env::set_var("HF_HUB_CACHE", &cache);
    let r = Tokenizer::resolve(Some("acme/tiny"), "x").unwrap();
    assert!(!r.fallback);
    assert_eq!(r.tokenizer.info().name, "acme/tiny");
}
