//! Answer extraction from model outputs (`servebench_eval::extract`): every public function on
//! arbitrary UTF-8 (the input, or the two strings either side of its first NUL byte for the
//! comparisons). No panic, and the properties the scorers rely on: extracted answers are in
//! range, a boxed answer is a piece of the text, the comparisons are symmetric, and a MATH
//! answer matches itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use servebench_eval::extract::*;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (a, b) = text.split_once('\0').unwrap_or((text, text));

    let stripped = strip_thinking(text);
    assert!(stripped.len() <= text.len());
    assert!(!stripped.contains("<think>") || text.contains("</think>"));

    if let Some(n) = gsm8k_strict(text) {
        let _ = normalize_number(&n);
    }
    if let Some(n) = gsm8k_flexible(text) {
        assert!(n.chars().any(|c| c.is_ascii_digit()), "flexible answer without a digit: {n:?}");
    }
    let n = normalize_number(a);
    assert!(!n.contains(',') && !n.contains('$'));

    assert_eq!(same_number(a, b), same_number(b, a), "same_number is not symmetric");
    if a.parse::<f64>().is_ok_and(f64::is_finite) {
        assert!(same_number(a, a));
    }

    if let Some(boxed) = last_boxed(text) {
        assert!(text.contains(boxed.as_str()), "boxed answer not in the text");
    }
    let m = normalize_math(a);
    let _ = normalize_math(&m);
    assert!(same_math(a, a), "a MATH answer does not match itself");
    assert_eq!(same_math(a, b), same_math(b, a), "same_math is not symmetric");

    if let Some(c) = choice_letter(text) {
        assert!(('A'..='D').contains(&c), "choice letter {c:?}");
    }
});
