//! The loop thread: one mio `Poll` that accepts, connects, reads and watches writability for every
//! socket of one Node environment, and hands what happened to JS in batches.

use std::io;
use std::mem::MaybeUninit;
use std::net::Shutdown;
use std::os::fd::AsRawFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use mio::event::Event;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use socket2::{Domain, SockAddr, Socket, Type};

use super::{Command, Notify, Shared, MAX_QUEUED_PER_SOCKET, MAX_QUEUED_TOTAL, WAKER};
use crate::batch::{self, Batch};
use crate::clock::now_ms;
use crate::errors::{interrupted, neg_errno, would_block};
use crate::ids::index;
use crate::listener::ListenerCore;
use crate::socket_core::SocketCore;
use crate::tls::session::TlsSession;

/// The most one `recv` asks for. A read that returns less has emptied the socket.
const READ_SIZE: usize = 64 * 1024;
/// How long to wait before accepting again after running out of descriptors.
const ACCEPT_RETRY_MS: u64 = 100;
/// How long unsent `end()` data may take to leave once JS has let go of the socket.
const LINGER_MS: u64 = 30_000;

enum Slot {
  Listener(Arc<ListenerCore>),
  Connecting(Connecting),
  Open(Open),
  /// Released by JS with `end()` data still to send; closed once it is out (or the peer is gone).
  Lingering(Lingering),
}

struct Connecting {
  core: Arc<SocketCore>,
  sock: Option<Socket>,
  addrs: Vec<SockAddr>,
  next: usize,
  last_errno: i32,
}

struct Open {
  core: Arc<SocketCore>,
  /// Read side finished (FIN seen or the connection failed): nothing more to read.
  done_reading: bool,
  throttled: bool,
  timed: bool,
  /// Bytes queued for JS since `epoch`.
  queued: usize,
  epoch: u64,
}

struct Lingering {
  core: Arc<SocketCore>,
  pending: Vec<u8>,
  sent: usize,
  deadline: u64,
  /// JS keeps the process alive for `pending` until FLUSHED.
  holds_ref: bool,
  /// TLS: close_notify is queued.
  notified: bool,
}

pub struct EventLoop {
  poll: Poll,
  shared: Arc<Shared>,
  notify: Arc<dyn Notify>,
  /// Indexed by `ids::index(id)`, each with the whole id it belongs to.
  slots: Vec<Option<(u32, Slot)>>,
  /// Events of this turn, published to the outbox at its end.
  local: Batch,
  /// Sockets left unread because JS has not taken what they queued.
  throttled: Vec<u32>,
  /// The outbox epoch the throttled sockets wait to see change.
  throttled_epoch: u64,
  /// Sockets with an inactivity timer, and when one of them may expire next.
  timed: Vec<u32>,
  next_timer_check: Option<u64>,
  accept_retry: Vec<u32>,
  accept_retry_at: Option<u64>,
  lingering: Vec<u32>,
}

impl EventLoop {
  pub fn new(poll: Poll, shared: Arc<Shared>, notify: Arc<dyn Notify>) -> Self {
    EventLoop {
      poll,
      shared,
      notify,
      slots: Vec::new(),
      local: Batch::default(),
      throttled: Vec::new(),
      throttled_epoch: 0,
      timed: Vec::new(),
      next_timer_check: None,
      accept_retry: Vec::new(),
      accept_retry_at: None,
      lingering: Vec::new(),
    }
  }

  pub fn run(mut self) {
    yield_to_js_thread();
    let mut events = Events::with_capacity(1024);
    loop {
      let timeout = self.poll_timeout();
      if let Err(e) = self.poll.poll(&mut events, timeout) {
        if interrupted(&e) {
          continue;
        }
        // Nothing sensible is left to do without a poller; JS sees no more events.
        return;
      }
      let mut woken = false;
      for event in events.iter() {
        if event.token() == WAKER {
          woken = true;
        } else {
          self.guarded(event.token().0 as u32, |lp, id| lp.on_event(id, event));
        }
      }
      if woken && !self.run_commands() {
        return;
      }
      self.resume_throttled();
      self.run_timers();
      self.publish();
    }
  }

  /// Runs `f` for one socket so that a panic in it fails that socket, not the whole loop.
  fn guarded(&mut self, id: u32, f: impl FnOnce(&mut Self, u32)) {
    if catch_unwind(AssertUnwindSafe(|| f(self, id))).is_err() {
      if let Some(Slot::Open(open)) = self.slot_mut(id) {
        open.done_reading = true;
      }
      self.local.push(batch::FAILED, id, -libc::EIO, 0);
    }
  }

  fn poll_timeout(&self) -> Option<Duration> {
    if self.can_resume() {
      return Some(Duration::ZERO);
    }
    let now = now_ms();
    [self.next_timer_check, self.accept_retry_at]
      .into_iter()
      .flatten()
      .min()
      .map(|at| Duration::from_millis(at.saturating_sub(now)))
  }

  /// Some sockets wait for JS to take the outbox, and it has since.
  fn can_resume(&self) -> bool {
    !self.throttled.is_empty() && self.shared.epoch.load(Ordering::SeqCst) != self.throttled_epoch
  }

  fn slot(&self, id: u32) -> Option<&Slot> {
    match self.slots.get(index(id)) {
      Some(Some((owner, slot))) if *owner == id => Some(slot),
      _ => None,
    }
  }

  fn slot_mut(&mut self, id: u32) -> Option<&mut Slot> {
    slot_in(&mut self.slots, id)
  }

  fn take_slot(&mut self, id: u32) -> Option<Slot> {
    let entry = self.slots.get_mut(index(id))?;
    match entry {
      Some((owner, _)) if *owner == id => entry.take().map(|(_, slot)| slot),
      _ => None,
    }
  }

  fn put(&mut self, id: u32, slot: Slot) {
    let i = index(id);
    if self.slots.len() <= i {
      self.slots.resize_with(i + 1, || None);
    }
    self.slots[i] = Some((id, slot));
  }

  fn register(&self, fd: i32, id: u32, interest: Interest) -> io::Result<()> {
    self
      .shared
      .registry
      .register(&mut SourceFd(&fd), Token(id as usize), interest)
  }

  fn deregister(&self, fd: i32) {
    let _ = self.shared.registry.deregister(&mut SourceFd(&fd));
  }

  fn on_event(&mut self, id: u32, event: &Event) {
    match self.slot(id) {
      Some(Slot::Listener(_)) => self.accept(id),
      Some(Slot::Connecting(_))
        if event.is_writable() || event.is_error() || event.is_write_closed() =>
      {
        self.finish_connect(id)
      }
      Some(Slot::Connecting(_)) => {}
      Some(Slot::Open(open)) => {
        let core = open.core.clone();
        if event.is_readable() || event.is_read_closed() || event.is_error() {
          // A short read proves the socket empty unless the peer's FIN or an error is also
          // pending, which no later edge would announce.
          let drain_fully = event.is_read_closed() || event.is_error();
          self.read(id, drain_fully);
        }
        if event.is_writable() || event.is_error() {
          if core.tls().is_some() {
            self.flush_tls(&core);
          } else if core.want_drain.swap(false, Ordering::SeqCst) {
            self.local.push(batch::DRAIN, id, 0, 0);
          }
        }
      }
      Some(Slot::Lingering(_)) => self.flush_lingering(id),
      None => {}
    }
  }

  // ---- accepting ------------------------------------------------------------------------------

  fn accept(&mut self, id: u32) {
    let Some(Slot::Listener(listener)) = self.slot(id) else {
      return;
    };
    let listener = listener.clone();
    loop {
      match listener.accept() {
        Ok(Some(sock)) => self.adopt(sock, &listener),
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

  fn adopt(&mut self, sock: Socket, listener: &ListenerCore) {
    let listener_id = listener.id;
    if sock.domain().map(|d| d != Domain::UNIX).unwrap_or(false) {
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

  // ---- connecting -----------------------------------------------------------------------------

  fn start_connect(&mut self, core: Arc<SocketCore>, addrs: Vec<SockAddr>) {
    let id = core.id;
    let conn = Connecting {
      core,
      sock: None,
      addrs,
      next: 0,
      last_errno: -libc::ECONNREFUSED,
    };
    self.put(id, Slot::Connecting(conn));
    self.try_next_address(id);
  }

  /// Starts a connect to the next address; reports the failure when none is left.
  fn try_next_address(&mut self, id: u32) {
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
        let errno = conn.last_errno;
        // The address that failed last: the one the error names.
        let failed = conn.next.saturating_sub(1) as i32;
        self.take_slot(id);
        self.local.push(batch::CONNECT_ERROR, id, errno, failed);
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

  fn set_connect_errno(&mut self, id: u32, errno: i32) {
    if let Some(Slot::Connecting(conn)) = self.slot_mut(id) {
      conn.last_errno = errno;
    }
  }

  fn finish_connect(&mut self, id: u32) {
    let Some(Slot::Connecting(conn)) = self.slot_mut(id) else {
      return;
    };
    let Some(sock) = conn.sock.as_ref() else {
      return;
    };
    match sock.take_error() {
      Ok(None) => {}
      Ok(Some(e)) | Err(e) => {
        conn.last_errno = neg_errno(&e);
        return self.try_next_address(id);
      }
    }
    match sock.peer_addr() {
      Ok(_) => {}
      // Not connected yet: a spurious wake-up.
      Err(e) if e.raw_os_error() == Some(libc::ENOTCONN) => return,
      Err(e) => {
        conn.last_errno = neg_errno(&e);
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

  // ---- reading --------------------------------------------------------------------------------

  fn read(&mut self, id: u32, drain_fully: bool) {
    let epoch = self.shared.epoch.load(Ordering::SeqCst);
    let Some(Slot::Open(open)) = slot_in(&mut self.slots, id) else {
      return;
    };
    if open.done_reading || open.core.paused.load(Ordering::SeqCst) {
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
      let untaken = self.shared.untaken_bytes.load(Ordering::SeqCst);
      if open.queued >= MAX_QUEUED_PER_SOCKET || self.local.data.len() + untaken >= MAX_QUEUED_TOTAL
      {
        if !open.throttled {
          open.throttled = true;
          self.throttled.push(id);
        }
        self.throttled_epoch = epoch;
        self.shared.throttled.store(true, Ordering::SeqCst);
        return;
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
        if step.plaintext > 0 {
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
          open.done_reading = true;
          self.local.push(batch::ERROR, id, neg_errno(&e), 0);
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
        if step.would_block {
          return;
        }
        continue;
      }
      let data = &mut self.local.data;
      data.reserve(READ_SIZE);
      let start = data.len();
      let spare: &mut [MaybeUninit<u8>] = &mut data.spare_capacity_mut()[..READ_SIZE];
      match sock.recv(spare) {
        Ok(0) => {
          open.done_reading = true;
          self.local.push(batch::END, id, 0, 0);
          return;
        }
        Ok(n) => {
          // SAFETY: `recv` initialised the first `n` bytes of the spare capacity.
          unsafe { data.set_len(start + n) };
          self.local.push(batch::DATA, id, start as i32, n as i32);
          open.queued += n;
          core.touch();
          if n < READ_SIZE && !drain_fully {
            return;
          }
        }
        Err(e) if would_block(&e) => return,
        Err(e) if interrupted(&e) => continue,
        Err(e) => {
          open.done_reading = true;
          self.local.push(batch::ERROR, id, neg_errno(&e), 0);
          return;
        }
      }
    }
  }

  /// Pushes a TLS socket's waiting records; then sends the FIN `end()` asked for, and `drain`.
  fn flush_tls(&mut self, core: &SocketCore) {
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
      Err(_) => {} // the next read reports the failure
    }
  }

  /// JS took the outbox: read the sockets that were held back for it.
  fn resume_throttled(&mut self) {
    if !self.can_resume() {
      return;
    }
    for id in std::mem::take(&mut self.throttled) {
      if let Some(Slot::Open(open)) = self.slot_mut(id) {
        open.throttled = false;
      }
      self.guarded(id, |lp, id| lp.read(id, true));
    }
  }

  // ---- commands from JS -----------------------------------------------------------------------

  /// Returns false when the loop must stop.
  fn run_commands(&mut self) -> bool {
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
        Command::Unlisten(id) => {
          self.accept_retry.retain(|l| *l != id);
          self.take_slot(id);
          self.local.push(batch::UNLISTENED, id, 0, 0);
        }
        Command::Connect { core, addrs } => self.start_connect(core, addrs),
        Command::Release { id, pending } => self.release(id, pending),
        Command::Watch(id) => self.watch(id),
        Command::Read(id) => self.read(id, true),
        Command::Resume => {}
        Command::Panic(id) => self.guarded(id, |_, _| {
          panic!("node-bun-tcp: injected panic (test hook)")
        }),
        Command::Stop => return false,
      }
    }
    true
  }

  fn release(&mut self, id: u32, pending: Vec<u8>) {
    let core = match self.take_slot(id) {
      Some(Slot::Open(open)) => Some(open.core),
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
      if !pending.is_empty() {
        // JS holds the process open for this data: say it is settled.
        self.local.push(batch::FLUSHED, id, 0, 0);
      }
      return;
    };
    self.throttled.retain(|t| *t != id);
    // TLS says goodbye with close_notify, which may have to wait for the socket like data.
    if pending.is_empty() && core.tls().is_none() {
      if let Some(fd) = core.fd() {
        self.deregister(fd);
      }
      return; // dropping the last `Arc` closes the socket
    }
    let deadline = now_ms() + LINGER_MS;
    self.put(
      id,
      Slot::Lingering(Lingering {
        core,
        holds_ref: !pending.is_empty(),
        pending,
        sent: 0,
        deadline,
        notified: false,
      }),
    );
    self.lingering.push(id);
    self.next_timer_check = Some(self.next_timer_check.map_or(deadline, |t| t.min(deadline)));
    self.flush_lingering(id);
  }

  fn flush_lingering(&mut self, id: u32) {
    let Some(Slot::Lingering(l)) = self.slot_mut(id) else {
      return;
    };
    loop {
      if l.sent < l.pending.len() {
        match l.core.send(&l.pending[l.sent..]) {
          Ok(0) => return, // wait for writable
          Ok(n) => l.sent += n,
          Err(_) => break,
        }
        continue;
      }
      if let (Some(tls), Some(sock)) = (l.core.tls(), l.core.socket()) {
        let flushed = if l.notified {
          tls.flush(sock)
        } else {
          l.notified = true;
          tls.close_notify(sock)
        };
        match flushed {
          Ok(true) => {}
          Ok(false) => return, // wait for writable
          Err(_) => break,
        }
      }
      let _ = l.core.shutdown(Shutdown::Write);
      break;
    }
    self.drop_lingering(id);
  }

  fn drop_lingering(&mut self, id: u32) {
    if let Some(Slot::Lingering(l)) = self.take_slot(id) {
      if let Some(fd) = l.core.fd() {
        self.deregister(fd);
      }
      if l.holds_ref {
        self.local.push(batch::FLUSHED, id, 0, 0);
      }
    }
    self.lingering.retain(|l| *l != id);
  }

  // ---- timers ---------------------------------------------------------------------------------

  fn watch(&mut self, id: u32) {
    let Some(Slot::Open(open)) = self.slot_mut(id) else {
      return;
    };
    let ms = open.core.timeout_ms.load(Ordering::SeqCst);
    if ms == 0 {
      return;
    }
    let deadline = open.core.last_active_ms.load(Ordering::Relaxed) + ms;
    if !open.timed {
      open.timed = true;
      self.timed.push(id);
    }
    self.next_timer_check = Some(self.next_timer_check.map_or(deadline, |t| t.min(deadline)));
  }

  fn run_timers(&mut self) {
    let now = now_ms();
    if self.accept_retry_at.is_some_and(|at| now >= at) {
      self.accept_retry_at = None;
      for id in std::mem::take(&mut self.accept_retry) {
        self.accept(id);
      }
    }
    if self.next_timer_check.is_none_or(|at| now < at) {
      return;
    }
    let mut next: Option<u64> = None;
    let mut keep = |at: u64| next = Some(next.map_or(at, |n: u64| n.min(at)));
    let mut fired = Vec::new();
    self.timed.retain(|&id| {
      let Some(Slot::Open(open)) = slot_in(&mut self.slots, id) else {
        return false;
      };
      let ms = open.core.timeout_ms.load(Ordering::SeqCst);
      let deadline = open.core.last_active_ms.load(Ordering::Relaxed) + ms;
      if ms != 0 && now < deadline {
        keep(deadline);
        return true;
      }
      // Disarm unless JS re-armed it meanwhile; JS arms it again from the handler if it wants.
      if ms != 0
        && open
          .core
          .timeout_ms
          .compare_exchange(ms, 0, Ordering::SeqCst, Ordering::SeqCst)
          .is_ok()
      {
        fired.push(id);
      }
      open.timed = false;
      false
    });
    for id in fired {
      self.local.push(batch::TIMEOUT, id, 0, 0);
    }
    let mut expired = Vec::new();
    for &id in &self.lingering {
      if let Some(Slot::Lingering(l)) = self.slot(id) {
        if now >= l.deadline {
          expired.push(id);
        } else {
          keep(l.deadline);
        }
      }
    }
    for id in expired {
      self.drop_lingering(id);
    }
    self.next_timer_check = next;
  }

  // ---- to JS ----------------------------------------------------------------------------------

  fn publish(&mut self) {
    if self.local.is_empty() {
      return;
    }
    let notify = {
      let mut out = self.shared.outbox.lock();
      out.batch.append(&mut self.local);
      self
        .shared
        .untaken_bytes
        .store(out.batch.data.len(), Ordering::SeqCst);
      !std::mem::replace(&mut out.notified, true)
    };
    if notify {
      self.notify.notify();
    }
  }
}

impl Open {
  fn new(core: Arc<SocketCore>) -> Self {
    Open {
      core,
      done_reading: false,
      throttled: false,
      timed: false,
      queued: 0,
      epoch: u64::MAX,
    }
  }
}

fn slot_in(slots: &mut [Option<(u32, Slot)>], id: u32) -> Option<&mut Slot> {
  match slots.get_mut(index(id)) {
    Some(Some((owner, slot))) if *owner == id => Some(slot),
    _ => None,
  }
}

/// Marks the loop thread SCHED_BATCH: when it shares a core with the JS thread, a packet's arrival
/// then no longer preempts JS in the middle of a dispatch. The loop runs when JS waits, finds more
/// ready at once, and JS gets bigger batches for fewer context switches.
fn yield_to_js_thread() {
  #[cfg(target_os = "linux")]
  {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: pid 0 is the calling thread; `param` is a valid sched_param for SCHED_BATCH.
    unsafe {
      libc::sched_setscheduler(0, libc::SCHED_BATCH, &param);
    }
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
