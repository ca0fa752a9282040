//! A server's base URL, parsed once (by the `url` crate) wherever servebench talks to a server:
//! `http://HOST:PORT[/PREFIX]` or `https://…`, IPv6 literals included (`http://[::1]:8000`).

use std::fmt;

/// A parsed base URL: scheme, host, port and path prefix (no trailing `/`).
#[derive(Clone, PartialEq, Eq)]
pub struct BaseUrl {
    tls: bool,
    /// As the URL writes it: a name, an IPv4 address or a bracketed IPv6 address.
    host: String,
    port: u16,
    prefix: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{url}: {reason}")]
pub struct UrlError {
    /// The URL as given, credentials masked.
    pub url: String,
    pub reason: String,
}

impl BaseUrl {
    /// Parses `text`; credentials (`user:password@`), queries and fragments are refused (an
    /// API key goes in `--api-key-env`, headers in `--header`).
    pub fn parse(text: &str) -> Result<BaseUrl, UrlError> {
        let err = |reason: &str| UrlError {
            url: crate::redact::url(text),
            reason: reason.to_string(),
        };
        let u = url::Url::parse(text.trim()).map_err(|e| {
            err(&format!(
                "not a URL ({e}); expected http://HOST:PORT[/PREFIX]"
            ))
        })?;
        let tls = match u.scheme() {
            "http" => false,
            "https" => true,
            other => {
                return Err(err(&format!(
                    "scheme '{other}': expected http:// or https://"
                )))
            }
        };
        if !u.username().is_empty() || u.password().is_some() {
            return Err(err(
                "credentials in the URL are not sent; put the API key in an environment \
                 variable and name it with --api-key-env, or pass --header",
            ));
        }
        if u.query().is_some() || u.fragment().is_some() {
            return Err(err(
                "a base URL has no query or fragment; expected http://HOST:PORT[/PREFIX]",
            ));
        }
        let host = match u.host() {
            Some(url::Host::Ipv6(a)) => format!("[{a}]"),
            Some(h) => h.to_string(),
            None => return Err(err("no host; expected http://HOST:PORT[/PREFIX]")),
        };
        let port = u.port_or_known_default().ok_or_else(|| err("no port"))?;
        Ok(BaseUrl {
            tls,
            host,
            port,
            prefix: u.path().trim_end_matches('/').to_string(),
        })
    }

    /// Whether requests go over TLS (`https`).
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The host as a TLS server name wants it: a name or an address, without brackets.
    pub fn host(&self) -> &str {
        self.host.trim_start_matches('[').trim_end_matches(']')
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `host:port` (`[::1]:8000`): the `Host` header and what a resolver takes.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The path prefix (`""` or `/proxy/v1`), without a trailing `/`.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The path of an API route (`/v1/models`) under the prefix; a prefix already ending in
    /// `/v1` (as OpenAI client settings usually do) is not doubled.
    pub fn api_path(&self, route: &str) -> String {
        match (self.prefix.strip_suffix("/v1"), route.strip_prefix("/v1")) {
            (Some(p), Some(rest)) => format!("{p}/v1{rest}"),
            _ => format!("{}{route}", self.prefix),
        }
    }

    /// The full URL of `path` (a path from [`Self::api_path`] or an absolute one).
    pub fn join(&self, path: &str) -> String {
        format!(
            "{}://{}{path}",
            if self.tls { "https" } else { "http" },
            self.authority()
        )
    }

    /// The base URL itself, as it is shown and stored.
    pub fn as_string(&self) -> String {
        self.join(&self.prefix)
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.as_string())
    }
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "BaseUrl({self})")
    }
}

impl std::str::FromStr for BaseUrl {
    type Err = UrlError;
    fn from_str(s: &str) -> Result<Self, UrlError> {
        BaseUrl::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let u = BaseUrl::parse("http://127.0.0.1:8000").unwrap();
        assert_eq!(
            (u.authority(), u.prefix(), u.is_tls()),
            ("127.0.0.1:8000".into(), "", false)
        );
        let u = BaseUrl::parse("http://[::1]:8000/v1/").unwrap();
        assert_eq!(
            (u.authority().as_str(), u.host(), u.prefix()),
            ("[::1]:8000", "::1", "/v1")
        );
        assert_eq!(u.api_path("/v1/models"), "/v1/models");
        assert_eq!(
            u.join(&u.api_path("/v1/models")),
            "http://[::1]:8000/v1/models"
        );
        let u = BaseUrl::parse("https://api.example.com/proxy").unwrap();
        assert_eq!((u.port(), u.is_tls()), (443, true));
        assert_eq!(
            u.api_path("/v1/chat/completions"),
            "/proxy/v1/chat/completions"
        );
        assert_eq!(u.api_path("/metrics"), "/proxy/metrics");
        assert_eq!(BaseUrl::parse("http://h").unwrap().authority(), "h:80");
    }

    #[test]
    fn refusals_name_the_url_without_its_password() {
        let e = BaseUrl::parse("http://user:pw-s3cret@h:1/").unwrap_err();
        assert!(e.to_string().contains("http://user:***@h:1/"), "{e}");
        assert!(!e.to_string().contains("pw-s3cret"));
        for bad in [
            "ftp://h",
            "127.0.0.1:8000",
            "http://",
            "http://h/?a=1",
            "not a url",
        ] {
            assert!(BaseUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
