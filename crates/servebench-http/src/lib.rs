//! servebench's HTTP client for everything off the benchmark's hot path: reachability and
//! `/v1/models` probes, `/tokenize`, accuracy evals, `/metrics` scrapes, `/sim/power` and health
//! checks. One well-kept library client (ureq: HTTP/1.1 with `Content-Length`, chunked,
//! `100 Continue` and gzip handled, rustls on the `ring` provider) behind one small API, so each
//! caller gets the same framing, timeouts, TLS options and error wording. The benchmark's own
//! requests keep their hand-written client (`servebench-client`), which stamps every read.
//!
//! Errors name the URL (which [`BaseUrl`] guarantees has no credentials) and say what failed
//! once; an API key is sent, never shown.

pub mod tls;

use servebench_core::endpoint::BaseUrl;
use std::path::{Path, PathBuf};
use std::time::Duration;
use ureq::tls::{PemItem, RootCerts, TlsConfig};

/// How to verify a server's certificate.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// Accept any certificate (`--insecure`): for self-signed test servers only.
    pub insecure: bool,
    /// Trust these PEM certificates instead of the built-in roots (`--ca-cert`).
    pub ca_cert: Option<PathBuf>,
}

/// What a client is configured with.
#[derive(Debug, Clone)]
pub struct Options {
    /// The whole exchange, connect to last body byte.
    pub timeout: Duration,
    /// Connecting alone (a dropped SYN must not block for minutes).
    pub connect_timeout: Duration,
    /// Sent as `Authorization: Bearer …`.
    pub api_key: Option<String>,
    pub tls: TlsOptions,
    /// The largest body read; more is an error, not an allocation.
    pub max_body: u64,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            api_key: None,
            tls: TlsOptions::default(),
            max_body: 64 << 20,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// Nothing answered: no such host, refused, unreachable.
    #[error("{url}: cannot connect: {reason}")]
    Connect { url: String, reason: String },
    /// No complete answer in time.
    #[error("{url}: no answer within {timeout_s:.0} s")]
    Timeout { url: String, timeout_s: f64 },
    /// The answer broke off or was not HTTP.
    #[error("{url}: {reason}")]
    Protocol { url: String, reason: String },
    /// `--ca-cert` could not be used.
    #[error("--ca-cert {}: {reason}", path.display())]
    CaCert { path: PathBuf, reason: String },
}

impl HttpError {
    /// Whether trying again may help (transport failures and time-outs).
    pub fn retryable(&self) -> bool {
        matches!(self, HttpError::Connect { .. } | HttpError::Timeout { .. })
    }
}

/// A server's answer, whatever its status.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Response {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON.
    pub fn json(&self) -> Result<serde_json::Value, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }
}

/// A client for one server.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    base: BaseUrl,
    opts: Options,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.base)
            .field("api_key", &self.opts.api_key.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl Client {
    pub fn new(base: BaseUrl, opts: Options) -> Result<Client, HttpError> {
        let tls = tls_config(&opts.tls)?;
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(opts.timeout))
            .timeout_connect(Some(opts.connect_timeout))
            .http_status_as_error(false)
            // Benchmarks talk to the server they name, not through an environment's proxy.
            .proxy(None)
            .max_redirects(0)
            .tls_config(tls)
            .user_agent(concat!("servebench/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Client {
            agent: config.into(),
            base,
            opts,
        })
    }

    /// A client for a plain-HTTP server on this host (health checks, `/metrics`, power): a
    /// second to connect, `timeout` for the whole exchange, no key.
    pub fn local(base: BaseUrl, timeout: Duration) -> Result<Client, HttpError> {
        Client::new(
            base,
            Options {
                timeout,
                connect_timeout: Duration::from_secs(1),
                ..Options::default()
            },
        )
    }

    pub fn base(&self) -> &BaseUrl {
        &self.base
    }

    /// `GET` an absolute path on the server (`/health`, `/metrics`).
    pub fn get(&self, path: &str) -> Result<Response, HttpError> {
        let url = self.base.join(path);
        let mut req = self.agent.get(&url);
        if let Some(k) = &self.opts.api_key {
            req = req.header("Authorization", &format!("Bearer {k}"));
        }
        self.finish(&url, req.call())
    }

    /// `POST` a JSON body to an absolute path.
    pub fn post_json(&self, path: &str, body: &[u8]) -> Result<Response, HttpError> {
        let (url, req) = self.json_post(path);
        self.finish(&url, req.send(body))
    }

    /// A JSON `POST` to an absolute path, with the key: its URL and request.
    fn json_post(&self, path: &str) -> (String, ureq::RequestBuilder<ureq::typestate::WithBody>) {
        let url = self.base.join(path);
        let mut req = self
            .agent
            .post(&url)
            .header("Content-Type", "application/json");
        if let Some(k) = &self.opts.api_key {
            req = req.header("Authorization", &format!("Bearer {k}"));
        }
        (url, req)
    }

    /// `POST` a JSON body and hand each line of the answer to `on_line` as it arrives (a
    /// server-sent event stream), until the body ends or `on_line` returns false; the status
    /// is returned once the head is read, before any line, through `on_status`, which may
    /// also stop the exchange.
    pub fn post_json_lines(
        &self,
        path: &str,
        body: &[u8],
        on_status: impl FnOnce(u16) -> bool,
        mut on_line: impl FnMut(&[u8]) -> bool,
    ) -> Result<(), HttpError> {
        use std::io::BufRead;
        let (url, req) = self.json_post(path);
        let mut resp = req.send(body).map_err(|e| self.error(&url, e))?;
        if !on_status(resp.status().as_u16()) {
            return Ok(());
        }
        let reader = resp
            .body_mut()
            .with_config()
            .limit(self.opts.max_body)
            .reader();
        let mut lines = std::io::BufReader::new(reader);
        let mut line = Vec::new();
        loop {
            line.clear();
            let n = lines
                .read_until(b'\n', &mut line)
                .map_err(|e| self.classify(url.clone(), ureq::Error::Io(e)))?;
            if n == 0 || !on_line(&line) {
                return Ok(());
            }
        }
    }

    fn finish(
        &self,
        url: &str,
        r: Result<ureq::http::Response<ureq::Body>, ureq::Error>,
    ) -> Result<Response, HttpError> {
        let mut resp = r.map_err(|e| self.error(url, e))?;
        let status = resp.status().as_u16();
        let body = resp
            .body_mut()
            .with_config()
            .limit(self.opts.max_body)
            .read_to_vec()
            .map_err(|e| self.error(url, e))?;
        Ok(Response { status, body })
    }

    fn error(&self, url: &str, e: ureq::Error) -> HttpError {
        match self.classify(url.to_string(), e) {
            HttpError::Protocol { url, reason } if reason.contains("certificate") => {
                HttpError::Protocol {
                    url,
                    reason: format!(
                        "{reason} (trust the server's certificate with --ca-cert FILE.pem, or \
                         accept any with --insecure for a test server)"
                    ),
                }
            }
            other => other,
        }
    }

    fn classify(&self, url: String, e: ureq::Error) -> HttpError {
        match e {
            ureq::Error::Timeout(_) => HttpError::Timeout {
                url,
                timeout_s: self.opts.timeout.as_secs_f64(),
            },
            ureq::Error::HostNotFound => HttpError::Connect {
                url,
                reason: "no such host".into(),
            },
            ureq::Error::ConnectionFailed => HttpError::Connect {
                url,
                reason: "connection failed".into(),
            },
            ureq::Error::Io(io) if is_connect_error(&io) => HttpError::Connect {
                url,
                reason: io_reason(&io),
            },
            ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => {
                HttpError::Timeout {
                    url,
                    timeout_s: self.opts.timeout.as_secs_f64(),
                }
            }
            ureq::Error::Io(io) => HttpError::Protocol {
                url,
                reason: io_reason(&io),
            },
            ureq::Error::BodyExceedsLimit(n) => HttpError::Protocol {
                url,
                reason: format!("the answer is larger than {n} bytes"),
            },
            other => HttpError::Protocol {
                url,
                reason: other.to_string(),
            },
        }
    }
}

fn is_connect_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | HostUnreachable | NetworkUnreachable | AddrNotAvailable
    )
}

/// An I/O error's words once (`Connection refused`, not `… (os error 111)` twice).
fn io_reason(e: &std::io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

fn tls_config(t: &TlsOptions) -> Result<TlsConfig, HttpError> {
    let mut b = TlsConfig::builder().disable_verification(t.insecure);
    if let Some(path) = &t.ca_cert {
        b = b.root_certs(RootCerts::new_with_certs(&load_pem_certs(path)?));
    }
    Ok(b.build())
}

/// The certificates of a PEM file.
fn load_pem_certs(path: &Path) -> Result<Vec<ureq::tls::Certificate<'static>>, HttpError> {
    let err = |reason: String| HttpError::CaCert {
        path: path.to_path_buf(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| err(io_reason(&e)))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        if let PemItem::Certificate(c) = item.map_err(|e| err(e.to_string()))? {
            certs.push(c);
        }
    }
    if certs.is_empty() {
        return Err(err("no PEM certificate in it".into()));
    }
    Ok(certs)
}

/// A model a server lists at `/v1/models`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Model {
    pub id: String,
    /// The context length, where the server reports it (vLLM, SGLang: `max_model_len`).
    pub max_model_len: Option<u64>,
}

/// Why a server's models could not be listed.
#[derive(Debug, thiserror::Error)]
pub enum ModelsError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("{url}: HTTP {status}{}", if *.status == 401 || *.status == 403 { " (the server refuses the API key: set the variable --api-key-env names)" } else { "" })]
    Status { url: String, status: u16 },
    #[error("{url}: not an OpenAI model list ({reason})")]
    Body { url: String, reason: String },
}

impl Client {
    /// The models the server lists at `PREFIX/v1/models` (with the API key).
    pub fn models(&self) -> Result<Vec<Model>, ModelsError> {
        let path = self.base.api_path("/v1/models");
        let url = self.base.join(&path);
        let r = self.get(&path)?;
        if r.status != 200 {
            return Err(ModelsError::Status {
                url,
                status: r.status,
            });
        }
        let v = r.json().map_err(|e| ModelsError::Body {
            url: url.clone(),
            reason: e.to_string(),
        })?;
        let data = v["data"].as_array().ok_or_else(|| ModelsError::Body {
            url: url.clone(),
            reason: "no data array".into(),
        })?;
        Ok(data
            .iter()
            .filter_map(|m| {
                Some(Model {
                    id: m["id"].as_str()?.to_string(),
                    max_model_len: m["max_model_len"].as_u64(),
                })
            })
            .collect())
    }
}
