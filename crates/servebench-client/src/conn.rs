//! A benchmark connection: plain TCP, or TLS over it. TLS is rustls driven by hand over the
//! same readiness-based socket (no extra task or copy): a read takes whatever TLS records the
//! socket has, stamps that moment, decrypts them and hands the plaintext to the parser, so a
//! chunk's timestamp is when its bytes arrived, before decryption and parsing alike.

use crate::exchange::Target;
use rustls::pki_types::ServerName;
use rustls::ClientConnection;
use servebench_core::clock::mono_ns;
use std::io::{self, Read, Write};
use std::sync::Arc;
use tokio::net::TcpStream;

/// How a target is reached over TLS.
#[derive(Clone)]
pub struct TlsTarget {
    pub config: Arc<rustls::ClientConfig>,
    pub name: ServerName<'static>,
}

pub(crate) enum Conn {
    Plain(TcpStream),
    Tls(Box<Tls>),
}

pub(crate) struct Tls {
    tcp: TcpStream,
    session: ClientConnection,
    /// Ciphertext as the socket gave it; `raw[fed..got]` is not in the session yet (the
    /// session takes a bounded amount of plaintext at a time).
    raw: Box<[u8]>,
    fed: usize,
    got: usize,
    /// When the last socket read returned: the arrival time of what it carried.
    raw_ns: u64,
    /// Plaintext may be waiting in the session (the last read filled the caller's buffer).
    buffered: bool,
}

/// TLS bytes to the socket without blocking: `WouldBlock` when it is full.
struct TryWriter<'a>(&'a TcpStream);

impl Write for TryWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn tls_error(e: rustls::Error) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, format!("TLS: {e}"))
}

impl Conn {
    /// Connects (and, for TLS, completes the handshake) within the target's connect timeout.
    pub(crate) async fn open(target: &Target) -> io::Result<Conn> {
        let limit = target.connect_timeout;
        let open = async {
            let tcp = TcpStream::connect(target.addr).await?;
            tcp.set_nodelay(true)?;
            match &target.tls {
                None => Ok(Conn::Plain(tcp)),
                Some(t) => handshake(tcp, t).await.map(|c| Conn::Tls(Box::new(c))),
            }
        };
        tokio::time::timeout(limit, open).await.map_err(|_| {
            io::Error::new(
                io::ErrorKind::TimedOut,
                format!(
                    "no answer within {:.1} s (--connect-timeout)",
                    limit.as_secs_f64()
                ),
            )
        })?
    }

    /// Writes what it can of `buf` now; TLS records it could not send yet stay in the session
    /// ([`Conn::wants_write`]).
    pub(crate) fn try_write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.try_write(buf),
            Conn::Tls(t) => {
                let n = t.session.writer().write(buf)?;
                t.flush_records()?;
                Ok(n)
            }
        }
    }

    /// TLS records are still waiting for room in the socket.
    pub(crate) fn wants_write(&self) -> bool {
        match self {
            Conn::Plain(_) => false,
            Conn::Tls(t) => t.session.wants_write(),
        }
    }

    /// Pushes waiting TLS records (nothing to do for plain TCP).
    pub(crate) fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(_) => Ok(()),
            Conn::Tls(t) => t.flush_records(),
        }
    }

    pub(crate) async fn writable(&self) -> io::Result<()> {
        self.tcp().writable().await
    }

    /// Ready to read: the socket has bytes, or the TLS session already holds plaintext.
    pub(crate) async fn readable(&self) -> io::Result<()> {
        match self {
            Conn::Tls(t) if t.buffered || t.fed < t.got => Ok(()),
            _ => self.tcp().readable().await,
        }
    }

    /// Reads what has arrived: the byte count (0 at the end of the stream) and when the
    /// socket read that brought it returned. `WouldBlock` when nothing has.
    pub(crate) fn try_read(&mut self, buf: &mut [u8]) -> io::Result<(usize, u64)> {
        match self {
            Conn::Plain(s) => {
                let n = s.try_read(buf)?;
                Ok((n, mono_ns()))
            }
            Conn::Tls(t) => t.try_read(buf),
        }
    }

    /// A kept-alive connection the server has closed (or that holds unasked-for bytes).
    pub(crate) fn is_stale(&mut self) -> bool {
        let mut probe = [0u8; 1];
        !matches!(self.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
    }

    fn tcp(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(t) => &t.tcp,
        }
    }
}

impl Tls {
    fn flush_records(&mut self) -> io::Result<()> {
        while self.session.wants_write() {
            match self.session.write_tls(&mut TryWriter(&self.tcp)) {
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Plaintext into `buf`: what the session holds, then what the last socket read brought
    /// (fed to the session piece by piece), then one more socket read if nothing was there.
    fn try_read(&mut self, buf: &mut [u8]) -> io::Result<(usize, u64)> {
        let mut filled = 0;
        loop {
            match self.session.reader().read(&mut buf[filled..]) {
                Ok(n) if n > 0 => {
                    filled += n;
                    if filled == buf.len() {
                        self.buffered = true;
                        return Ok((filled, self.raw_ns));
                    }
                    continue;
                }
                // close_notify: the end of the stream (after what was read).
                Ok(_) => return Ok((filled, self.raw_ns)),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // The peer closed without close_notify: the end of the stream all the same
                // (an incomplete response is judged by its framing).
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => {
                    return Ok((filled, self.raw_ns))
                }
                Err(e) => return Err(e),
            }
            self.buffered = false;
            if self.fed < self.got {
                self.feed()?;
                continue;
            }
            if filled > 0 {
                return Ok((filled, self.raw_ns));
            }
            let n = self.tcp.try_read(&mut self.raw)?;
            self.raw_ns = mono_ns();
            if n == 0 {
                return Ok((0, self.raw_ns));
            }
            (self.fed, self.got) = (0, n);
        }
    }

    /// Hands the session what it takes of the unfed ciphertext and processes it (answering
    /// what the protocol asks).
    fn feed(&mut self) -> io::Result<()> {
        let mut rest = &self.raw[self.fed..self.got];
        let before = rest.len();
        self.session.read_tls(&mut rest)?;
        self.fed += before - rest.len();
        self.session.process_new_packets().map_err(tls_error)?;
        self.flush_records()
    }
}

/// The client's side of a TLS handshake over a connected socket.
async fn handshake(tcp: TcpStream, t: &TlsTarget) -> io::Result<Tls> {
    let session = ClientConnection::new(t.config.clone(), t.name.clone()).map_err(tls_error)?;
    let mut c = Tls {
        tcp,
        session,
        // One TLS record at most (16 KiB of plaintext and its overhead): a buffer per
        // connection, so thousands of connections cost tens of megabytes, not hundreds.
        raw: vec![0u8; 17 << 10].into_boxed_slice(),
        fed: 0,
        got: 0,
        raw_ns: 0,
        buffered: false,
    };
    while c.session.is_handshaking() {
        c.flush_records()?;
        if c.session.wants_write() {
            c.tcp.writable().await?;
            continue;
        }
        if c.fed < c.got {
            c.feed()?;
            continue;
        }
        c.tcp.readable().await?;
        match c.tcp.try_read(&mut c.raw) {
            Ok(0) => {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    "the server closed the connection during the TLS handshake",
                ))
            }
            Ok(n) => (c.fed, c.got) = (0, n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
    }
    while c.session.wants_write() {
        c.flush_records()?;
        if c.session.wants_write() {
            c.tcp.writable().await?;
        }
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// A megabyte already waiting in the socket when the client reads: more ciphertext per
    /// socket read than a TLS session takes as plaintext at once.
    #[test]
    fn a_burst_larger_than_the_session_buffer_arrives_whole() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let server = servebench_sim::tls::self_signed().unwrap();
            let acceptor = tokio_rustls::TlsAcceptor::from(server.config);
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let payload: Vec<u8> = (0..1 << 20).map(|i| (i % 251) as u8).collect();
            let sent = payload.clone();
            let (written_tx, written_rx) = tokio::sync::oneshot::channel();
            tokio::spawn(async move {
                let (tcp, _) = listener.accept().await.unwrap();
                let mut s = acceptor.accept(tcp).await.unwrap();
                s.write_all(&sent).await.unwrap();
                s.flush().await.unwrap();
                let _ = written_tx.send(());
                s.shutdown().await.unwrap();
            });
            let dir = std::env::temp_dir().join(format!("sb-tls-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let ca = dir.join("ca.pem");
            std::fs::write(&ca, &server.cert_pem).unwrap();
            let target = Target {
                addr,
                connect_timeout: std::time::Duration::from_secs(10),
                tls: Some(TlsTarget {
                    config: servebench_http::tls::client_config(&servebench_http::TlsOptions {
                        insecure: false,
                        ca_cert: Some(ca),
                    })
                    .unwrap(),
                    name: servebench_http::tls::server_name("127.0.0.1").unwrap(),
                }),
                ..crate::exchange::tests_target()
            };
            let mut conn = Conn::open(&target).await.unwrap();
            // Everything is in the socket before the first read.
            written_rx.await.unwrap();
            let mut got = Vec::new();
            let mut buf = vec![0u8; 256 << 10];
            loop {
                conn.readable().await.unwrap();
                match conn.try_read(&mut buf) {
                    Ok((0, _)) => break,
                    Ok((n, _)) => got.extend_from_slice(&buf[..n]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                    Err(e) => panic!("after {} bytes: {e}", got.len()),
                }
            }
            assert!(got == payload, "{} of {} bytes", got.len(), payload.len());
            let _ = std::fs::remove_dir_all(&dir);
        });
    }
}
