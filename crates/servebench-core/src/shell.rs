//! POSIX shell words: quoting for command lines servebench shows and writes.

/// `s` as one POSIX shell word (quoted only when it needs to be).
pub fn quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=,@+%".contains(c))
    {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// A command line: `NAME=value` assignments, then the program and its arguments, each quoted.
pub fn line<'a>(
    env: impl IntoIterator<Item = (&'a str, &'a str)>,
    words: impl IntoIterator<Item = &'a str>,
) -> String {
    let mut parts: Vec<String> = env
        .into_iter()
        .map(|(k, v)| format!("{k}={}", quote(v)))
        .collect();
    parts.extend(words.into_iter().map(quote));
    parts.join(" ")
}
