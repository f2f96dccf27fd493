//! Thread-per-worker modes, for connection rates (each worker a blocking loop of connect,
//! handshake, 1-byte echo, close: rustls `StreamOwned` keeps that simple) and idle connections;
//! and the TLS client set-up that the event-driven `tls-echo` shares.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};

/// The benchmark client trusts whatever certificate the server under test shows.
#[derive(Debug)]
struct TrustAll(Arc<rustls::crypto::CryptoProvider>);

impl ServerCertVerifier for TrustAll {
  fn verify_server_cert(
    &self,
    _: &CertificateDer<'_>,
    _: &[CertificateDer<'_>],
    _: &ServerName<'_>,
    _: &[u8],
    _: UnixTime,
  ) -> Result<ServerCertVerified, rustls::Error> {
    Ok(ServerCertVerified::assertion())
  }
  fn verify_tls12_signature(
    &self,
    m: &[u8],
    c: &CertificateDer<'_>,
    d: &DigitallySignedStruct,
  ) -> Result<HandshakeSignatureValid, rustls::Error> {
    rustls::crypto::verify_tls12_signature(m, c, d, &self.0.signature_verification_algorithms)
  }
  fn verify_tls13_signature(
    &self,
    m: &[u8],
    c: &CertificateDer<'_>,
    d: &DigitallySignedStruct,
  ) -> Result<HandshakeSignatureValid, rustls::Error> {
    rustls::crypto::verify_tls13_signature(m, c, d, &self.0.signature_verification_algorithms)
  }
  fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
    self.0.signature_verification_algorithms.supported_schemes()
  }
}

pub(crate) fn tls_config() -> Arc<ClientConfig> {
  let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
  let mut config = ClientConfig::builder_with_provider(provider.clone())
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .dangerous()
    .with_custom_certificate_verifier(Arc::new(TrustAll(provider)))
    .with_no_client_auth();
  // Every handshake is a full one, as for a new client.
  config.resumption = rustls::client::Resumption::disabled();
  Arc::new(config)
}

/// A finished client handshake over the blocking `tcp`.
pub(crate) fn handshake(
  config: &Arc<ClientConfig>,
  tcp: &mut TcpStream,
) -> io::Result<ClientConnection> {
  let name = ServerName::try_from("localhost").expect("name");
  let mut conn = ClientConnection::new(config.clone(), name).map_err(io::Error::other)?;
  while conn.is_handshaking() {
    conn.complete_io(tcp)?;
  }
  Ok(conn)
}

enum Stream {
  Plain(TcpStream),
  Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl Stream {
  fn open(addr: SocketAddr, tls: Option<&Arc<ClientConfig>>) -> io::Result<Stream> {
    let tcp = TcpStream::connect(addr)?;
    tcp.set_nodelay(true)?;
    Ok(match tls {
      None => Stream::Plain(tcp),
      Some(config) => {
        let name = ServerName::try_from("localhost").expect("name");
        let conn = ClientConnection::new(config.clone(), name).map_err(io::Error::other)?;
        Stream::Tls(Box::new(StreamOwned::new(conn, tcp)))
      }
    })
  }

  fn tcp(&self) -> &TcpStream {
    match self {
      Stream::Plain(s) => s,
      Stream::Tls(s) => s.get_ref(),
    }
  }
}

impl Read for Stream {
  fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
    match self {
      Stream::Plain(s) => s.read(buf),
      Stream::Tls(s) => s.read(buf),
    }
  }
}

impl Write for Stream {
  fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
    match self {
      Stream::Plain(s) => s.write(buf),
      Stream::Tls(s) => s.write(buf),
    }
  }
  fn flush(&mut self) -> io::Result<()> {
    match self {
      Stream::Plain(s) => s.flush(),
      Stream::Tls(s) => s.flush(),
    }
  }
}

/// Connection rate: each of `workers` threads connects (and handshakes), echoes one byte and
/// closes with RST, so the kernel's TIME_WAIT does not cap the rate.
pub fn connects(addr: SocketAddr, workers: usize, seconds: f64, tls: bool) -> io::Result<()> {
  let config = tls.then(tls_config);
  let count = Arc::new(AtomicU64::new(0));
  let errors = Arc::new(AtomicU64::new(0));
  let started = Instant::now();
  let end = started + Duration::from_secs_f64(seconds);
  let threads: Vec<_> = (0..workers)
    .map(|_| {
      let (config, count, errors) = (config.clone(), count.clone(), errors.clone());
      std::thread::spawn(move || {
        while Instant::now() < end {
          let ok = (|| -> io::Result<()> {
            let mut s = Stream::open(addr, config.as_ref())?;
            s.write_all(b"x")?;
            s.flush()?;
            let mut b = [0u8; 1];
            s.read_exact(&mut b)?;
            socket2::SockRef::from(s.tcp()).set_linger(Some(Duration::ZERO))?;
            Ok(())
          })();
          match ok {
            Ok(()) => count.fetch_add(1, Ordering::Relaxed),
            Err(_) => errors.fetch_add(1, Ordering::Relaxed),
          };
        }
      })
    })
    .collect();
  for t in threads {
    let _ = t.join();
  }
  let secs = started.elapsed().as_secs_f64();
  let n = count.load(Ordering::Relaxed);
  println!(
    "{{\"messages\":{n},\"bytes\":{n},\"seconds\":{secs:.3},\"msgs_per_sec\":{:.1},\"mb_per_sec\":0,\"p50_us\":0,\"p99_us\":0,\"errors\":{}}}",
    n as f64 / secs,
    errors.load(Ordering::Relaxed)
  );
  Ok(())
}

/// Opens `conns` connections, prints `ready` once all are open, holds them idle for `seconds`.
pub fn idle(addr: SocketAddr, conns: usize, seconds: f64) -> io::Result<()> {
  let mut held = Vec::with_capacity(conns);
  for _ in 0..conns {
    held.push(TcpStream::connect(addr)?);
  }
  println!("ready {}", held.len());
  io::stdout().flush()?;
  std::thread::sleep(Duration::from_secs_f64(seconds));
  let secs = seconds;
  println!(
    "{{\"messages\":{conns},\"bytes\":0,\"seconds\":{secs:.3},\"msgs_per_sec\":0,\"mb_per_sec\":0,\"p50_us\":0,\"p99_us\":0,\"errors\":0}}"
  );
  Ok(())
}
