//! One connection's TLS session, shared by the JS thread (encrypting writes) and the loop thread
//! (decrypting reads, the handshake), as in rustls's mio examples: `read_tls` →
//! `process_new_packets` → read plaintext; `write_tls` whenever records wait.

use std::borrow::Cow;
use std::io::{self, Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::{Mutex, MutexGuard};
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConnection, Connection, ServerConnection};
use socket2::Socket;

use super::config::{self, ClientContext, ServedCert, ServerContext};
use super::verify::{
  self, node_cert_error, stand_in_name, ClientVerifier, NodeTlsError, ServerVerifier, STAND_IN_HOST,
};
use crate::errors::{interrupted, would_block};

/// How `authorized` is decided once the handshake is done.
enum PostCheck {
  None,
  Client {
    verifier: Arc<ServerVerifier>,
    name: ServerName<'static>,
  },
  Server {
    verifier: Arc<ClientVerifier>,
  },
}

pub struct TlsSession {
  conn: Mutex<Connection>,
  /// Behind its own lock: `setVerifyMode` may replace it (with the connection) before the
  /// handshake starts.
  check: Mutex<PostCheck>,
  /// A server session's configuration, for `setVerifyMode`.
  server: Option<Arc<ServerContext>>,
  /// The certificate a server session's resolver chose for the client (`getCertificate()`).
  served: ServedCert,
  /// A client session's configuration and the server name asked for, for `setServername` and
  /// `setVerifyMode` before the hello went out.
  client: Mutex<Option<(Arc<ClientContext>, String)>>,
  /// A `connect()`ed client's hello waits until JS has run `open` (with a `handshake` handler
  /// `open` runs at the TCP connect, and a `setServername()` there names the server, as in Bun).
  hello_held: AtomicBool,
  /// The connection has taken ciphertext (the client's hello): too late to start it over.
  started: AtomicBool,
  /// Plaintext written before that, or while a client's hello is held (the session keeps it until
  /// the handshake is done): what a connection started over must be given again.
  written_early: Mutex<Vec<u8>>,
  /// The loop has reported the handshake's end to JS.
  pub handshake_reported: AtomicBool,
  /// `end()`/`shutdown()` asked for FIN, which waits until every record is out.
  pub fin_after_flush: AtomicBool,
  /// `end()` came during the handshake: close_notify (and FIN) follow the handshake, so the data
  /// written before goes out first.
  pub close_after_handshake: AtomicBool,
  /// Plaintext was written during the handshake (the session holds it until the handshake is
  /// done): a close() then lets the handshake finish, so that it goes out.
  wrote_in_handshake: AtomicBool,
  /// Released by a timeout: a handshake not done by then is abandoned, whatever was written.
  pub abandon_handshake: AtomicBool,
  /// Ciphertext that arrived before the session was installed (read as plain, handed back by JS).
  early: Mutex<Vec<u8>>,
  /// A client's server name that rustls cannot take (see `client`), for its error messages.
  shown_name: Mutex<Option<String>>,
  /// The server's chain when the client's check refused it (node:tls's error names the
  /// certificate, and rustls keeps none from an aborted handshake).
  rejected_chain: Mutex<Vec<CertificateDer<'static>>>,
}

/// What one `TlsSession::read` step found.
#[derive(Default)]
pub struct ReadStep {
  /// Plaintext bytes appended to the output.
  pub plaintext: usize,
  /// The handshake ended now: `Ok(authorization error)` or `Err(failure)`.
  pub handshake: Option<Result<Option<NodeTlsError>, NodeTlsError>>,
  /// A fatal TLS error after the handshake (alert, bad record).
  pub fatal: Option<NodeTlsError>,
  pub eof: bool,
  pub would_block: bool,
  /// The read took less than it asked for: the socket is empty (edge-triggered epoll announces
  /// what comes next), so the read that would only say EAGAIN can be skipped.
  pub drained: bool,
  pub io_error: Option<io::Error>,
}

impl TlsSession {
  pub fn server(ctx: &Arc<ServerContext>) -> Result<Self, String> {
    let served = ServedCert::default();
    let conn =
      ServerConnection::new(config::recording(&ctx.config, &served)).map_err(|e| e.to_string())?;
    let mut session = Self::new(Connection::Server(conn), server_check(&ctx.verifier));
    session.server = Some(ctx.clone());
    session.served = served;
    Ok(session)
  }

  /// `setVerifyMode` on a server socket: starts the connection over with the listener's
  /// configuration for that client-certificate policy. Only possible before the connection has
  /// taken any bytes (the client's hello, or a write); false when it is too late or not a server.
  /// An error when the configuration cannot be made: the caller must not go on with the old one.
  pub fn set_verify_mode(&self, request_cert: bool, reject: bool) -> Result<bool, String> {
    let Some(ctx) = &self.server else {
      return self.restart_client(None, Some(reject));
    };
    let mut conn = self.conn.lock();
    if self.started.load(Ordering::SeqCst) {
      return Ok(false);
    }
    let (config, verifier) = ctx.variant(request_cert, reject)?;
    let mut fresh =
      ServerConnection::new(config::recording(&config, &self.served)).map_err(|e| e.to_string())?;
    fresh
      .writer()
      .write_all(&self.written_early.lock())
      .map_err(|e| e.to_string())?;
    *conn = Connection::Server(fresh);
    *self.check.lock() = server_check(&verifier);
    Ok(true)
  }

  /// `host` names the server unless the context has a `serverName`.
  pub fn client(ctx: &Arc<ClientContext>, host: &str) -> Result<Self, String> {
    // An empty serverName is none (as node:tls takes it): the host is the name.
    let wanted = ctx
      .server_name
      .as_deref()
      .filter(|n| !n.is_empty())
      .unwrap_or(host);
    let (conn, check, shown) = client_connection(ctx, wanted)?;
    let mut session = Self::new(Connection::Client(conn), check);
    *session.client.get_mut() = Some((ctx.clone(), wanted.to_string()));
    *session.shown_name.get_mut() = shown;
    Ok(session)
  }

  /// Holds a client's hello until `send_hello` (connect(): JS runs `open` first).
  pub fn hold_hello(&self) {
    self.hello_held.store(true, Ordering::SeqCst);
  }

  /// Lets a held hello go and pushes it (with anything written since); true when all is out.
  pub fn send_hello(&self, sock: &Socket) -> io::Result<bool> {
    if !self.hello_held.swap(false, Ordering::SeqCst) {
      return Ok(!self.wants_write());
    }
    *self.written_early.lock() = Vec::new();
    self.flush(sock)
  }

  /// The hello is no longer held (the socket is let go before it connected).
  pub fn drop_hold(&self) {
    self.hello_held.store(false, Ordering::SeqCst);
  }

  /// `setServername` on a client: while its hello is held, the connection starts over for `name`
  /// (the name sent and the name checked). False when the hello has gone: too late.
  pub fn set_server_name(&self, name: &str) -> Result<bool, String> {
    self.restart_client(Some(name), None)
  }

  /// A client whose hello is still held starts its connection over, for another server name or
  /// another `rejectUnauthorized` (`setVerifyMode`, as in Bun), with what was written so far.
  /// False when not a client, or when the hello has gone: too late.
  fn restart_client(&self, name: Option<&str>, reject: Option<bool>) -> Result<bool, String> {
    let mut client = self.client.lock();
    let Some((ctx, wanted)) = client.as_mut() else {
      return Ok(false);
    };
    let mut conn = self.conn.lock();
    if !self.hello_held.load(Ordering::SeqCst) {
      return Ok(false);
    }
    let next_ctx = reject.map_or_else(|| ctx.clone(), |reject| ctx.with_reject(reject));
    let next_name = name.unwrap_or(wanted.as_str()).to_string();
    let (mut fresh, check, shown) = client_connection(&next_ctx, &next_name)?;
    fresh
      .writer()
      .write_all(&self.written_early.lock())
      .map_err(|e| e.to_string())?;
    *conn = Connection::Client(fresh);
    *self.check.lock() = check;
    *self.shown_name.lock() = shown;
    *ctx = next_ctx;
    *wanted = next_name;
    Ok(true)
  }

  /// A name error about the stand-in name, worded for the name that was asked for.
  fn reworded(&self, err: NodeTlsError) -> NodeTlsError {
    let shown = self.shown_name.lock();
    let Some(shown) = shown.as_deref() else {
      return err;
    };
    if !err.message.contains(STAND_IN_HOST) {
      return err;
    }
    NodeTlsError {
      code: err.code,
      message: err.message.replace(STAND_IN_HOST, shown),
    }
  }

  fn new(conn: Connection, check: PostCheck) -> Self {
    TlsSession {
      conn: Mutex::new(conn),
      check: Mutex::new(check),
      server: None,
      served: ServedCert::default(),
      client: Mutex::new(None),
      hello_held: AtomicBool::new(false),
      started: AtomicBool::new(false),
      written_early: Mutex::new(Vec::new()),
      handshake_reported: AtomicBool::new(false),
      fin_after_flush: AtomicBool::new(false),
      close_after_handshake: AtomicBool::new(false),
      wrote_in_handshake: AtomicBool::new(false),
      abandon_handshake: AtomicBool::new(false),
      early: Mutex::new(Vec::new()),
      shown_name: Mutex::new(None),
      rejected_chain: Mutex::new(Vec::new()),
    }
  }

  /// The trust store OpenSSL would search for issuers: the certificates given as `ca`, else the
  /// public roots.
  pub fn trusted(&self) -> Cow<'static, [CertificateDer<'static>]> {
    let check = self.check.lock();
    let anchors = match &*check {
      PostCheck::Client { verifier, .. } => &verifier.anchors,
      PostCheck::Server { verifier } => &verifier.anchors,
      PostCheck::None => return Cow::Borrowed(&[]),
    };
    if anchors.is_empty() {
      Cow::Borrowed(super::config::public_root_certs())
    } else {
      Cow::Owned(anchors.clone())
    }
  }

  /// The peer's certificates: what the session holds, else the chain the client's check refused.
  pub fn peer_chain(&self) -> Vec<CertificateDer<'static>> {
    match self.conn.lock().peer_certificates() {
      Some(certs) if !certs.is_empty() => certs.iter().map(|c| c.clone().into_owned()).collect(),
      _ => self.rejected_chain.lock().clone(),
    }
  }

  pub fn lock(&self) -> MutexGuard<'_, Connection> {
    self.conn.lock()
  }

  /// JS thread: takes plaintext and pushes its records out for as long as the socket takes them,
  /// then as much more as the session buffers (64 KiB). Returns the plaintext accepted and whether
  /// records are still waiting for the socket. (Taking one buffer's worth per call made a big
  /// write short whatever room the socket had: a `drain` per 64 KiB.)
  pub fn write(&self, sock: &Socket, buf: &[u8]) -> io::Result<(usize, bool)> {
    // JS gets the count as an int32: never take more than it can say.
    let buf = &buf[..buf.len().min(i32::MAX as usize)];
    let mut conn = self.conn.lock();
    // Records the session holds go first, making room: so taking nothing means the socket is full
    // and its writable edge will come (a released socket's end() data waits for exactly that).
    if conn.wants_write() {
      self.push(&mut conn, sock)?;
    }
    let mut taken = 0;
    loop {
      // A session that failed (a fatal alert, a bad record) refuses plaintext with that error;
      // the read that met it has already queued its TLS error event for JS, which tells the
      // handlers.
      let n = conn
        .writer()
        .write(&buf[taken..])
        .map_err(|e| match e.kind() {
          io::ErrorKind::InvalidData => io::Error::from_raw_os_error(libc::EPROTO),
          _ => e,
        })?;
      if n > 0 && conn.is_handshaking() {
        self.wrote_in_handshake.store(true, Ordering::Relaxed);
      }
      let held = self.hello_held.load(Ordering::SeqCst);
      if held || (self.server.is_some() && !self.started.load(Ordering::Relaxed)) {
        self
          .written_early
          .lock()
          .extend_from_slice(&buf[taken..taken + n]);
      }
      taken += n;
      // While the hello is held this pushes nothing, and nothing waits for the socket; during
      // the handshake the plaintext waits in the session, which then takes no more.
      let done = self.push(&mut conn, sock)?;
      if !done || n == 0 || taken == buf.len() {
        return Ok((taken, !done));
      }
    }
  }

  /// Under the connection's lock, so `set_verify_mode` sees it or runs first.
  fn mark_started(&self) {
    if !self.started.load(Ordering::Relaxed) {
      self.started.store(true, Ordering::SeqCst);
      if self.server.is_some() {
        *self.written_early.lock() = Vec::new();
      }
    }
  }

  /// Pushes waiting records; true when none is left. A held hello stays (`send_hello`).
  pub fn flush(&self, sock: &Socket) -> io::Result<bool> {
    self.push(&mut self.conn.lock(), sock)
  }

  pub fn wants_write(&self) -> bool {
    // A held hello waits for JS (`send_hello`), not for the socket.
    !self.hello_held.load(Ordering::SeqCst) && self.conn.lock().wants_write()
  }

  pub fn is_handshaking(&self) -> bool {
    self.conn.lock().is_handshaking()
  }

  /// Whether plaintext written during the handshake waits in the session for it to end.
  pub fn holds_early_plaintext(&self) -> bool {
    self.wrote_in_handshake.load(Ordering::Relaxed)
      && !self.abandon_handshake.load(Ordering::Relaxed)
      && self.is_handshaking()
  }

  /// `end()`: close_notify now, or once the handshake is done (so what was written before goes
  /// first). True when everything is out and FIN may follow now.
  pub fn end_writes(&self, sock: &Socket) -> io::Result<bool> {
    let mut conn = self.conn.lock();
    if conn.is_handshaking() {
      self.close_after_handshake.store(true, Ordering::SeqCst);
      return Ok(false);
    }
    conn.send_close_notify();
    if flush(&mut conn, sock)? {
      return Ok(true);
    }
    self.fin_after_flush.store(true, Ordering::SeqCst);
    Ok(false)
  }

  /// Queues close_notify and pushes it; true when everything is out.
  pub fn close_notify(&self, sock: &Socket) -> io::Result<bool> {
    let mut conn = self.conn.lock();
    conn.send_close_notify();
    flush(&mut conn, sock)
  }

  /// The certificate this end presents: the server's (for the name the client asked for), or the
  /// client's own, if it has one.
  pub fn own_certificate(&self) -> Option<CertificateDer<'static>> {
    if let Some(ctx) = &self.server {
      if let Some(served) = self.served.lock().clone() {
        return Some(served);
      }
      let sni = match &*self.conn.lock() {
        Connection::Server(conn) => conn.server_name().map(str::to_string),
        Connection::Client(_) => None,
      };
      return ctx.certificate_for(sni.as_deref());
    }
    self.client.lock().as_ref()?.0.own_cert.clone()
  }

  /// Ciphertext `feed` gave is still to be read.
  pub fn has_early(&self) -> bool {
    !self.early.lock().is_empty()
  }

  /// Ciphertext read before the session existed, to decrypt before what the socket has now.
  pub fn feed(&self, bytes: &[u8]) {
    self.early.lock().extend_from_slice(bytes);
  }

  /// Loop thread: one read from the socket, decrypted, with the plaintext appended to `out`.
  pub fn read(&self, sock: &Socket, out: &mut Vec<u8>) -> ReadStep {
    let mut step = ReadStep::default();
    let mut conn = self.conn.lock();
    let mut early = self.early.lock();
    let source = if early.is_empty() {
      let mut reader = SocketReader { sock, short: false };
      let taken = conn.read_tls(&mut reader);
      step.drained = reader.short;
      taken
    } else {
      let taken = conn.read_tls(&mut early.as_slice());
      if let Ok(n) = taken {
        early.drain(..n);
      }
      taken
    };
    drop(early);
    match source {
      Ok(0) => step.eof = true,
      Ok(_) => self.mark_started(),
      Err(e) if would_block(&e) => step.would_block = true,
      Err(e) if interrupted(&e) => {}
      Err(e) => {
        step.io_error = Some(e);
        return step;
      }
    }
    let was_handshaking = !self.handshake_reported.load(Ordering::SeqCst);
    if was_handshaking {
      // Only a handshake runs the certificate check: nothing another session's check left may
      // pass for ours.
      drop(verify::take_rejected());
    }
    match conn.process_new_packets() {
      Err(err) => {
        let rejected = verify::take_rejected();
        if !rejected.is_empty() {
          *self.rejected_chain.lock() = rejected;
        }
        // Tell the peer why, once, as rustls's examples do.
        let _ = self.push(&mut conn, sock);
        let node = self.reworded(node_cert_error(&err, None, &[], None));
        if was_handshaking {
          self.handshake_reported.store(true, Ordering::SeqCst);
          step.handshake = Some(Err(node));
        } else {
          step.fatal = Some(node);
        }
        return step;
      }
      Ok(state) => {
        if was_handshaking && !conn.is_handshaking() {
          self.handshake_reported.store(true, Ordering::SeqCst);
          step.handshake = Some(Ok(
            self.authorization_error(&conn).map(|e| self.reworded(e)),
          ));
          if self.close_after_handshake.swap(false, Ordering::SeqCst) {
            conn.send_close_notify();
            self.fin_after_flush.store(true, Ordering::SeqCst);
          }
        }
        let available = state.plaintext_bytes_to_read();
        if available > 0 {
          let start = out.len();
          out.resize(start + available, 0);
          let mut got = 0;
          while got < available {
            match conn.reader().read(&mut out[start + got..]) {
              Ok(0) => break,
              Ok(n) => got += n,
              Err(_) => break,
            }
          }
          out.truncate(start + got);
          step.plaintext = got;
        }
        if state.peer_has_closed() {
          step.eof = true;
        }
      }
    }
    match self.push(&mut conn, sock) {
      Ok(true) if self.fin_after_flush.swap(false, Ordering::SeqCst) => {
        let _ = sock.shutdown(std::net::Shutdown::Write);
      }
      Ok(_) => {}
      // A send's EPIPE (the send that met the peer's reset first, on the JS thread usually, took
      // ECONNRESET) is reported as the reset it is (errors::read_errno).
      Err(e) => step.io_error = Some(e),
    }
    step
  }

  /// `flush`, but a held hello stays (`send_hello` pushes it).
  fn push(&self, conn: &mut Connection, sock: &Socket) -> io::Result<bool> {
    if self.hello_held.load(Ordering::SeqCst) {
      return Ok(true);
    }
    flush(conn, sock)
  }

  fn authorization_error(&self, conn: &Connection) -> Option<NodeTlsError> {
    match &*self.check.lock() {
      PostCheck::None => None,
      PostCheck::Client { verifier, name } => {
        verifier.check(conn.peer_certificates().unwrap_or(&[]), name)
      }
      PostCheck::Server { verifier } => verifier.check(conn.peer_certificates()),
    }
  }
}

fn server_check(verifier: &Option<Arc<ClientVerifier>>) -> PostCheck {
  match verifier {
    Some(verifier) => PostCheck::Server {
      verifier: verifier.clone(),
    },
    None => PostCheck::None,
  }
}

/// A client connection for `wanted`, the check of the server's certificate against it, and the
/// name its errors show when rustls cannot take it.
fn client_connection(
  ctx: &ClientContext,
  wanted: &str,
) -> Result<(ClientConnection, PostCheck, Option<String>), String> {
  // A name that is neither a DNS name nor an IP address (`bad_name!`, `127.1`) names no
  // certificate: node:tls and Bun connect and fail the name check. rustls takes no such name,
  // so the session stands in an address that sends no SNI and that no certificate matches
  // (verify.rs `stand_in_name`), and its name errors are worded for the name asked for.
  let (name, shown) = match ServerName::try_from(
    wanted
      .trim_start_matches('[')
      .trim_end_matches(']')
      .to_string(),
  ) {
    Ok(name) => (name, None),
    Err(_) => (stand_in_name(), Some(wanted.to_string())),
  };
  let conn = ClientConnection::new(ctx.config.clone(), name.clone()).map_err(|e| e.to_string())?;
  let check = PostCheck::Client {
    verifier: ctx.verifier.clone(),
    name,
  };
  Ok((conn, check, shown))
}

/// `write_tls` until the session has nothing to send or the socket is full; true when emptied.
fn flush(conn: &mut Connection, sock: &Socket) -> io::Result<bool> {
  while conn.wants_write() {
    match conn.write_tls(&mut SocketWriter(sock)) {
      Ok(_) => {}
      Err(e) if would_block(&e) => return Ok(false),
      Err(e) if interrupted(&e) => {}
      Err(e) => return Err(e),
    }
  }
  Ok(true)
}

struct SocketReader<'a> {
  sock: &'a Socket,
  /// The last read returned less than asked: the socket was empty then.
  short: bool,
}

impl Read for SocketReader<'_> {
  fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
    let n = (&*self.sock).read(buf)?;
    self.short = n > 0 && n < buf.len();
    Ok(n)
  }
}

struct SocketWriter<'a>(&'a Socket);

impl Write for SocketWriter<'_> {
  fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
    self.0.send(buf)
  }

  /// rustls hands every waiting record at once (a whole handshake flight): one `sendmsg` for all
  /// rather than one `send` each, which on loopback also means one trip through the peer's stack.
  /// A lone record (the usual reply) takes `send`, which skips `sendmsg`'s iovec import.
  fn write_vectored(&mut self, bufs: &[io::IoSlice<'_>]) -> io::Result<usize> {
    match bufs {
      [one] => self.0.send(one),
      _ => self.0.send_vectored(bufs),
    }
  }

  fn flush(&mut self) -> io::Result<()> {
    Ok(())
  }
}
