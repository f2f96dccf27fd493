//! The native ceiling: a plain single-threaded echo server on edge-triggered mio, to show what one
//! core can do without a JavaScript runtime in the way. It shares no code with the addon.
//!
//! Binds 127.0.0.1:0 and prints the port on the first line of stdout, like the script servers.
//! With TLS_KEY and TLS_CERT (PEM paths) in the environment it serves TLS (rustls). With SINK in
//! the environment it is the upload scenario's sink instead of an echo (plain TCP only): it counts
//! what arrives and answers the peer's FIN with the count in decimal and a newline.
//!
//! Each readiness event drives the connection until the kernel says WouldBlock: read into one
//! shared buffer, write it straight back, and keep only what the kernel (or the TLS session)
//! refused; while anything is kept, the connection is not read, so a peer that does not read its
//! echoes is held back by TCP and memory stays bounded. A read that returns less than it asked
//! for has emptied the socket: the drive stops there rather than paying a read for WouldBlock
//! (edge-triggered, bytes that come later raise a new event), as the addon's loop does.

use std::io::{self, Read, Write};
use std::sync::Arc;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{ServerConfig, ServerConnection};

const LISTENER: Token = Token(0);

struct Conn {
  stream: TcpStream,
  tls: Option<Box<ServerConnection>>,
  /// Echo bytes the kernel (plain) or the TLS session (TLS) has not taken yet.
  pending: Vec<u8>,
  /// Bytes received, in sink mode.
  received: u64,
}

/// Why a connection ends; every case just closes it (the peer left, reset, or spoke bad TLS).
struct Closed;

impl From<io::Error> for Closed {
  fn from(_: io::Error) -> Closed {
    Closed
  }
}

fn main() -> io::Result<()> {
  let tls = tls_config();
  let sink = std::env::var_os("SINK").is_some();
  let mut poll = Poll::new()?;
  let mut listener = TcpListener::bind("127.0.0.1:0".parse().expect("address"))?;
  poll
    .registry()
    .register(&mut listener, LISTENER, Interest::READABLE)?;
  println!("{}", listener.local_addr()?.port());
  io::stdout().flush()?;

  // Slot i holds the connection with token i + 1; freed slots are reused.
  let mut conns: Vec<Option<Conn>> = Vec::new();
  let mut free: Vec<usize> = Vec::new();
  let mut buf = vec![0u8; 64 * 1024];
  let mut events = Events::with_capacity(1024);
  loop {
    if let Err(e) = poll.poll(&mut events, None) {
      if e.kind() == io::ErrorKind::Interrupted {
        continue;
      }
      return Err(e);
    }
    for event in events.iter() {
      if event.token() == LISTENER {
        accept_all(&listener, &poll, &tls, &mut conns, &mut free);
        continue;
      }
      let slot = event.token().0 - 1;
      let Some(conn) = conns.get_mut(slot).and_then(Option::as_mut) else {
        continue; // closed earlier in this batch of events
      };
      // Readable or writable, the same drive: flush what waits, then read and echo.
      let outcome = match conn.tls {
        None if sink => drive_sink(conn, &mut buf, event.is_read_closed()),
        None => drive_plain(conn, &mut buf),
        Some(_) => drive_tls(conn, &mut buf),
      };
      if outcome.is_err() {
        if let Some(mut conn) = conns[slot].take() {
          let _ = poll.registry().deregister(&mut conn.stream);
        }
        free.push(slot);
      }
    }
  }
}

/// Edge-triggered: one event may stand for many queued connections, so accept until WouldBlock.
fn accept_all(
  listener: &TcpListener,
  poll: &Poll,
  tls: &Option<Arc<ServerConfig>>,
  conns: &mut Vec<Option<Conn>>,
  free: &mut Vec<usize>,
) {
  loop {
    let mut stream = match listener.accept() {
      Ok((stream, _)) => stream,
      Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
      Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
      // ECONNABORTED, EMFILE and the like: drop this one, keep serving.
      Err(_) => return,
    };
    // The script servers all turn Nagle off; so does this one.
    let _ = stream.set_nodelay(true);
    let session = match tls {
      None => None,
      Some(config) => match ServerConnection::new(config.clone()) {
        Ok(session) => Some(Box::new(session)),
        Err(_) => continue,
      },
    };
    let slot = free.pop().unwrap_or_else(|| {
      conns.push(None);
      conns.len() - 1
    });
    let interest = Interest::READABLE | Interest::WRITABLE;
    if poll
      .registry()
      .register(&mut stream, Token(slot + 1), interest)
      .is_err()
    {
      free.push(slot);
      continue;
    }
    conns[slot] = Some(Conn {
      stream,
      tls: session,
      pending: Vec::new(),
      received: 0,
    });
  }
}

/// Writes `data` until done or WouldBlock; returns how much the kernel took.
fn write_some(stream: &mut TcpStream, data: &[u8]) -> Result<usize, Closed> {
  let mut done = 0;
  while done < data.len() {
    match stream.write(&data[done..]) {
      Ok(0) => return Err(Closed),
      Ok(n) => done += n,
      Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
      Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
      Err(_) => return Err(Closed),
    }
  }
  Ok(done)
}

fn drive_plain(conn: &mut Conn, buf: &mut [u8]) -> Result<(), Closed> {
  loop {
    if !conn.pending.is_empty() {
      let n = write_some(&mut conn.stream, &conn.pending)?;
      conn.pending.drain(..n);
      if !conn.pending.is_empty() {
        return Ok(()); // the next writable event comes back here
      }
    }
    let k = match conn.stream.read(buf) {
      Ok(0) => return Err(Closed),
      Ok(k) => k,
      Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
      Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
      Err(_) => return Err(Closed),
    };
    let n = write_some(&mut conn.stream, &buf[..k])?;
    conn.pending.extend_from_slice(&buf[n..k]);
    if k < buf.len() && conn.pending.is_empty() {
      return Ok(()); // a short read emptied the socket
    }
  }
}

/// Sink mode: reads and counts until the peer's FIN, then answers with the count and closes.
/// With the FIN already announced (`read_closed`), a short read does not prove the socket empty:
/// no later edge would announce the FIN again.
fn drive_sink(conn: &mut Conn, buf: &mut [u8], read_closed: bool) -> Result<(), Closed> {
  loop {
    match conn.stream.read(buf) {
      Ok(0) => {
        let count = format!("{}\n", conn.received);
        write_some(&mut conn.stream, count.as_bytes())?; // a few bytes: the kernel takes them
        return Err(Closed);
      }
      Ok(k) => {
        conn.received += k as u64;
        if k < buf.len() && !read_closed {
          return Ok(()); // a short read emptied the socket
        }
      }
      Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
      Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
      Err(_) => return Err(Closed),
    }
  }
}

/// Reads for rustls, remembering whether a read came back short (the socket is empty now).
struct ShortRead<'a> {
  stream: &'a mut TcpStream,
  short: bool,
}

impl Read for ShortRead<'_> {
  fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
    let n = self.stream.read(buf)?;
    self.short = n < buf.len();
    Ok(n)
  }
}

fn drive_tls(conn: &mut Conn, buf: &mut [u8]) -> Result<(), Closed> {
  let Conn {
    stream,
    tls,
    pending,
    ..
  } = conn;
  let Some(tls) = tls.as_deref_mut() else {
    return Err(Closed);
  };
  let mut drained = false;
  loop {
    let mut progress = false;
    // Encrypted records out first: handshake messages, alerts, echoes.
    while tls.wants_write() {
      match tls.write_tls(stream) {
        Ok(0) => return Err(Closed),
        Ok(_) => progress = true,
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
        Err(_) => return Err(Closed),
      }
    }
    // Plaintext the session refused earlier (its buffer limit) goes in as room frees up.
    if !pending.is_empty() {
      let n = tls.writer().write(pending)?;
      pending.drain(..n);
      progress |= n > 0;
    }
    if pending.is_empty() {
      // Echo what the session has already decrypted, then read more records.
      match tls.reader().read(buf) {
        Ok(0) => return Err(Closed), // close_notify
        Ok(k) => {
          let n = tls.writer().write(&buf[..k])?;
          pending.extend_from_slice(&buf[n..k]);
          continue;
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
        Err(_) => return Err(Closed),
      }
      if drained {
        return Ok(());
      }
      let mut reader = ShortRead {
        stream,
        short: false,
      };
      let read = tls.read_tls(&mut reader);
      drained = reader.short;
      match read {
        Ok(0) => return Err(Closed),
        Ok(_) => {
          if tls.process_new_packets().is_err() {
            // Send the alert rustls queued, best effort, then drop the connection.
            let _ = tls.write_tls(stream);
            return Err(Closed);
          }
          progress = true;
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => drained = true,
        Err(e) if e.kind() == io::ErrorKind::Interrupted => progress = true,
        Err(_) => return Err(Closed),
      }
    }
    if !progress {
      return Ok(());
    }
  }
}

/// A rustls server configuration from TLS_KEY / TLS_CERT, or None for plain TCP.
fn tls_config() -> Option<Arc<ServerConfig>> {
  let key_path = std::env::var_os("TLS_KEY")?;
  let cert_path = std::env::var_os("TLS_CERT").expect("TLS_CERT with TLS_KEY");
  let key = PrivateKeyDer::from_pem_file(&key_path).expect("TLS_KEY: a PEM private key");
  let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&cert_path)
    .expect("TLS_CERT: a readable PEM file")
    .collect::<Result<_, _>>()
    .expect("TLS_CERT: PEM certificates");
  let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
  let config = ServerConfig::builder_with_provider(provider)
    .with_safe_default_protocol_versions()
    .expect("protocol versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("TLS_KEY does not match TLS_CERT");
  Some(Arc::new(config))
}
