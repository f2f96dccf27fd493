//! Accepting: every pending connection of a listener, each registered and announced to JS.

use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use mio::Interest;
use socket2::Socket;

use super::{EventLoop, Open, Slot};
use crate::batch;
use crate::clock::now_ms;
use crate::errors::{interrupted, neg_errno, would_block};
use crate::listener::ListenerCore;
use crate::socket_core::SocketCore;
use crate::tls::session::TlsSession;

/// How long to wait before accepting again after running out of descriptors.
const ACCEPT_RETRY_MS: u64 = 100;

impl EventLoop {
  pub(super) fn accept(&mut self, id: u32) {
    let Some(Slot::Listener(listener)) = self.slot(id) else {
      return;
    };
    let listener = listener.clone();
    loop {
      match listener.accept() {
        Ok(Some((sock, tcp))) => self.adopt(sock, tcp, &listener),
        Ok(None) => return,
        Err(e) if would_block(&e) => return,
        Err(e) if interrupted(&e) || e.raw_os_error() == Some(libc::ECONNABORTED) => continue,
        Err(e) => {
          // Out of descriptors or memory: the connection stays in the backlog; try again soon.
          self.local.push(batch::ACCEPT_ERROR, id, neg_errno(&e), 0);
          if !self.accept_retry.contains(&id) {
            self.accept_retry.push(id);
          }
          self.accept_retry_at = Some(now_ms() + ACCEPT_RETRY_MS);
          return;
        }
      }
    }
  }

  pub(super) fn adopt(&mut self, sock: Socket, tcp: bool, listener: &ListenerCore) {
    let listener_id = listener.id;
    if tcp {
      // As Bun does: request/response protocols must not wait on Nagle.
      let _ = sock.set_tcp_nodelay(true);
    }
    let fd = sock.as_raw_fd();
    let core = Arc::new(SocketCore::with_socket(&self.shared.ids, sock));
    if let Some(ctx) = &listener.tls {
      match TlsSession::server(ctx) {
        Ok(session) => {
          core.set_tls(session);
        }
        Err(_) => return,
      }
      if listener.open_first.load(Ordering::SeqCst) {
        // JS resumes it once `open` ran (lib/dispatch.js).
        core.paused.store(true, Ordering::SeqCst);
      }
    }
    let id = core.id;
    if self
      .register(fd, id, Interest::READABLE | Interest::WRITABLE)
      .is_err()
    {
      return; // dropping `core` closes the connection
    }
    self.local.push(batch::OPEN, id, listener_id as i32, 0);
    self.local.opened.push(core.clone());
    self.put(id, Slot::Open(Open::new(core)));
  }
}
