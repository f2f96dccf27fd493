//! The state of one connection that both threads share.
//!
//! The JS thread writes straight to the socket (`send`), sets options and flags; the loop thread
//! reads it and watches it. The file descriptor is closed when the last `Arc` goes, so neither thread
//! can ever touch a descriptor number that the kernel has handed to another socket.

use std::io;
use std::net::Shutdown;
use std::os::fd::{AsRawFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use socket2::{SockAddr, Socket, TcpKeepalive};

use crate::clock::now_ms;
use crate::ids::IdPool;
use crate::tls::session::TlsSession;

pub struct SocketCore {
  pub id: u32,
  /// Set once: at accept, or when a client connect succeeds.
  sock: OnceLock<Socket>,
  /// Set once: at accept on a TLS listener, at a TLS connect, or by `upgradeTLS`. Boxed: a rustls
  /// session is over a kilobyte, and a plain socket should not carry room for one.
  tls: OnceLock<Box<TlsSession>>,
  /// TLS records wait for the socket to take them: the loop must flush on writable.
  pub flush_wanted: AtomicBool,
  /// The JS side was refused bytes and waits for `drain`.
  pub want_drain: AtomicBool,
  /// `pause()`: the loop leaves the bytes in the kernel.
  pub paused: AtomicBool,
  /// The loop skipped a read because the socket was paused: its edge-triggered readiness is used
  /// up, so `resume()` must ask the kernel for it again. Without this, `resume()` re-registered
  /// every time, a system call per pause/resume that was a tenth of a server's CPU when it
  /// paused for each message.
  read_missed: AtomicBool,
  /// `shutdown(true)`: what arrives is read and dropped, so the peer's FIN or reset still ends
  /// the socket (a SHUT_RD socket reads as EOF at once, and a paused one never sees the peer go).
  pub discard_reads: AtomicBool,
  /// Inactivity timeout in ms (0 = off) and the time of the last read or write.
  pub timeout_ms: AtomicU64,
  pub last_active_ms: AtomicU64,
  /// The kernel tore the connection down (a read or write failed with ECONNRESET, EPIPE or
  /// ETIMEDOUT): closing it sends nothing, so neither FIN nor RST is asked for.
  broken: AtomicBool,
  /// `terminate()`: closing sends RST, and under TLS no close_notify goes first.
  resetting: AtomicBool,
  pool: Arc<IdPool>,
}

impl SocketCore {
  pub fn new(pool: &Arc<IdPool>) -> Self {
    SocketCore {
      id: pool.alloc(),
      sock: OnceLock::new(),
      tls: OnceLock::new(),
      flush_wanted: AtomicBool::new(false),
      want_drain: AtomicBool::new(false),
      paused: AtomicBool::new(false),
      read_missed: AtomicBool::new(false),
      discard_reads: AtomicBool::new(false),
      timeout_ms: AtomicU64::new(0),
      last_active_ms: AtomicU64::new(0),
      broken: AtomicBool::new(false),
      resetting: AtomicBool::new(false),
      pool: pool.clone(),
    }
  }

  pub fn with_socket(pool: &Arc<IdPool>, sock: Socket) -> Self {
    let core = SocketCore::new(pool);
    let _ = core.sock.set(sock);
    core
  }

  /// Publishes the connected socket of a client; later calls are ignored.
  pub fn set_socket(&self, sock: Socket) {
    let _ = self.sock.set(sock);
  }

  pub fn socket(&self) -> Option<&Socket> {
    self.sock.get()
  }

  pub fn tls(&self) -> Option<&TlsSession> {
    self.tls.get().map(|b| &**b)
  }

  /// Puts the connection under TLS from now on; false if it already was.
  pub fn set_tls(&self, session: TlsSession) -> bool {
    self.tls.set(Box::new(session)).is_ok()
  }

  pub fn fd(&self) -> Option<RawFd> {
    self.sock.get().map(|s| s.as_raw_fd())
  }

  /// A non-blocking send; `Ok(0)` when the kernel takes nothing now. Under TLS: the plaintext the
  /// session took (its records go out now or, with `flush_wanted` set, when the socket allows).
  pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
    let sock = self.sock.get().ok_or_else(not_connected)?;
    if let Some(tls) = self.tls.get() {
      let (n, pending) = tls.write(sock, buf).inspect_err(|e| self.note_failure(e))?;
      if pending {
        self.flush_wanted.store(true, Ordering::SeqCst);
      }
      if n > 0 {
        self.touch();
      }
      return Ok(n);
    }
    loop {
      match sock.send(buf) {
        Ok(n) => {
          if n > 0 {
            self.touch();
          }
          return Ok(n);
        }
        Err(e) if crate::errors::would_block(&e) => return Ok(0),
        Err(e) if crate::errors::interrupted(&e) => continue,
        Err(e) => {
          self.note_failure(&e);
          return Err(e);
        }
      }
    }
  }

  /// Remembers a failure that means the connection is gone (see `broken`).
  pub fn note_failure(&self, err: &io::Error) {
    if matches!(
      err.raw_os_error(),
      Some(libc::ECONNRESET | libc::EPIPE | libc::ETIMEDOUT)
    ) {
      self.broken.store(true, Ordering::Relaxed);
    }
  }

  pub fn is_broken(&self) -> bool {
    self.broken.load(Ordering::Relaxed)
  }

  /// Closing says no goodbye: the connection is gone, or it is being reset.
  pub fn leaves_silently(&self) -> bool {
    self.is_broken() || self.resetting.load(Ordering::Relaxed)
  }

  /// Whether the loop must leave the socket unread (it is paused). When so, that is noted for
  /// `resumed`: noted first and the pause checked again, so a `resume()` that ran in between
  /// either sees the note or is seen here. After `shutdown(true)` what arrives is dropped, paused
  /// or not: the peer is not held back for bytes nobody will see, and its FIN is noticed.
  pub fn skips_reading(&self) -> bool {
    let skips = || self.paused.load(Ordering::SeqCst) && !self.discard_reads.load(Ordering::SeqCst);
    if !skips() {
      return false;
    }
    self.read_missed.store(true, Ordering::SeqCst);
    skips()
  }

  /// After `resume()` cleared `paused` or `shutdown(true)` set `discard_reads`: whether the loop
  /// skipped a read during the pause, so readiness must be asked for again.
  pub fn take_read_missed(&self) -> bool {
    self.read_missed.swap(false, Ordering::SeqCst)
  }

  /// Records activity for the inactivity timer (only read when a timeout is set).
  pub fn touch(&self) {
    if self.timeout_ms.load(Ordering::Relaxed) != 0 {
      self.last_active_ms.store(now_ms(), Ordering::Relaxed);
    }
  }

  pub fn arm_timeout(&self, ms: u64) {
    self.last_active_ms.store(now_ms(), Ordering::Relaxed);
    self.timeout_ms.store(ms, Ordering::SeqCst);
  }

  pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
    self.sock.get().ok_or_else(not_connected)?.shutdown(how)
  }

  /// Sends FIN after everything written so far; under TLS, close_notify first. When records still
  /// wait for the socket, FIN is left to the loop (`flush_wanted`).
  pub fn finish_writes(&self) -> io::Result<()> {
    let sock = self.sock.get().ok_or_else(not_connected)?;
    match self.tls.get() {
      Some(tls) => {
        if tls.end_writes(sock)? {
          sock.shutdown(Shutdown::Write)?;
        } else {
          self.flush_wanted.store(true, Ordering::SeqCst);
        }
        Ok(())
      }
      None => sock.shutdown(Shutdown::Write),
    }
  }

  /// Makes the coming close(2) send RST instead of FIN.
  pub fn set_reset_on_close(&self) {
    self.resetting.store(true, Ordering::Relaxed);
    if let Some(sock) = self.sock.get() {
      let _ = sock.set_linger(Some(Duration::ZERO));
    }
  }

  /// What the kernel holds of our writes: not yet acknowledged by the peer.
  pub fn unacked_bytes(&self) -> usize {
    self
      .sock
      .get()
      .and_then(|s| queued(s, libc::TIOCOUTQ))
      .unwrap_or(0)
  }

  /// Bytes waiting unread in the socket's receive queue; None when unknown.
  pub fn unread_bytes(&self) -> Option<usize> {
    self.sock.get().and_then(|s| queued(s, libc::FIONREAD))
  }

  /// A unix socket has no Nagle delay to turn off, so it reports true, as Bun's does.
  pub fn set_nodelay(&self, on: bool) -> bool {
    self.sock.get().is_some_and(|s| {
      s.set_tcp_nodelay(on).is_ok() || s.domain().is_ok_and(|d| d == socket2::Domain::UNIX)
    })
  }

  /// `initial_delay_ms` as in `node:net`: milliseconds, rounded down to whole seconds (min 1).
  pub fn set_keepalive(&self, on: bool, initial_delay_ms: u64) -> bool {
    let Some(sock) = self.sock.get() else {
      return false;
    };
    if sock.set_keepalive(on).is_err() {
      return false;
    }
    if on && initial_delay_ms > 0 {
      // Linux takes at most 32767 s (MAX_TCP_KEEPIDLE); longer asks get the longest.
      let secs = (initial_delay_ms / 1000).clamp(1, 32_767);
      return sock.set_tcp_keepalive(&keepalive_probes(secs)).is_ok();
    }
    true
  }

  /// IP_TOS, or the traffic class of an IPv6 socket (what its packets carry).
  pub fn set_type_of_service(&self, tos: u32) -> io::Result<()> {
    let sock = self.sock.get().ok_or_else(not_connected)?;
    match sock.domain()? {
      socket2::Domain::IPV6 => sock.set_tclass_v6(tos),
      socket2::Domain::IPV4 => sock.set_tos_v4(tos),
      _ => Err(io::Error::from_raw_os_error(libc::EINVAL)), // unix sockets, as Bun reports them
    }
  }

  pub fn type_of_service(&self) -> io::Result<u32> {
    let sock = self.sock.get().ok_or_else(not_connected)?;
    match sock.domain()? {
      socket2::Domain::IPV6 => sock.tclass_v6(),
      socket2::Domain::IPV4 => sock.tos_v4(),
      _ => Err(io::Error::from_raw_os_error(libc::EINVAL)),
    }
  }

  pub fn peer_addr(&self) -> Option<SockAddr> {
    self.sock.get()?.peer_addr().ok()
  }

  pub fn local_addr(&self) -> Option<SockAddr> {
    self.sock.get()?.local_addr().ok()
  }
}

impl Drop for SocketCore {
  fn drop(&mut self) {
    self.pool.free(self.id);
  }
}

/// Bytes sent or queued and not yet acknowledged by the peer (SIOCOUTQ); 0 when unknown.
/// A socket queue's length in bytes: FIONREAD (unread input) or TIOCOUTQ (output the peer has
/// not acknowledged); None when the kernel will not say.
fn queued(sock: &Socket, request: libc::c_ulong) -> Option<usize> {
  let mut n: libc::c_int = 0;
  // SAFETY: both requests write one c_int through the pointer, which points at `n`; the
  // descriptor is the socket's own, open while `sock` is borrowed.
  let rc = unsafe { libc::ioctl(sock.as_raw_fd(), request, &mut n) };
  if rc != 0 {
    return None;
  }
  usize::try_from(n).ok()
}

/// Keep-alive after `idle_secs` of silence, then a probe every second, ten at most, as libuv
/// (node:net) and Bun set them: a dead peer is noticed 10 s after the delay, not the kernel's
/// default 75 s x 9.
fn keepalive_probes(idle_secs: u64) -> TcpKeepalive {
  TcpKeepalive::new()
    .with_time(Duration::from_secs(idle_secs))
    .with_interval(Duration::from_secs(1))
    .with_retries(10)
}

fn not_connected() -> io::Error {
  io::Error::from_raw_os_error(libc::ENOTCONN)
}

#[cfg(test)]
mod tests {
  #[test]
  fn keepalive_probes_as_node_and_bun_set_them() {
    let sock = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None).unwrap();
    sock.set_keepalive(true).unwrap();
    sock
      .set_tcp_keepalive(&super::keepalive_probes(30))
      .unwrap();
    let get = |name| {
      use std::os::fd::AsRawFd;
      let mut value: libc::c_int = 0;
      let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
      // SAFETY: getsockopt writes at most `len` bytes into `value`, a c_int.
      let rc = unsafe {
        libc::getsockopt(
          sock.as_raw_fd(),
          libc::IPPROTO_TCP,
          name,
          (&raw mut value).cast(),
          &mut len,
        )
      };
      assert_eq!(rc, 0);
      value
    };
    assert_eq!(get(libc::TCP_KEEPIDLE), 30);
    assert_eq!(get(libc::TCP_KEEPINTVL), 1);
    assert_eq!(get(libc::TCP_KEEPCNT), 10);
  }

  /// Every connection has one: an idle socket must stay small (no TLS or read buffer inline).
  #[test]
  fn a_socket_core_is_small() {
    assert!(
      std::mem::size_of::<super::SocketCore>() <= 128,
      "{}",
      std::mem::size_of::<super::SocketCore>()
    );
  }
}
