//! The loop thread: one mio `Poll` that accepts, connects, reads and watches writability for every
//! socket of one Node environment, and hands what happened to JS in batches.

use std::io;
use std::os::fd::OwnedFd;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use mio::event::Event;
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};
use socket2::{SockAddr, Socket};

use super::{Notify, Shared, WAKER};
use crate::batch::{self, Batch};
use crate::clock::now_ms;
use crate::errors::interrupted;
use crate::ids::index;
use crate::listener::ListenerCore;
use crate::socket_core::SocketCore;

mod accept;
mod commands;
mod connect;
mod read;
mod timers;

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
  /// The first address's failure: the error the connect reports when every address failed, as
  /// node:net reports the first address it tried (`localhost`: 127.0.0.1 before ::1).
  first_errno: Option<i32>,
  /// When the attempt under way gives way to the next address (none for the last one).
  give_up_at: Option<u64>,
  /// A long unix path's folder, which the address names: open until the connect is done.
  _folder: Option<OwnedFd>,
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
  /// TLS, released during the handshake with data written: close_notify waits for the handshake
  /// to end, so the data goes out first (it is never sent to a peer the handshake rejects).
  after_handshake: bool,
  /// The peer's FIN came: nothing more to read (and drop).
  read_closed: bool,
  /// Everything is sent, FIN included: the socket waits for the peer's FIN or acknowledgement.
  fin_sent: bool,
  /// How long until the socket is looked at again (doubling, 1 to 100 ms).
  recheck_ms: u64,
  /// When JS let go of the socket.
  released_ms: u64,
  /// Bytes the peer sent after the release were dropped: if it has not ended when we close, it
  /// gets a reset, as the kernel would have answered them (it must not take them as read).
  dropped_input: bool,
  /// Since when the peer has acknowledged everything we sent.
  acked_at: Option<u64>,
  /// What the peer had not acknowledged at the last look, and when that last went down: a peer
  /// that takes nothing for `STALL_MS` no longer holds the process.
  unacked: usize,
  progress_ms: u64,
}

pub struct EventLoop {
  poll: Poll,
  /// Taken out for the length of a turn (its events are handled with `&mut self`).
  events: Option<Events>,
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
  /// Connects with an attempt that gives way to the next address at its `give_up_at`.
  attempts: Vec<u32>,
  /// JS must be told of the published batch, once the engine's lock is let go (so that JS, woken,
  /// does not find the lock taken).
  notify_due: bool,
  /// The last turn's poll came back full: turn again before sleeping.
  more_ready: bool,
  /// Where released sockets' incoming bytes are read to be dropped (made on first use).
  discard: Vec<u8>,
}

impl EventLoop {
  pub fn new(poll: Poll, shared: Arc<Shared>, notify: Arc<dyn Notify>) -> Self {
    EventLoop {
      poll,
      events: Some(Events::with_capacity(1024)),
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
      attempts: Vec::new(),
      notify_due: false,
      more_ready: false,
      discard: Vec::new(),
    }
  }

  /// A turn on the JS thread, which holds the baton. False when the loop must stop.
  pub fn turn_here(&mut self) -> bool {
    self.guarded_turn()
  }

  /// One turn, where a panic outside any one socket's handling fails every socket (they are all
  /// suspect; JS hears of it through their `error` handlers) and the loop goes on for new ones.
  fn guarded_turn(&mut self) -> bool {
    match catch_unwind(AssertUnwindSafe(|| self.turn())) {
      Ok(go_on) => go_on,
      Err(_) => {
        self
          .events
          .get_or_insert_with(|| Events::with_capacity(1024));
        self.fail_all();
        true
      }
    }
  }

  /// One turn, without blocking (the thread that holds the baton sleeps elsewhere): handle what
  /// is ready, run commands and timers, hand the batch to JS. Returns false when the loop must
  /// stop.
  fn turn(&mut self) -> bool {
    let Some(mut events) = self.events.take() else {
      return true;
    };
    if let Err(e) = self.poll.poll(&mut events, Some(Duration::ZERO)) {
      self.events = Some(events);
      if !interrupted(&e) {
        // An unexpected failure of epoll itself: fail what we hold rather than spin or vanish.
        self.fail_all();
      }
      return true;
    }
    // Sockets held back until JS took the last batch read first: a socket whose sender keeps it
    // busy raises an event every turn and would fill each batch again before a held-back socket,
    // which raises none (its window is full), got its turn.
    self.resume_throttled();
    let mut woken = false;
    let mut seen = 0;
    for event in events.iter() {
      seen += 1;
      if event.token() == WAKER {
        woken = true;
      } else {
        self.guarded(event.token().0 as u32, |lp, id| lp.on_event(id, event));
      }
    }
    // A full buffer may have left events behind, which no new edge will announce.
    self.more_ready = seen == events.capacity();
    self.events = Some(events);
    // Commands sent while JS held the baton come without a wake-up.
    let queued = woken || !self.shared.commands.lock().is_empty();
    if queued && !self.run_commands() {
      return false;
    }
    self.resume_throttled();
    self.run_timers();
    self.publish();
    true
  }

  /// Fails every open and connecting socket with EIO and tells JS.
  fn fail_all(&mut self) {
    let mut failed = Vec::new();
    for (id, slot) in self.slots.iter_mut().flatten() {
      match slot {
        Slot::Open(open) if !open.done_reading => {
          open.done_reading = true;
          failed.push((*id, batch::FAILED));
        }
        Slot::Connecting(_) => failed.push((*id, batch::CONNECT_ERROR)),
        _ => {}
      }
    }
    for (id, kind) in failed {
      if kind == batch::CONNECT_ERROR {
        self.take_slot(id);
      }
      self.local.push(kind, id, -libc::EIO, 0);
    }
    self.publish();
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

  /// When the loop must next turn without a socket event (ms on the `now_ms` clock).
  pub fn next_deadline(&self) -> Option<u64> {
    if self.can_resume() {
      return Some(0);
    }
    [
      self.next_timer_check,
      self.accept_retry_at,
      self.shared.arenas.trim_at(),
    ]
    .into_iter()
    .flatten()
    .min()
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

  /// Lets go of a socket the loop is done with. Closing a descriptor takes it out of epoll, so the
  /// `epoll_ctl(DEL)` is only made while another holder keeps the socket open (it would go on
  /// waking the loop meanwhile); when ours is the last reference, dropping it closes the socket.
  /// Events still queued for it name an id no slot has any more, and are ignored.
  fn forget(&self, core: Arc<SocketCore>) {
    if Arc::strong_count(&core) > 1 {
      if let Some(fd) = core.fd() {
        self.deregister(fd);
      }
    }
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
        if event.is_error() && open.done_reading {
          // Reading is over (the peer's FIN came first, on a half-open socket): no read will
          // meet this error, so a reset would go unnoticed until the next write. Report it.
          read::report_pending_error(&mut self.local, &core, id);
        }
        let mut failed = false;
        // A writable-only event is no read skipped while paused (skips_reading notes those).
        let readable = event.is_readable() || event.is_read_closed() || event.is_error();
        if readable && core.skips_reading() {
          if event.is_error() || event.is_read_closed() {
            failed = self.notice_while_paused(id, event.is_error()) && event.is_error();
          }
        } else if readable {
          // A short read proves the socket empty unless the peer's FIN or an error is also
          // pending, which no later edge would announce.
          let drain_fully = event.is_read_closed() || event.is_error();
          self.read(id, drain_fully);
        }
        // A socket that failed cannot take more: its error, not a `drain`, answers the write.
        if failed {
          return;
        }
        if event.is_writable() || event.is_error() {
          if core.tls().is_some() {
            self.flush_tls(&core);
          } else if core.want_drain.swap(false, Ordering::SeqCst) {
            self.local.push(batch::DRAIN, id, 0, 0);
          }
        }
      }
      Some(Slot::Lingering(_)) => {
        if self.drain_lingering(id) {
          self.flush_lingering(id);
        } else {
          self.drop_lingering(id);
        }
      }
      None => {}
    }
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
    self.notify_due |= notify;
  }
}

/// The loop thread: a turn whenever it holds the baton, then sleep on the gate until the sockets'
/// poll has events or a deadline comes.
pub fn run(shared: Arc<Shared>, mut gate: Poll) {
  yield_to_js_thread();
  let mut woken = Events::with_capacity(4);
  // When the loop must turn next without an event; kept while JS holds the baton, so that a
  // deadline met meanwhile needs no wake-up (JS's turns run timers; the loop thread finds the
  // baton taken and sleeps again).
  let mut deadline = None;
  while !shared.stopping.load(Ordering::SeqCst) {
    let mut turned = false;
    let mut passed = false;
    if !shared.js_holds_baton() {
      turned = true;
      let mut engine = shared.engine.lock();
      let Some(lp) = engine.as_mut() else {
        break;
      };
      let go_on = lp.guarded_turn();
      deadline = if lp.more_ready {
        Some(0)
      } else {
        lp.next_deadline()
      };
      let notify = std::mem::take(&mut lp.notify_due).then(|| lp.notify.clone());
      drop(engine);
      if let Some(notify) = notify {
        shared.notifications.fetch_add(1, Ordering::Relaxed);
        notify.notify(); // JS holds the baton now
        passed = true;
      }
      if !go_on {
        break;
      }
    }
    {
      let mut out = shared.outbox.lock();
      if !out.notified && (!turned || passed) {
        continue; // the baton came (back) since: turn before sleeping
      }
      if out.notified && !turned {
        // Woken by events that JS, holding the baton, will find itself: close the gate until JS
        // hands back. (Closed only now, lazily: a request/response peer that waits for JS's
        // answer never wakes us, and the gate then costs nothing.)
        shared.close_gate(&mut out);
      }
      // Under the lock JS hands back with: it sees this and wakes us for an earlier deadline.
      shared
        .sleep_deadline
        .store(deadline.unwrap_or(u64::MAX), Ordering::SeqCst);
    }
    let timeout = deadline.map(|at| Duration::from_millis(at.saturating_sub(now_ms())));
    if let Err(e) = gate.poll(&mut woken, timeout) {
      if !interrupted(&e) {
        std::thread::sleep(Duration::from_millis(10)); // never spin on a broken poll
      }
    }
    if deadline.is_some_and(|at| at <= now_ms()) {
      deadline = None; // met: the next turn computes the next one
    }
  }
  // Dropping the engine closes every socket and ends its hold on `shared`.
  let engine = shared.engine.lock().take();
  drop(engine);
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
