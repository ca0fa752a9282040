//! Answers out of model outputs: numbers (GSM8K), LaTeX boxed answers (MATH), and the option
//! letter of a multiple-choice question (GPQA), each normalised for exact-match scoring.

use regex::Regex;
use std::sync::OnceLock;

fn re(cell: &'static OnceLock<Regex>, pattern: &str) -> &'static Regex {
    cell.get_or_init(|| Regex::new(pattern).expect("a valid pattern"))
}

/// The text a model answered with: reasoning in `<think>…</think>` removed (an unclosed block
/// runs to the end, leaving nothing).
pub fn strip_thinking(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("<think>") {
        out.push_str(&rest[..i]);
        match rest[i..].find("</think>") {
            Some(j) => rest = &rest[i + j + "</think>".len()..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// GSM8K's strict rule: the number after the last `#### `.
pub fn gsm8k_strict(text: &str) -> Option<String> {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"#### (-?[0-9.,]+)")
        .captures_iter(text)
        .last()
        .map(|c| normalize_number(&c[1]))
}

/// GSM8K's flexible rule: the last number anywhere (`$1,234.50`, `-7`, `42.`).
pub fn gsm8k_flexible(text: &str) -> Option<String> {
    static R: OnceLock<Regex> = OnceLock::new();
    re(&R, r"(-?[$0-9.,]{2,})|(-?[0-9]+)")
        .find_iter(text)
        .map(|m| normalize_number(m.as_str()))
        .filter(|s| s.chars().any(|c| c.is_ascii_digit()))
        .last()
}

/// `$1,234.` → `1234`: commas, dollar signs and a trailing period go (InferenceX's GSM8K
/// rules), and a number with a zero fraction is written without it (`72.00` → `72`).
pub fn normalize_number(s: &str) -> String {
    let mut t: String = s.chars().filter(|c| *c != ',' && *c != '$').collect();
    while t.ends_with('.') {
        t.pop();
    }
    if let Ok(x) = t.parse::<f64>() {
        if x.fract() == 0.0 && x.abs() < 1e15 {
            return format!("{}", x as i64);
        }
    }
    t
}

/// Whether two GSM8K answers are the same number (or, failing to parse, the same text).
pub fn same_number(a: &str, b: &str) -> bool {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => (x - y).abs() <= 1e-9 * x.abs().max(y.abs()).max(1.0),
        _ => a.eq_ignore_ascii_case(b),
    }
}

/// The content of the last `\boxed{…}` (or `\fbox{…}`, or `\boxed 5`), braces balanced.
pub fn last_boxed(text: &str) -> Option<String> {
    let (i, tag) = ["\\boxed", "\\fbox"]
        .iter()
        .filter_map(|t| text.rfind(t).map(|i| (i, *t)))
        .max_by_key(|(i, _)| *i)?;
    let rest = &text[i + tag.len()..];
    if let Some(r) = rest.strip_prefix(' ') {
        // `\boxed 5`: up to the next `$` or whitespace.
        let end = r
            .find(|c: char| c == '$' || c.is_whitespace())
            .unwrap_or(r.len());
        return Some(r[..end].to_string());
    }
    let body = rest.strip_prefix('{')?;
    let mut depth = 1;
    for (j, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    return Some(body[..j].to_string());
                }
            }
            _ => {}
        }
    }
    None
}

/// A MATH answer in canonical form (after Hendrycks et al.'s `strip_string`): no spaces, units,
/// `\left`/`\right`, degrees, dollar and percent signs; `\dfrac` and `\tfrac` as `\frac`,
/// `\frac12` as `\frac{1}{2}`, `a/b` as `\frac{a}{b}`, `0.5` as `\frac{1}{2}`, `.5` as `0.5`,
/// `x = 3` as `3`, `\sqrt3` as `\sqrt{3}`, `\text{(B)}` as `(B)`.
pub fn normalize_math(s: &str) -> String {
    let mut t = s.replace(['\n', '\r'], "").replace("\\!", "");
    while t.contains("\\\\") {
        t = t.replace("\\\\", "\\");
    }
    for (from, to) in [
        ("tfrac", "frac"),
        ("dfrac", "frac"),
        ("\\left", ""),
        ("\\right", ""),
        ("^{\\circ}", ""),
        ("^\\circ", ""),
        ("\\$", ""),
        ("$", ""),
        ("\\%", ""),
        ("%", ""),
        ("\\displaystyle", ""),
    ] {
        t = t.replace(from, to);
    }
    // Units: "10 \text{ cm}" → "10"; then any remaining \text{x} / \mbox{x} → x.
    if let Some(i) = t.find("\\text{ ") {
        if i > 0 {
            t.truncate(i);
        }
    }
    static TEXT: OnceLock<Regex> = OnceLock::new();
    t = re(&TEXT, r"\\(?:text|textbf|mbox|mathrm)\{([^{}]*)\}")
        .replace_all(&t, "$1")
        .into_owned();
    t = t.replace(" .", " 0.").replace("{.", "{0.");
    let t0 = t.trim().to_string();
    t = if t0.starts_with('.') {
        format!("0{t0}")
    } else {
        t0
    };
    // "x = 3" → "3" (a short left-hand side only).
    if let Some((lhs, rhs)) = t.split_once('=') {
        if lhs.trim().len() <= 2 && !rhs.contains('=') {
            t = rhs.trim().to_string();
        }
    }
    t = fix_sqrt(&t);
    t = t.replace(' ', "");
    t = fix_fracs(&t);
    if t == "0.5" {
        t = "\\frac{1}{2}".into();
    }
    t = fix_a_slash_b(&t);
    while t.ends_with('.') {
        t.pop();
    }
    t
}

fn fix_sqrt(s: &str) -> String {
    // "\sqrt3" → "\sqrt{3}": a single character after \sqrt gets braces.
    let parts: Vec<&str> = s.split("\\sqrt").collect();
    let mut out = parts[0].to_string();
    for p in &parts[1..] {
        out.push_str("\\sqrt");
        let mut ch = p.chars();
        match ch.next() {
            Some(c) if c != '{' && c != '[' && !c.is_whitespace() => {
                out.push('{');
                out.push(c);
                out.push('}');
                out.push_str(ch.as_str());
            }
            _ => out.push_str(p),
        }
    }
    out
}

fn fix_fracs(s: &str) -> String {
    // "\frac12" → "\frac{1}{2}", "\frac1{2}" → "\frac{1}{2}", "\frac{1}2" → "\frac{1}{2}".
    let parts: Vec<&str> = s.split("\\frac").collect();
    let mut out = parts[0].to_string();
    for p in &parts[1..] {
        out.push_str("\\frac");
        let mut rest = *p;
        for _ in 0..2 {
            if let Some(r) = rest.strip_prefix('{') {
                // Copy a braced group as it is.
                let mut depth = 1;
                let mut end = r.len();
                for (j, c) in r.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' => {
                            depth -= 1;
                            if depth == 0 {
                                end = j;
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                out.push('{');
                out.push_str(&r[..end]);
                out.push('}');
                rest = r.get(end + 1..).unwrap_or("");
            } else if let Some(c) = rest.chars().next() {
                out.push('{');
                out.push(c);
                out.push('}');
                rest = &rest[c.len_utf8()..];
            }
        }
        out.push_str(rest);
    }
    out
}

fn fix_a_slash_b(s: &str) -> String {
    if let Some((a, b)) = s.split_once('/') {
        if let (Ok(x), Ok(y)) = (a.parse::<i64>(), b.parse::<i64>()) {
            return format!("\\frac{{{x}}}{{{y}}}");
        }
    }
    s.to_string()
}

/// Whether two MATH answers agree: equal once normalised, or equal as numbers.
pub fn same_math(a: &str, b: &str) -> bool {
    let (x, y) = (normalize_math(a), normalize_math(b));
    if x == y {
        return true;
    }
    let num = |s: &str| s.replace(',', "").parse::<f64>().ok();
    matches!((num(&x), num(&y)), (Some(p), Some(q)) if (p - q).abs() <= 1e-9 * p.abs().max(q.abs()).max(1.0))
}

/// The option letter (A-D) a multiple-choice answer gives, by the most explicit form found
/// (each form's last occurrence): "Answer: C" / "the answer is (C)", then `\boxed{C}`, then a
/// letter in parentheses, then the last line that is a letter alone or starts with one marked
/// as an option ("B)", "B.", "B:"). Capital letters only, and never a letter starting a
/// sentence, so neither "a" nor "A molecule" is read as option A.
pub fn choice_letter(text: &str) -> Option<char> {
    static ANSWER: OnceLock<Regex> = OnceLock::new();
    static BOXED: OnceLock<Regex> = OnceLock::new();
    static PAREN: OnceLock<Regex> = OnceLock::new();
    static ALONE: OnceLock<Regex> = OnceLock::new();
    let letter = |r: &Regex| -> Option<char> {
        r.captures_iter(text)
            .last()
            .and_then(|c| c.get(1))
            .and_then(|m| m.as_str().chars().next())
    };
    letter(re(
        &ANSWER,
        r"(?i:answer)(?:\s+is)?\s*(?:[:：]|\bis\b)?\s*[*_]*\s*(?:option\s+)?\(?\s*([A-D])\s*\)?(?:[^A-Za-z]|$)",
    ))
    .or_else(|| {
        letter(re(
            &BOXED,
            r"\\boxed\{\s*(?:\\text\{)?\s*\(?([A-D])\)?\s*\}?\s*\}",
        ))
    })
    .or_else(|| letter(re(&PAREN, r"\(([A-D])\)")))
    .or_else(|| {
        text.lines()
            .rev()
            .find_map(|l| letter_alone(l, re(&ALONE, r"^\s*[*_]*([A-D])(?:[*_]*\s*$|[).:]\s)")))
    })
}

fn letter_alone(line: &str, r: &Regex) -> Option<char> {
    r.captures_iter(line)
        .last()
        .and_then(|c| c.get(1))
        .and_then(|m| m.as_str().chars().next())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thinking_is_dropped() {
        assert_eq!(strip_thinking("<think>maybe 4</think>#### 5"), "#### 5");
        assert_eq!(strip_thinking("a<think>x</think>b<think>y</think>c"), "abc");
        assert_eq!(strip_thinking("<think>never closed #### 4"), "");
        assert_eq!(strip_thinking("plain #### 4"), "plain #### 4");
    }

    #[test]
    fn gsm8k_numbers() {
        let out = "She sold 48 clips in April and 24 in May, so 48 + 24 = 72.\n#### 72";
        assert_eq!(gsm8k_strict(out).as_deref(), Some("72"));
        assert_eq!(gsm8k_flexible(out).as_deref(), Some("72"));
        // Commas, a trailing period, a zero fraction; a dollar sign is not strict's (as in
        // lm-eval's rule), flexible's takes it.
        assert_eq!(gsm8k_strict("#### 1,234.").as_deref(), Some("1234"));
        assert_eq!(gsm8k_strict("#### $1,234."), None);
        assert_eq!(gsm8k_flexible("#### $1,234.").as_deref(), Some("1234"));
        assert_eq!(gsm8k_strict("#### 72.00").as_deref(), Some("72"));
        assert_eq!(gsm8k_strict("#### -3").as_deref(), Some("-3"));
        assert_eq!(gsm8k_strict("#### 2.5").as_deref(), Some("2.5"));
        // The last "####" counts; without one, strict finds nothing and flexible takes the
        // last number.
        assert_eq!(
            gsm8k_strict("#### 5\nwait, no\n#### 6").as_deref(),
            Some("6")
        );
        assert_eq!(gsm8k_strict("The answer is 18."), None);
        assert_eq!(gsm8k_flexible("The answer is $18.").as_deref(), Some("18"));
        assert_eq!(
            gsm8k_flexible("It costs $1,250.50 in total").as_deref(),
            Some("1250.50")
        );
        assert!(same_number("1250.50", "1250.5"));
        assert_eq!(gsm8k_flexible("no digits here, at all."), None);
        assert!(same_number("18", "18.0"));
        assert!(!same_number("18", "180"));
    }

    #[test]
    fn boxed_answers() {
        assert_eq!(
            last_boxed("so $\\boxed{\\frac{1}{2}}$.").as_deref(),
            Some("\\frac{1}{2}")
        );
        assert_eq!(
            last_boxed("\\boxed{3} then \\boxed{4}").as_deref(),
            Some("4")
        );
        assert_eq!(
            last_boxed("\\boxed{\\{1, 2\\}}").as_deref(),
            Some("\\{1, 2\\}")
        );
        assert_eq!(last_boxed("$\\boxed 5$").as_deref(), Some("5"));
        assert_eq!(last_boxed("\\fbox{x+1}").as_deref(), Some("x+1"));
        assert_eq!(last_boxed("\\boxed{unclosed"), None);
        assert_eq!(last_boxed("no box"), None);
    }

    #[test]
    fn math_answers_compare_after_normalisation() {
        for (a, b) in [
            ("\\dfrac{1}{2}", "\\frac12"),
            ("0.5", "\\frac{1}{2}"),
            ("1/2", "\\frac{1}{2}"),
            ("x = 3", "3"),
            ("10 \\text{ cm}", "10"),
            ("90^\\circ", "90"),
            ("\\left( 3, 4 \\right)", "(3,4)"),
            ("\\sqrt3", "\\sqrt{3}"),
            ("50\\%", "50"),
            ("\\$18.90", "18.90"),
            (".5", "0.5"),
            ("\\text{(B)}", "(B)"),
            ("1,000", "1000"),
            ("3.0", "3"),
        ] {
            assert!(
                same_math(a, b),
                "{a} ≡ {b}: {} vs {}",
                normalize_math(a),
                normalize_math(b)
            );
        }
        for (a, b) in [
            ("\\frac{1}{3}", "\\frac{1}{2}"),
            ("3", "-3"),
            ("(3,4)", "(4,3)"),
        ] {
            assert!(!same_math(a, b), "{a} ≢ {b}");
        }
    }

    #[test]
    fn option_letters() {
        for (text, want) in [
            ("The answer is (C).", Some('C')),
            ("Answer: B", Some('B')),
            ("**Answer:** D", Some('D')),
            ("answer: **A**", Some('A')),
            ("I first thought (A), but the answer is B.", Some('B')),
            ("Therefore, $\\boxed{C}$", Some('C')),
            ("\\boxed{\\text{D}}", Some('D')),
            ("Options (A) and (B) fail; (D) holds.", Some('D')),
            ("A careful look at the data shows it.\nB", Some('B')),
            ("A molecule of water is a dipole.", None),
            ("Weighing both:\nB) the second one", Some('B')),
            ("**C**", Some('C')),
            ("a molecule is small", None),
            ("none of these", None),
            ("Answer: E", None),
        ] {
            assert_eq!(choice_letter(text), want, "{text}");
        }
    }
}
