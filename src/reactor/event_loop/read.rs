//! Reading (plain and TLS) into the turn's batch, bounded per socket and in total, and TLS
//! flushes on writable.

use std::mem::MaybeUninit;
use std::net::Shutdown;
use std::sync::atomic::Ordering;

use super::super::{Shared, MAX_QUEUED_PER_SOCKET, MAX_QUEUED_TOTAL};
use super::{slot_in, EventLoop, Slot};
use crate::batch::{self, Batch};
use crate::errors::{interrupted, read_errno, would_block};
use crate::socket_core::SocketCore;

/// The most one `recv` asks for. A read that returns less than it asked has emptied the socket.
const READ_SIZE: usize = 256 * 1024;

/// A `recv` goes into the room the batch's buffer has left when that is at least this much;
/// otherwise the buffer grows, which copies everything read so far.
const MIN_READ: usize = 64 * 1024;

/// The room an empty batch's buffer gets at its first read: one socket's share of a batch plus a
/// read, so that a streaming socket's batch never grows (growing it copied every byte read so
/// far: memmove was a twentieth of a streaming server's CPU). The kernel maps the pages only as
/// bytes land in them.
const BATCH_ROOM: usize = MAX_QUEUED_PER_SOCKET + READ_SIZE;

/// The most a paused TLS socket reads when the peer has closed, to find the close_notify behind
/// what is unread (the plaintext is held by JS until `resume()`). More stays in the kernel.
const PAUSED_EOF_READ: usize = 64 * 1024;

impl EventLoop {
  pub(super) fn read(&mut self, id: u32, drain_fully: bool) {
    self.read_from(id, drain_fully, false);
  }

  /// A paused socket does not read, but its peer's reset or FIN is not data: report them (a FIN
  /// only with nothing unread before it), and JS decides when the application hears of them
  /// (socket.js `_onEnd`, `_onError`). Otherwise a paused socket that has ended its side would
  /// wait for the peer for ever: no read sees the FIN and no write the reset. Returns whether the
  /// socket is done with reading.
  ///
  /// A reset ends the connection, but what arrived before it is still the application's, as in
  /// Bun: it is read (as much as a batch takes), and the kernel's error comes after it.
  pub(super) fn notice_while_paused(&mut self, id: u32, reset: bool) -> bool {
    if reset {
      self.read_from(id, true, true);
    }
    let Some(Slot::Open(open)) = slot_in(&mut self.slots, id) else {
      return true;
    };
    if open.done_reading {
      // The read met the peer's FIN, which came before the reset: the reset is still to be told
      // (once: a read that met the error itself has taken it).
      if reset {
        report_pending_error(&mut self.local, &open.core, id);
      }
      return true;
    }
    let core = open.core.clone();
    if core.socket().is_none() {
      return true;
    }
    if report_pending_error(&mut self.local, &core, id) {
      open.done_reading = true;
      return true;
    }
    if reset {
      return false;
    }
    let unread = core.unread_bytes();
    if unread == Some(0) && core.tls().is_none() {
      open.done_reading = true;
      self.local.push(batch::END, id, 0, 0);
      return true;
    }
    // A TLS peer's FIN comes behind its close_notify record: read a little to find it.
    if core.tls().is_some() && unread.is_some_and(|n| n <= PAUSED_EOF_READ) {
      self.read_from(id, true, true);
    }
    false
  }

  fn read_from(&mut self, id: u32, drain_fully: bool, even_paused: bool) {
    let epoch = self.shared.epoch.load(Ordering::SeqCst);
    let Some(Slot::Open(open)) = slot_in(&mut self.slots, id) else {
      return;
    };
    if open.done_reading || (!even_paused && open.core.skips_reading()) {
      return;
    }
    if open.epoch != epoch {
      open.epoch = epoch;
      open.queued = 0;
    }
    let core = open.core.clone();
    let Some(sock) = core.socket() else {
      return;
    };
    loop {
      if open.queued >= MAX_QUEUED_PER_SOCKET || batch_full(&self.local, &self.shared) {
        if !open.throttled {
          open.throttled = true;
          self.throttled.push(id);
        }
        self.throttled_epoch = epoch;
        self.shared.throttled.store(true, Ordering::SeqCst);
        return;
      }
      if self.local.data.is_empty() && self.local.data.capacity() < BATCH_ROOM {
        // A fresh block rather than `reserve`, whose realloc would copy the old one's bytes.
        self.local.data = Vec::with_capacity(BATCH_ROOM);
      }
      if let Some(tls) = core.tls() {
        let start = self.local.data.len();
        let step = tls.read(sock, &mut self.local.data);
        match step.handshake {
          Some(Ok(auth)) => {
            let err = self.local.push_error(auth);
            self.local.push(batch::HANDSHAKE, id, 1, err);
          }
          Some(Err(failure)) => {
            let err = self.local.push_error(Some(failure));
            self.local.push(batch::HANDSHAKE, id, 0, err);
            open.done_reading = true;
            return;
          }
          None => {}
        }
        if step.plaintext > 0 && core.discard_reads.load(Ordering::Relaxed) {
          self.local.data.truncate(start);
        } else if step.plaintext > 0 {
          self
            .local
            .push(batch::TLS_DATA, id, start as i32, step.plaintext as i32);
          open.queued += step.plaintext;
          core.touch();
        }
        if let Some(fatal) = step.fatal {
          let err = self.local.push_error(Some(fatal));
          self.local.push(batch::TLS_ERROR, id, err, 0);
          open.done_reading = true;
          return;
        }
        if let Some(e) = step.io_error {
          core.note_failure(&e);
          open.done_reading = true;
          self.local.push(batch::ERROR, id, read_errno(&e), 0);
          return;
        }
        if step.eof {
          open.done_reading = true;
          self.local.push(batch::END, id, 0, 0);
          return;
        }
        // Writes refused before the handshake ended may fit now.
        if core.want_drain.load(Ordering::SeqCst)
          && !tls.is_handshaking()
          && !tls.wants_write()
          && core.want_drain.swap(false, Ordering::SeqCst)
        {
          self.local.push(batch::DRAIN, id, 0, 0);
        }
        if step.would_block || (step.drained && !drain_fully) {
          return;
        }
        continue;
      }
      let data = &mut self.local.data;
      if data.capacity() - data.len() < MIN_READ {
        data.reserve(READ_SIZE);
      }
      let start = data.len();
      let ask = (data.capacity() - start).min(READ_SIZE);
      let spare: &mut [MaybeUninit<u8>] = &mut data.spare_capacity_mut()[..ask];
      match sock.recv(spare) {
        Ok(0) => {
          open.done_reading = true;
          self.local.push(batch::END, id, 0, 0);
          return;
        }
        // Dropped: never made part of the batch.
        Ok(n) if core.discard_reads.load(Ordering::Relaxed) => {
          if n < ask && !drain_fully {
            return;
          }
        }
        Ok(n) => {
          // SAFETY: `recv` initialised the first `n` bytes of the spare capacity.
          unsafe { data.set_len(start + n) };
          self.local.push(batch::DATA, id, start as i32, n as i32);
          open.queued += n;
          core.touch();
          if n < ask && !drain_fully {
            return;
          }
        }
        Err(e) if would_block(&e) => return,
        Err(e) if interrupted(&e) => continue,
        Err(e) => {
          core.note_failure(&e);
          open.done_reading = true;
          self.local.push(batch::ERROR, id, read_errno(&e), 0);
          return;
        }
      }
    }
  }

  /// Pushes a TLS socket's waiting records; then sends the FIN `end()` asked for, and `drain`.
  pub(super) fn flush_tls(&mut self, core: &SocketCore) {
    let (Some(tls), Some(sock)) = (core.tls(), core.socket()) else {
      return;
    };
    core.flush_wanted.store(false, Ordering::SeqCst);
    match tls.flush(sock) {
      Ok(true) => {
        if tls.fin_after_flush.swap(false, Ordering::SeqCst) {
          let _ = sock.shutdown(Shutdown::Write);
        }
        if !tls.is_handshaking() && core.want_drain.swap(false, Ordering::SeqCst) {
          self.local.push(batch::DRAIN, core.id, 0, 0);
        }
      }
      Ok(false) => core.flush_wanted.store(true, Ordering::SeqCst),
      Err(e) => {
        core.note_failure(&e);
        // The next read reports the failure, but a paused socket does not read: tell JS now,
        // which also lets go of what it held the process for (records that will never go).
        if core.paused.load(Ordering::SeqCst) {
          if let Some(Slot::Open(open)) = slot_in(&mut self.slots, core.id) {
            if !open.done_reading {
              open.done_reading = true;
              self.local.push(batch::ERROR, core.id, read_errno(&e), 0);
            }
          }
        }
      }
    }
  }

  /// JS took the outbox: read the sockets that were held back for it, in the order they were held
  /// back. Those the batch has no room left for keep their place ahead of the ones read now (which
  /// go to the back when held back again), so that with more busy sockets than a batch holds
  /// every one gets its turn: in a fixed order the first eight would be read every time and the
  /// rest never.
  pub(super) fn resume_throttled(&mut self) {
    if !self.can_resume() {
      return;
    }
    let waiting = std::mem::take(&mut self.throttled);
    let mut reached = waiting.len();
    for (i, &id) in waiting.iter().enumerate() {
      if batch_full(&self.local, &self.shared) {
        reached = i;
        break;
      }
      if let Some(Slot::Open(open)) = self.slot_mut(id) {
        open.throttled = false;
      }
      self.guarded(id, |lp, id| lp.read(id, true));
    }
    if reached < waiting.len() {
      // Still marked throttled: they wait for JS to take this batch, ahead of the rest.
      let again = std::mem::replace(&mut self.throttled, waiting[reached..].to_vec());
      self.throttled.extend(again);
      self.throttled_epoch = self.shared.epoch.load(Ordering::SeqCst);
      self.shared.throttled.store(true, Ordering::SeqCst);
    }
  }
}

/// Takes the error the kernel holds for the socket (a reset, ...) and reports it to JS; whether
/// there was one. A free function, so that code holding a socket's slot can call it.
pub(super) fn report_pending_error(local: &mut Batch, core: &SocketCore, id: u32) -> bool {
  let Some(Ok(Some(err))) = core.socket().map(|s| s.take_error()) else {
    return false;
  };
  core.note_failure(&err);
  local.push(batch::ERROR, id, read_errno(&err), 0);
  true
}

/// The loop holds all it may for JS (`MAX_QUEUED_TOTAL`): what this turn read, and what JS has not
/// taken yet. A free function, so that a read holding a socket's slot can ask too.
fn batch_full(local: &Batch, shared: &Shared) -> bool {
  local.data.len() + shared.untaken_bytes.load(Ordering::SeqCst) >= MAX_QUEUED_TOTAL
}
