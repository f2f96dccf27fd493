//! What JS asks of the loop: new listeners and connects, releases (with end() data to send
//! first), timers, and stopping.

use std::io::Read;
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::sync::atomic::Ordering;

use mio::Interest;

use super::super::Command;
use super::{EventLoop, Lingering, Slot};
use crate::batch;
use crate::clock::now_ms;
use crate::errors::{interrupted, would_block};

/// How long unsent `end()` data may take to leave once JS has let go of the socket.
const LINGER_MS: u64 = 30_000;
/// How long a released socket waits for its handshake to end before its data can go.
const HANDSHAKE_LINGER_MS: u64 = 5_000;

impl EventLoop {
  /// Returns false when the loop must stop.
  pub(super) fn run_commands(&mut self) -> bool {
    let commands = std::mem::take(&mut *self.shared.commands.lock());
    for cmd in commands {
      match cmd {
        Command::Listen(listener) => {
          let id = listener.id;
          if let Some(fd) = listener.fd() {
            if self.register(fd, id, Interest::READABLE).is_ok() {
              self.put(id, Slot::Listener(listener));
              // Connections may already wait in the backlog.
              self.accept(id);
            }
          }
        }
        Command::Adopt { listener, accepted } => {
          for (sock, tcp) in accepted {
            self.adopt(sock, tcp, &listener);
          }
        }
        Command::Unlisten(id) => {
          self.accept_retry.retain(|l| *l != id);
          self.take_slot(id);
          self.local.push(batch::UNLISTENED, id, 0, 0);
        }
        Command::Connect {
          core,
          addrs,
          folder,
        } => self.start_connect(core, addrs, folder),
        Command::Release { id, pending, hold } => self.release(id, pending, hold),
        Command::Watch(id) => self.watch(id),
        Command::Read(id) => self.read(id, true),
        Command::Resume => {}
        Command::Panic(id) => self.guarded(id, |_, _| {
          panic!("node-bun-tcp: injected panic (test hook)")
        }),
        Command::PanicLoop => panic!("node-bun-tcp: injected loop panic (test hook)"),
        Command::Stop => return false,
      }
    }
    true
  }

  pub(super) fn release(&mut self, id: u32, pending: Vec<u8>, hold: bool) {
    let mut read_done = false;
    let core = match self.take_slot(id) {
      Some(Slot::Open(open)) => {
        read_done = open.done_reading;
        Some(open.core)
      }
      Some(Slot::Connecting(conn)) => {
        if let Some(sock) = conn.sock {
          self.deregister(sock.as_raw_fd());
        }
        None
      }
      Some(other) => {
        self.put(id, other);
        None
      }
      None => None,
    };
    let Some(core) = core else {
      if hold {
        // JS holds the process open for this goodbye: say it is settled.
        self.local.push(batch::FLUSHED, id, 0, 0);
      }
      return;
    };
    self.throttled.retain(|t| *t != id);
    // A released socket lingers until its goodbye is out and cannot be undone: `end()` data, TLS
    // records and close_notify sent, then FIN, and the peer's FIN read or all we sent acknowledged
    // (closing with unread input, which the peer may still send, is a reset that throws away what
    // is unsent: nginx's lingering close). Not when the connection is already gone, or
    // `terminate()` resets it (the peer must see the reset), nor for a plain socket whose peer's
    // FIN was read (JS sent ours): nothing can come any more.
    if core.leaves_silently() || (pending.is_empty() && core.tls().is_none() && read_done) {
      self.forget(core);
      if hold {
        self.local.push(batch::FLUSHED, id, 0, 0);
      }
      return;
    }
    // close() during the handshake: with data written (or end() data pending), the handshake
    // finishes first and the data follows, as writes before the handshake are sent once it is
    // done; with nothing to send, it is abandoned (close_notify at once).
    let handshaking = core.tls().is_some_and(|t| t.is_handshaking());
    let after_handshake = handshaking
      && core.tls().is_some_and(|t| {
        t.holds_early_plaintext()
          || (!pending.is_empty() && !t.abandon_handshake.load(Ordering::Relaxed))
      });
    let pending = if handshaking && !after_handshake {
      Vec::new()
    } else {
      pending
    };
    // Waiting for a handshake is bounded more tightly than a flush: a peer that never answers
    // must not hold the process for long.
    let deadline = now_ms()
      + if after_handshake {
        HANDSHAKE_LINGER_MS
      } else {
        LINGER_MS
      };
    self.put(
      id,
      Slot::Lingering(Lingering {
        core,
        holds_ref: hold,
        pending,
        sent: 0,
        deadline,
        notified: false,
        after_handshake,
        read_closed: read_done,
        fin_sent: false,
        recheck_ms: 0,
        released_ms: now_ms(),
        dropped_input: false,
        acked_at: None,
        unacked: usize::MAX,
        progress_ms: now_ms(),
      }),
    );
    self.lingering.push(id);
    self.next_timer_check = Some(self.next_timer_check.map_or(deadline, |t| t.min(deadline)));
    if self.drain_lingering(id) {
      self.flush_lingering(id);
    } else {
      self.drop_lingering(id);
    }
  }

  /// Reads and drops what the peer sends to a released socket, until the socket is empty. A peer
  /// that talks while it waits for our data is not stalled (two released sockets of one process
  /// would otherwise each wait for the other to read), and the close meets no unread bytes, which
  /// would make it a reset that throws away what is still unsent. False when the connection is
  /// gone (reset, fatal TLS error): nothing more can be sent.
  pub(super) fn drain_lingering(&mut self, id: u32) -> bool {
    let mut scratch = std::mem::take(&mut self.discard);
    if scratch.is_empty() {
      scratch = vec![0u8; 64 << 10];
    }
    let alive = self.drain_into(id, &mut scratch);
    self.discard = scratch;
    alive
  }

  fn drain_into(&mut self, id: u32, scratch: &mut [u8]) -> bool {
    let Some(Slot::Lingering(l)) = self.slot_mut(id) else {
      return true;
    };
    if l.read_closed {
      return true;
    }
    let core = l.core.clone();
    let Some(sock) = core.socket() else {
      return true;
    };
    let mut plaintext = Vec::new();
    loop {
      if let Some(tls) = core.tls() {
        plaintext.clear();
        let step = tls.read(sock, &mut plaintext);
        if step.plaintext > 0 {
          l.dropped_input = true;
        }
        if step.io_error.is_some() || step.fatal.is_some() || matches!(step.handshake, Some(Err(_)))
        {
          return false;
        }
        if step.eof {
          l.read_closed = true;
          return true;
        }
        // Until the socket says it is empty: a FIN that came with the last bytes raises no
        // event of its own (edge-triggered), and a released socket must see it.
        if step.would_block {
          return true;
        }
        continue;
      }
      match (&*sock).read(scratch) {
        Ok(0) => {
          l.read_closed = true;
          return true;
        }
        Ok(_) => {
          l.dropped_input = true;
        }
        Err(e) if would_block(&e) => return true,
        Err(e) if interrupted(&e) => {}
        Err(_) => return false,
      }
    }
  }

  pub(super) fn flush_lingering(&mut self, id: u32) {
    let Some(Slot::Lingering(l)) = self.slot_mut(id) else {
      return;
    };
    if l.after_handshake && l.read_closed && l.core.tls().is_some_and(|t| t.is_handshaking()) {
      return self.drop_lingering(id); // the peer left: the handshake cannot finish
    }
    if !l.fin_sent {
      let failed = loop {
        if l.sent < l.pending.len() {
          match l.core.send(&l.pending[l.sent..]) {
            Ok(0) => return, // wait for writable
            Ok(n) => {
              l.sent += n;
              continue;
            }
            Err(_) => break true,
          }
        }
        if let (Some(tls), Some(sock)) = (l.core.tls(), l.core.socket()) {
          if l.after_handshake && !tls.is_handshaking() {
            // The handshake is done: what follows is a flush, with a flush's time.
            l.after_handshake = false;
            l.deadline = now_ms() + LINGER_MS;
          }
          if l.after_handshake && tls.is_handshaking() {
            // Its records out; the rest follows when a read has finished the handshake.
            match tls.flush(sock) {
              Ok(_) => return,
              Err(_) => break true,
            }
          }
          let flushed = if l.notified {
            tls.flush(sock)
          } else {
            l.notified = true;
            tls.close_notify(sock)
          };
          match flushed {
            Ok(true) => {}
            Ok(false) => return, // wait for writable
            Err(_) => break true,
          }
        }
        let _ = l.core.shutdown(Shutdown::Write);
        l.fin_sent = true;
        l.recheck_ms = 0;
        break false;
      };
      if failed {
        return self.drop_lingering(id);
      }
    }
    if let Some(at) = self.after_fin(id) {
      self.next_timer_check = Some(self.next_timer_check.map_or(at, |t| t.min(at)));
    }
  }

  /// A lingering socket whose FIN is out (see `release`): it closes (and lets the process go,
  /// FLUSHED) when the peer's FIN is read, when the peer has had everything for `ACKED_MAX_MS`,
  /// or (a peer that never talked after the release) when it has everything and is quiet.
  /// Returns when to look again (acknowledgements raise no event).
  pub(super) fn recheck_lingering(&mut self, id: u32) -> Option<u64> {
    match self.slot(id) {
      Some(Slot::Lingering(l)) if l.fin_sent => self.after_fin(id),
      _ => None,
    }
  }

  fn after_fin(&mut self, id: u32) -> Option<u64> {
    let Some(Slot::Lingering(l)) = self.slot_mut(id) else {
      return None;
    };
    let now = now_ms();
    // What the peer has not acknowledged of what we sent (0 once the socket is gone).
    let unacked = l.core.unacked_bytes();
    if unacked < l.unacked {
      l.progress_ms = now;
    }
    l.unacked = unacked;
    let acked = l.read_closed || unacked == 0;
    l.acked_at = if acked {
      l.acked_at.or(Some(now))
    } else {
      None
    };
    // Quiet: nothing heard since the release, for QUIET_MS (a peer heard from is never "quiet":
    // it waits for the FIN or ACKED_MAX_MS below).
    let quiet = !l.dropped_input && now.saturating_sub(l.released_ms) >= QUIET_MS;
    let acked_long = l
      .acked_at
      .is_some_and(|at| now.saturating_sub(at) >= ACKED_MAX_MS);
    // The socket closes when the peer has ended; when it has everything and has been quiet; or
    // when it has had everything for `ACKED_MAX_MS` (a half-open peer that talks on must learn
    // soon that the connection is gone). A peer that talks may still be reading what it has
    // (acknowledged is only in its kernel): closing on it is a reset at its next bytes, and a
    // reset makes a peer throw away what it has not read (node:tls does), so a pause in its talk
    // (GC, a busy event loop) does not close on it.
    if l.read_closed || acked_long || (l.acked_at.is_some() && quiet) {
      self.drop_lingering(id);
      return None;
    }
    l.recheck_ms = (l.recheck_ms * 2).clamp(1, 100);
    let next = now + l.recheck_ms;
    // The process waits for that close, not just the acknowledgement: an exit closes the socket
    // too. But a peer that takes nothing for a while (not reading, or gone without a word) no
    // longer holds it: it exits as it would have without the linger. While the process lives,
    // the socket lingers on.
    if l.holds_ref && now.saturating_sub(l.progress_ms) >= STALL_MS {
      l.holds_ref = false;
      self.local.push(batch::FLUSHED, id, 0, 0);
    }
    Some(next)
  }

  pub(super) fn drop_lingering(&mut self, id: u32) {
    if let Some(Slot::Lingering(l)) = self.take_slot(id) {
      if l.dropped_input && !l.read_closed {
        l.core.set_reset_on_close();
      }
      self.forget(l.core);
      if l.holds_ref {
        self.local.push(batch::FLUSHED, id, 0, 0);
      }
    }
    self.lingering.retain(|l| *l != id);
  }
}

/// How long a peer that has everything we sent, and never talked after the release, must have
/// been quiet before we close on it (nginx's lingering_timeout, shorter).
const QUIET_MS: u64 = 200;
/// How long a peer that has everything we sent may talk on before we close on it anyway.
const ACKED_MAX_MS: u64 = 2_000;

/// How long a peer that acknowledges nothing may hold the process once everything is sent.
const STALL_MS: u64 = 2_000;
