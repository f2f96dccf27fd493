//! Client connects: non-blocking, every address in turn, the first that succeeds wins.

use std::io;
use std::os::fd::AsRawFd;
use std::sync::Arc;

use mio::Interest;
use socket2::{Domain, SockAddr, Socket, Type};

use super::{Connecting, EventLoop, Open, Slot};
use crate::batch;
use crate::errors::{neg_errno, would_block};
use crate::socket_core::SocketCore;

impl EventLoop {
  pub(super) fn start_connect(&mut self, core: Arc<SocketCore>, addrs: Vec<SockAddr>) {
    let id = core.id;
    let conn = Connecting {
      core,
      sock: None,
      addrs,
      next: 0,
      first_errno: None,
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
      match begin_connect(&addr) {
        Ok(sock) => {
          let fd = sock.as_raw_fd();
          conn.sock = Some(sock);
          match self.register(fd, id, Interest::READABLE | Interest::WRITABLE) {
            Ok(()) => return,
            Err(e) => self.set_connect_errno(id, neg_errno(&e)),
          }
        }
        Err(e) => self.set_connect_errno(id, neg_errno(&e)),
      }
    }
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

/// A non-blocking connect: `Ok` once it is under way (or done).
fn begin_connect(addr: &SockAddr) -> io::Result<Socket> {
  let sock = Socket::new(addr.domain(), Type::STREAM.nonblocking().cloexec(), None)?;
  match sock.connect(addr) {
    Ok(()) => Ok(sock),
    Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) || would_block(&e) => Ok(sock),
    Err(e) => Err(e),
  }
}
