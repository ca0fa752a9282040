//! Counting prompt tokens.
//!
//! The sim does not tokenize by itself: the CLI adapts a real tokenizer (`servebench-tokenizer`)
//! into a [`PromptCounter`]. Without one, [`WhitespaceWords`] is used: it counts
//! whitespace-separated words. That is a stand-in for tests, NOT a tokenizer; its "token ids"
//! are hashes of the words.

/// Counts (and encodes) prompt text for the `usage` numbers and `/tokenize`.
pub trait PromptCounter: Send + Sync {
    /// Number of tokens of `text`.
    fn count(&self, text: &str) -> usize;
    /// Token ids of `text` (`encode(t).len() == count(t)`).
    fn encode(&self, text: &str) -> Vec<u32>;
}

impl PromptCounter for servebench_tokenizer::Tokenizer {
    fn count(&self, text: &str) -> usize {
        servebench_tokenizer::Tokenizer::count(self, text)
    }
    fn encode(&self, text: &str) -> Vec<u32> {
        servebench_tokenizer::Tokenizer::encode(self, text)
    }
}

/// Fallback when no tokenizer is configured: one "token" per whitespace-separated word.
/// Not a tokenizer; the ids are 17-bit FNV-1a hashes of the words.
#[derive(Debug, Clone, Copy, Default)]
pub struct WhitespaceWords;

impl PromptCounter for WhitespaceWords {
    fn count(&self, text: &str) -> usize {
        text.split_whitespace().count()
    }

    fn encode(&self, text: &str) -> Vec<u32> {
        text.split_whitespace()
            .map(|w| {
                let mut h: u32 = 0x811c_9dc5;
                for b in w.bytes() {
                    h ^= b as u32;
                    h = h.wrapping_mul(0x0100_0193);
                }
                h & 0x1_ffff
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whitespace_words_counts_words() {
        let c = WhitespaceWords;
        assert_eq!(c.count(""), 0);
        assert_eq!(c.count("  hello \n world\tagain "), 3);
        let e = c.encode("a b a");
        assert_eq!(e.len(), 3);
        assert_eq!(e[0], e[2]);
        assert_ne!(e[0], e[1]);
    }
}
