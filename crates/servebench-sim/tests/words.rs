//! The output words are one token each with the real cl100k_base and o200k_base encodings,
//! alone and concatenated, so a client that re-tokenizes the output counts exactly the tokens
//! the server sent.

use servebench_sim::openai::{output_text, WORDS};
use servebench_tokenizer::Tokenizer;

#[test]
fn each_word_and_any_run_of_words_is_one_token_per_word() {
    for name in ["cl100k_base", "o200k_base"] {
        let tok = Tokenizer::builtin(name).unwrap();
        for w in WORDS {
            assert_eq!(tok.count(w), 1, "{name}: {w:?}");
        }
        for first in [0u32, 1, 7, 15] {
            for n in [1u32, 2, 16, 17, 100, 1000] {
                let text = output_text(first, n);
                let ids = tok.encode(&text);
                assert_eq!(
                    ids.len(),
                    n as usize,
                    "{name}: tokens {first}..{}",
                    first + n
                );
                // And they decode back to the same text.
                assert_eq!(tok.decode(&ids), text);
            }
        }
    }
}
