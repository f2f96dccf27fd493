//! Client connects: non-blocking, every address in turn, the first that succeeds wins. An attempt
//! that has not connected after `ATTEMPT_MS` gives way to the next address, as node:net's
//! `autoSelectFamily` does: a name whose first address drops packets (an IPv6 address on a host
//! without an IPv6 route) would otherwise hold the connect for the kernel's two minutes of SYN
//! retries. The last address has no such limit.

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

use mio::Interest;
use socket2::{Domain, SockAddr, Socket, Type};

use super::{Connecting, EventLoop, Open, Slot};
use crate::batch;
use crate::clock::now_ms;
use crate::errors::neg_errno;
use crate::socket_core::SocketCore;

/// How long an attempt has before the next address is tried (node:net's
/// `autoSelectFamilyAttemptTimeout` default).
pub(super) const ATTEMPT_MS: u64 = 250;

impl EventLoop {
  pub(super) fn start_connect(
    &mut self,
    core: Arc<SocketCore>,
    addrs: Result<Vec<SockAddr>, i32>,
    folder: Option<OwnedFd>,
  ) {
    let id = core.id;
    let (addrs, first_errno) = match addrs {
      Ok(addrs) => (addrs, None),
      Err(errno) => (Vec::new(), Some(errno)),
    };
    let conn = Connecting {
      core,
      sock: None,
      addrs,
      next: 0,
      first_errno,
      give_up_at: None,
      _folder: folder,
    };
    self.put(id, Slot::Connecting(conn));
    self.try_next_address(id);
  }

  /// Starts a connect to the next address; reports the failure when none is left.
  pub(super) fn try_next_address(&mut self, id: u32) {
    loop {
      let Some(Slot::Connecting(conn)) = self.slot_mut(id) else {
        return;
      };
      if let Some(old) = conn.sock.take() {
        let fd = old.as_raw_fd();
        self.deregister(fd);
      }
      let Some(Slot::Connecting(conn)) = self.slot_mut(id) else {
        return;
      };
      let Some(addr) = conn.addrs.get(conn.next).cloned() else {
        let errno = conn.first_errno.unwrap_or(-libc::ECONNREFUSED);
        self.take_slot(id);
        self.local.push(batch::CONNECT_ERROR, id, errno, 0);
        return;
      };
      conn.next += 1;
      let more = conn.next < conn.addrs.len();
      conn.give_up_at = None;
      match begin_connect(&addr) {
        Ok(sock) => {
          let fd = sock.as_raw_fd();
          conn.sock = Some(sock);
          match self.register(fd, id, Interest::READABLE | Interest::WRITABLE) {
            Ok(()) => {
              if more {
                self.limit_attempt(id);
              }
              return;
            }
            Err(e) => self.set_connect_errno(id, neg_errno(&e)),
          }
        }
        Err(e) => self.set_connect_errno(id, neg_errno(&e)),
      }
    }
  }

  /// Gives the attempt under way `ATTEMPT_MS` before the next address is tried.
  fn limit_attempt(&mut self, id: u32) {
    let at = now_ms().saturating_add(ATTEMPT_MS);
    let Some(Slot::Connecting(conn)) = self.slot_mut(id) else {
      return;
    };
    if conn.give_up_at.replace(at).is_none() && !self.attempts.contains(&id) {
      self.attempts.push(id);
    }
    self.next_timer_check = Some(self.next_timer_check.map_or(at, |t| t.min(at)));
  }

  /// Attempts past their time give way to the next address; returns when the next one is due.
  pub(super) fn expire_attempts(&mut self, now: u64) -> Option<u64> {
    let mut next: Option<u64> = None;
    let mut expired = Vec::new();
    self
      .attempts
      .retain(|&id| match super::slot_in(&mut self.slots, id) {
        Some(Slot::Connecting(conn)) => match conn.give_up_at {
          Some(at) if now >= at => {
            expired.push(id);
            false
          }
          Some(at) => {
            next = Some(next.map_or(at, |n: u64| n.min(at)));
            true
          }
          None => false,
        },
        _ => false,
      });
    for id in expired {
      self.set_connect_errno(id, -libc::ETIMEDOUT);
      self.try_next_address(id);
      if let Some(Slot::Connecting(conn)) = self.slot(id) {
        if let Some(at) = conn.give_up_at {
          next = Some(next.map_or(at, |n: u64| n.min(at)));
        }
      }
    }
    next
  }

  pub(super) fn set_connect_errno(&mut self, id: u32, errno: i32) {
    if let Some(Slot::Connecting(conn)) = self.slot_mut(id) {
      conn.first_errno.get_or_insert(errno);
    }
  }

  pub(super) fn finish_connect(&mut self, id: u32) {
    let Some(Slot::Connecting(conn)) = self.slot_mut(id) else {
      return;
    };
    let Some(sock) = conn.sock.as_ref() else {
      return;
    };
    match sock.take_error() {
      Ok(None) => {}
      Ok(Some(e)) | Err(e) => {
        conn.first_errno.get_or_insert(neg_errno(&e));
        return self.try_next_address(id);
      }
    }
    match sock.peer_addr() {
      Ok(_) => {}
      // Not connected yet: a spurious wake-up.
      Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => return,
      Err(e) => {
        conn.first_errno.get_or_insert(neg_errno(&e));
        return self.try_next_address(id);
      }
    }
    let Some(Slot::Connecting(mut conn)) = self.take_slot(id) else {
      return;
    };
    if let Some(sock) = conn.sock.take() {
      if sock.domain().map(|d| d != Domain::UNIX).unwrap_or(false) {
        let _ = sock.set_tcp_nodelay(true);
      }
      conn.core.set_socket(sock);
    }
    // A TLS client speaks first: its ClientHello is waiting.
    self.flush_tls(&conn.core);
    self.local.push(batch::CONNECTED, id, 0, 0);
    self.put(id, Slot::Open(Open::new(conn.core)));
    // Bytes may have come with the connect's wake-up, whose edge is spent.
    self.read(id, true);
  }
}

/// A non-blocking connect: `Ok` once it is under way (or done). `EAGAIN` is a failure, not a
/// connect under way: a unix listener's backlog is full (or no local port is left), and no
/// wake-up would ever come for it; node:net reports it as `EAGAIN` too.
fn begin_connect(addr: &SockAddr) -> io::Result<Socket> {
  let sock = Socket::new(addr.domain(), Type::STREAM.nonblocking().cloexec(), None)?;
  match sock.connect(addr) {
    Ok(()) => Ok(sock),
    Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => Ok(sock),
    Err(e) => Err(e),
  }
}
