//! Secrets never leave the process: what servebench writes (results, the store, logs, errors,
//! the dashboard) holds names of secrets, never their values.
//!
//! A **secret name** is a variable or flag name one of whose words (split at `-`, `_`, `.`)
//! is `token`, `apikey`, `secret`, `password`, `passwd`, `pwd`, `credential(s)` or
//! `authorization`, or ends in `token`, `secret`, `password` or `apikey`, or is `key` alone or
//! after a word that says which (`api`, `access`, `private`, `ssh`, …): `HF_TOKEN`,
//! `--api-key`, `AWS_SECRET_ACCESS_KEY`, `hftoken`, `--key`. Not secret: a name whose last word
//! says where a secret is (`--api-key-env`, `HF_TOKEN_PATH`), `--max-num-batched-tokens` (a
//! tuning knob) and `config_key`. A secret name's value is replaced by [`MASK`], and so is the password (and the user)
//! of any URL, a `Bearer` credential and the known token shapes (`hf_…`, `sk-…`).

use regex::{Captures, Regex};
use std::borrow::Cow;
use std::sync::OnceLock;

/// What a secret value is replaced with.
pub const MASK: &str = "***";

/// Whether `name` (an environment variable, a flag without its dashes, a JSON key) names a
/// secret.
pub fn is_secret_name(name: &str) -> bool {
    const WORDS: &[&str] = &[
        "token",
        "apikey",
        "secret",
        "password",
        "passwd",
        "pwd",
        "credential",
        "credentials",
        "authorization",
    ];
    const SUFFIXES: &[&str] = &["token", "secret", "password", "apikey"];
    // `key` alone is too common (`config_key`); these say which key is meant.
    const KEY_KINDS: &[&str] = &[
        "api",
        "access",
        "secret",
        "private",
        "client",
        "service",
        "signing",
        "auth",
        "account",
        "master",
        "license",
        "session",
        "ssh",
        "encryption",
    ];
    // Where a secret is (`--api-key-env`, `--hf-token-path`), not the secret.
    const POINTERS: &[&str] = &[
        "env", "var", "file", "path", "name", "dir", "id", "ids", "len", "length", "count", "type",
    ];
    let words: Vec<String> = name
        .trim_start_matches('-')
        .split(['-', '_', '.'])
        .filter(|w| !w.is_empty())
        .map(str::to_ascii_lowercase)
        .collect();
    if words.last().is_none_or(|w| POINTERS.contains(&w.as_str())) {
        return false;
    }
    words.iter().enumerate().any(|(i, w)| {
        WORDS.contains(&w.as_str())
            || SUFFIXES.iter().any(|s| w.ends_with(s))
            || (w == "key"
                && (words.len() == 1 || (i > 0 && KEY_KINDS.contains(&words[i - 1].as_str()))))
    })
}

/// `value` with URL credentials, bearer tokens and known token shapes masked (anything else
/// unchanged).
pub fn value(value: &str) -> Cow<'_, str> {
    let url = url_credentials(value);
    match known_tokens().replace_all(&url, MASK) {
        Cow::Borrowed(_) => url,
        Cow::Owned(s) => Cow::Owned(s),
    }
}

/// A URL for messages: `scheme://user:***@host/…?password=***`, parsed (not pattern-matched)
/// so that every place a credential can sit is found. Text that is not a URL goes through
/// [`value`].
pub fn url(text: &str) -> String {
    let Ok(mut u) = ::url::Url::parse(text) else {
        return value(text).into_owned();
    };
    if u.password().is_some() {
        let _ = u.set_password(Some(MASK));
    }
    if u.query().is_some() {
        let pairs: Vec<(String, String)> = u
            .query_pairs()
            .map(|(k, v)| {
                let v = if is_secret_name(&k) {
                    MASK.to_string()
                } else {
                    v.into_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    // The serialiser percent-encodes the mask; say it plainly.
    u.to_string().replace("%2A%2A%2A", MASK)
}

/// An environment variable's value as it may be shown.
pub fn env_value<'a>(name: &str, v: &'a str) -> Cow<'a, str> {
    if is_secret_name(name) {
        Cow::Borrowed(MASK)
    } else {
        value(v)
    }
}

/// A command's arguments as they may be shown: the value of a secret flag (`--api-key X`,
/// `--hf-token=X`) masked, and every other argument through [`value`].
pub fn args(args: &[String]) -> Vec<String> {
    let mut out = Vec::with_capacity(args.len());
    let mut mask_next = false;
    for a in args {
        if std::mem::take(&mut mask_next) && !a.starts_with('-') {
            out.push(MASK.to_string());
            continue;
        }
        if let Some(flag) = a.strip_prefix('-').filter(|_| a.len() > 1) {
            match flag.split_once('=') {
                Some((name, _)) if is_secret_name(name) => {
                    out.push(format!("-{name}={MASK}"));
                    continue;
                }
                None if is_secret_name(flag) => mask_next = true,
                _ => {}
            }
        }
        out.push(value(a).into_owned());
    }
    out
}

/// A shell command line (`A=1 HF_TOKEN=x prog --api-key y`) from a source that may not have
/// redacted it: split as a POSIX shell would, leading assignments and arguments masked, joined
/// again. A line that does not split (an unbalanced quote) is withheld whole.
pub fn command_line(line: &str) -> String {
    let Ok(words) = shell_words::split(line) else {
        return format!("<command withheld: not a shell line> {}", MASK);
    };
    let assignments = words
        .iter()
        .take_while(|w| w.split_once('=').is_some_and(|(k, _)| is_env_var_name(k)))
        .count();
    let env: Vec<(&str, String)> = words[..assignments]
        .iter()
        .map(|w| {
            let (k, v) = w.split_once('=').expect("counted as an assignment");
            (k, env_value(k, v).into_owned())
        })
        .collect();
    let rest = args(&words[assignments..]);
    crate::shell::line(
        env.iter().map(|(k, v)| (*k, v.as_str())),
        rest.iter().map(String::as_str),
    )
}

/// Free text (a server's log, an error message): `name=value` and `"name": "value"` pairs
/// whose name is a secret name, URL credentials, bearer tokens and known token shapes masked.
pub fn text(text: &str) -> Cow<'_, str> {
    static PAIR: OnceLock<Regex> = OnceLock::new();
    let pair = PAIR.get_or_init(|| {
        Regex::new(r#"(?i)([A-Za-z0-9_.-]+)(['"]?\s*[:=]\s*['"]?)([^\s'",}\])]+)"#)
            .expect("valid pattern")
    });
    // Credentials first, so that `Authorization: Bearer x` loses `x`, not `Bearer`.
    let text = value(text);
    let masked = pair.replace_all(&text, |c: &Captures| {
        if is_secret_name(&c[1]) && &c[3] != MASK {
            format!("{}{}{MASK}", &c[1], &c[2])
        } else {
            c[0].to_string()
        }
    });
    if let Cow::Owned(m) = masked {
        return Cow::Owned(m);
    }
    text
}

/// The last `max` bytes of a log file, from a line start, as text with its secrets masked
/// (what servebench keeps of a server's log).
pub fn log_tail(path: &std::path::Path, max: u64) -> std::io::Result<String> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = std::fs::File::open(path)?;
    let len = f.metadata()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(max)))?;
    let mut buf = Vec::new();
    f.take(max).read_to_end(&mut buf)?;
    let raw = String::from_utf8_lossy(&buf);
    let from_line = match raw.split_once('\n') {
        Some((_, rest)) if len > max => rest,
        _ => &raw,
    };
    Ok(text(from_line).into_owned())
}

/// Masks, in place, every secret in a JSON document from outside: the values of
/// secret-named keys, credentials inside strings, and a `server_command` line's secrets.
pub fn json(v: &mut serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::String(s) => {
            if let Cow::Owned(m) = value(s) {
                *s = m;
            }
        }
        Value::Array(a) => a.iter_mut().for_each(json),
        Value::Object(o) => {
            for (k, x) in o.iter_mut() {
                match x {
                    Value::String(s) if k == "server_command" => *s = command_line(s),
                    Value::String(s) if is_secret_name(k) => *s = MASK.to_string(),
                    _ => json(x),
                }
            }
        }
        _ => {}
    }
}

/// Whether `name` is a valid environment variable name (`[A-Za-z_][A-Za-z0-9_]*`).
pub fn is_env_var_name(k: &str) -> bool {
    let mut c = k.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

/// `scheme://user:pass@` and `scheme://user@` in any text.
fn url_credentials(text: &str) -> Cow<'_, str> {
    static USERINFO: OnceLock<Regex> = OnceLock::new();
    let re = USERINFO.get_or_init(|| {
        Regex::new(r"([A-Za-z][A-Za-z0-9+.-]*://)([^/\s@]+)@").expect("valid pattern")
    });
    re.replace_all(text, |c: &Captures| match c[2].split_once(':') {
        Some((user, _)) => format!("{}{user}:{MASK}@", &c[1]),
        None => format!("{}{MASK}@", &c[1]),
    })
}

/// Bearer credentials and the token shapes of the services benchmarks use.
fn known_tokens() -> &'static Regex {
    static TOKENS: OnceLock<Regex> = OnceLock::new();
    TOKENS.get_or_init(|| {
        Regex::new(
            r"(?x)
              \bhf_[A-Za-z0-9]{20,}            # Hugging Face
            | \bsk-[A-Za-z0-9_-]{16,}          # OpenAI-style API keys
            | \bgh[pousr]_[A-Za-z0-9]{20,}     # GitHub
            | \bxox[baprs]-[A-Za-z0-9-]{10,}   # Slack
            | (?i:\b(?:bearer|basic)\s+)[A-Za-z0-9._~+/=-]{8,}",
        )
        .expect("valid pattern")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        for s in [
            "HF_TOKEN",
            "HUGGING_FACE_HUB_TOKEN",
            "--api-key",
            "--hf-token",
            "OPENAI_API_KEY",
            "AWS_SECRET_ACCESS_KEY",
            "PGPASSWORD",
            "password",
            "hftoken",
            "Authorization",
            "--key",
            "NGC_API_KEY",
        ] {
            assert!(is_secret_name(s), "{s}");
        }
        for s in [
            "--max-num-batched-tokens",
            "MAX_NUM_BATCHED_TOKENS",
            "--tokenizer",
            "--kv-cache-dtype",
            "VLLM_USE_V1",
            "--port",
            "keyboard",
            "--api-key-env",
            "api_key_env",
            "config_key",
            "HF_TOKEN_PATH",
            "token_ids",
        ] {
            assert!(!is_secret_name(s), "{s}");
        }
    }

    #[test]
    fn urls_are_parsed_not_guessed() {
        assert_eq!(
            url("postgres://bench:s3cret@127.0.0.1:55432/bench"),
            "postgres://bench:***@127.0.0.1:55432/bench"
        );
        assert_eq!(
            url("postgres://127.0.0.1/x?user=a&password=s3cret&sslmode=disable"),
            "postgres://127.0.0.1/x?user=a&password=***&sslmode=disable"
        );
        // An '@' inside the password is still the password's.
        assert_eq!(
            url("http://u:p@ss@[::1]:8000/v1"),
            "http://u:***@[::1]:8000/v1"
        );
        assert_eq!(url("http://[::1]:8000/v1"), "http://[::1]:8000/v1");
        assert_eq!(url("sqlite:servebench.db"), "sqlite:servebench.db");
    }

    #[test]
    fn commands_keep_their_shape_and_lose_their_secrets() {
        let a: Vec<String> = [
            "serve",
            "m",
            "--api-key",
            "sk-abcdef",
            "--hf-token=hf_x",
            "--max-num-batched-tokens",
            "8192",
            "--url",
            "http://u:pw@h:1/",
        ]
        .map(String::from)
        .to_vec();
        assert_eq!(
            args(&a),
            [
                "serve",
                "m",
                "--api-key",
                "***",
                "--hf-token=***",
                "--max-num-batched-tokens",
                "8192",
                "--url",
                "http://u:***@h:1/"
            ]
        );
        assert_eq!(
            command_line("HF_TOKEN=hf_abc VLLM_X=1 vllm serve m --api-key 'sk 1' --tp 8"),
            "HF_TOKEN='***' VLLM_X=1 vllm serve m --api-key '***' --tp 8"
        );
        assert!(!command_line("A='unterminated").contains("unterminated"));
    }

    #[test]
    fn free_text() {
        let log = "non-default args: {'api_key': 'sk-local-secret', 'max_num_seqs': 256}\n\
                   HF_TOKEN=hf_AAAAAAAAAAAAAAAAAAAAAAAA token: abc password=hunter2 \
                   Authorization: Bearer abcdefghijkl tokens=8192";
        let out = text(log);
        for secret in [
            "sk-local-secret",
            "hf_AAAA",
            "abc ",
            "hunter2",
            "abcdefghijkl",
        ] {
            assert!(!out.contains(secret), "{secret} in {out}");
        }
        assert!(
            out.contains("'max_num_seqs': 256") && out.contains("tokens=8192"),
            "{out}"
        );
    }
}
