//! The small, fast, non-cryptographic hashes prompts and caches are keyed by.

/// SplitMix64's finaliser: a well-mixed 64-bit hash of a 64-bit value.
pub fn mix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

/// FNV-1a of bytes.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The chained hashes of a token sequence's full blocks of `block` tokens: block i's hash
/// covers tokens `0 .. (i + 1) × block`, so two sequences share their first k hashes exactly
/// when they share their first k blocks of tokens (a prefix cache's key; vLLM's scheme).
pub fn chained_block_hashes(tokens: &[u32], block: usize) -> Vec<u64> {
    chained(tokens, block, false)
}

/// [`chained_block_hashes`], and the last, partial block's too: a trace's ids cover every
/// token of a prompt (Mooncake's and InferenceX's `hash_ids`).
pub fn chained_block_ids(tokens: &[u32], block: usize) -> Vec<u64> {
    chained(tokens, block, true)
}

fn chained(tokens: &[u32], block: usize, partial: bool) -> Vec<u64> {
    let block = block.max(1);
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    tokens
        .chunks(block)
        .take_while(|chunk| partial || chunk.len() == block)
        .map(|chunk| {
            for &t in chunk {
                h = (h ^ u64::from(t)).wrapping_mul(0x0100_0000_01b3);
            }
            // Mixed once per block, so equal blocks after different prefixes differ.
            h = mix64(h);
            h
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_cover_everything_before_their_block() {
        let a = chained_block_hashes(&[1, 2, 3, 4, 5, 6, 7], 2);
        let b = chained_block_hashes(&[1, 2, 3, 4, 9, 9], 2);
        let c = chained_block_hashes(&[9, 9, 3, 4], 2);
        assert_eq!(a.len(), 3, "full blocks only");
        assert_eq!(a[..2], b[..2]);
        assert_ne!(a[2], b[2]);
        // Same tokens, another prefix: another block.
        assert_ne!(a[1], c[1]);
        // With the partial tail: the full blocks' ids, then one more.
        let ids = chained_block_ids(&[1, 2, 3, 4, 5, 6, 7], 2);
        assert_eq!((ids.len(), &ids[..3]), (4, &a[..]));
        assert_ne!(ids[3], chained_block_ids(&[1, 2, 3, 4, 5, 6, 7, 8], 2)[3]);
    }

    #[test]
    fn the_mixer_and_fnv_match_their_reference_values() {
        // SplitMix64 seeded with 0 gives 0xe220a8397b1dcdaf first (Vigna's reference output).
        assert_eq!(mix64(0), 0xe220_a839_7b1d_cdaf);
        // FNV-1a 64 of "a" (the published test vector).
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }
}
