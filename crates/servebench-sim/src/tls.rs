//! `sim --tls`: the test server behind TLS, as a TLS-terminating gateway would put it, with a
//! certificate generated at start (self-signed, for `localhost`, `127.0.0.1` and `::1`) or read
//! from PEM files.

use crate::SimError;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

/// A server configuration and the certificate (PEM) clients should trust.
pub struct TlsServer {
    pub config: Arc<rustls::ServerConfig>,
    pub cert_pem: String,
}

impl std::fmt::Debug for TlsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsServer")
    }
}

/// A fresh self-signed certificate for the loopback names.
pub fn self_signed() -> Result<TlsServer, SimError> {
    let names = vec!["localhost".into(), "127.0.0.1".into(), "::1".into()];
    let ck = rcgen::generate_simple_self_signed(names)
        .map_err(|e| SimError::Tls(format!("generating a certificate: {e}")))?;
    let cert_pem = ck.cert.pem();
    let key = PrivateKeyDer::try_from(ck.signing_key.serialize_der())
        .map_err(|e| SimError::Tls(e.to_string()))?;
    Ok(TlsServer {
        config: server_config(vec![ck.cert.der().clone()], key)?,
        cert_pem,
    })
}

/// A certificate chain and its key from PEM files.
pub fn from_files(cert: &Path, key: &Path) -> Result<TlsServer, SimError> {
    let read =
        |p: &Path| std::fs::read(p).map_err(|e| SimError::Tls(format!("{}: {e}", p.display())));
    let cert_pem = read(cert)?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<_, _>>()
        .map_err(|e| SimError::Tls(format!("{}: {e}", cert.display())))?;
    if chain.is_empty() {
        return Err(SimError::Tls(format!("{}: no certificate", cert.display())));
    }
    let key_der = PrivateKeyDer::from_pem_slice(&read(key)?)
        .map_err(|e| SimError::Tls(format!("{}: {e}", key.display())))?;
    Ok(TlsServer {
        config: server_config(chain, key_der)?,
        cert_pem: String::from_utf8_lossy(&cert_pem).into_owned(),
    })
}

fn server_config(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, SimError> {
    // ring, as the client (no aws-lc-sys to build); see servebench-http's tls module.
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SimError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| SimError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
