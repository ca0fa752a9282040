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
    /// Ciphertext as the socket gave it.
    raw: Box<[u8]>,
    /// When the last socket read returned: the arrival time of what it carried.
    raw_ns: u64,
    /// Plaintext is waiting in the session (the last read filled the caller's buffer).
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
            Conn::Tls(t) if t.buffered => Ok(()),
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

    fn try_read(&mut self, buf: &mut [u8]) -> io::Result<(usize, u64)> {
        loop {
            match self.session.reader().read(buf) {
                Ok(n) => {
                    self.buffered = n == buf.len() && n > 0;
                    return Ok((n, self.raw_ns));
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // The peer closed without close_notify: the end of the stream all the same
                // (an incomplete response is judged by its framing).
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok((0, mono_ns())),
                Err(e) => return Err(e),
            }
            self.buffered = false;
            let n = self.tcp.try_read(&mut self.raw)?;
            self.raw_ns = mono_ns();
            if n == 0 {
                return Ok((0, self.raw_ns));
            }
            self.feed(n)?;
        }
    }

    /// Hands `raw[..n]` to the session and processes it (answering what the protocol asks).
    fn feed(&mut self, n: usize) -> io::Result<()> {
        let mut rest = &self.raw[..n];
        while !rest.is_empty() {
            self.session.read_tls(&mut rest)?;
            self.session.process_new_packets().map_err(tls_error)?;
        }
        self.flush_records()
    }
}

/// The client's side of a TLS handshake over a connected socket.
async fn handshake(tcp: TcpStream, t: &TlsTarget) -> io::Result<Tls> {
    let session = ClientConnection::new(t.config.clone(), t.name.clone()).map_err(tls_error)?;
    let mut c = Tls {
        tcp,
        session,
        raw: vec![0u8; 64 << 10].into_boxed_slice(),
        raw_ns: 0,
        buffered: false,
    };
    while c.session.is_handshaking() {
        c.flush_records()?;
        if c.session.wants_write() {
            c.tcp.writable().await?;
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
            Ok(n) => c.feed(n)?,
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
