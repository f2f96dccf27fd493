//! The loop thread of one Node environment and the handle the JS thread holds to it.
//!
//! JS → loop: `Command`s in a queue plus one `Waker` poke, and `epoll_ctl` re-arms straight from
//! the JS thread (`rearm`), which need no wake-up at all.
//! Loop → JS: events gathered into the `outbox` batch; the loop calls `Notify` only when JS has not
//! been told yet, so however many events queue up, JS wakes once and takes them all.
//!
//! The baton: once JS has been told, the JS thread drives the loop's state itself (non-blocking
//! turns in `finish`, after each batch) while the loop thread sleeps. Under load no thread switch
//! happens between batches; when a turn finds nothing, JS hands the baton back. The loop thread
//! sleeps on the `gate`, a poll that holds the sockets' poll as its one source while the loop
//! thread has the baton, and nothing (but stop) while JS has it, once an event has woken the
//! loop thread for nothing: packets for a busy JS then do not wake it, and handing back costs JS
//! at most one `epoll_ctl`, never a thread switch.
//!
//! The linger (linger.rs): when JS's turn finds nothing, JS keeps the baton until its event loop
//! is about to sleep, and waits there a moment for the next event before handing back, so a
//! round trip's reply does not pass through the loop thread either.

mod event_loop;
mod linger;

pub use linger::{HostLoop, Linger, LINGER, LINGER_BUSY, LINGER_STREAK};

use std::io;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use mio::unix::SourceFd;
use mio::{Interest, Poll, Registry, Token, Waker};
use parking_lot::Mutex;
use socket2::SockAddr;

use crate::arena::Arenas;
use crate::batch::Batch;
use crate::clock::now_ms;
use crate::ids::IdPool;
use crate::listener::ListenerCore;
use crate::socket_core::SocketCore;

pub const WAKER: Token = Token(0);
/// The sockets' poll, as the gate's one source.
const INNER: Token = Token(0);

/// Bytes the loop may hold for JS, over all sockets, before it stops reading.
pub const MAX_QUEUED_TOTAL: usize = 8 << 20;
/// Bytes the loop may hold for one socket before it stops reading that socket.
pub const MAX_QUEUED_PER_SOCKET: usize = 1 << 20;
/// Empty turns in a row after which `finish` stops making its own (see `Shared::finish_skips`).
const FINISH_MISSES_TO_SKIP: u32 = 2;
/// While skipping, one `finish` in this many still turns, to notice when events wait again.
const FINISH_PROBE_EVERY: u32 = 8;

/// How the loop thread tells JS that a batch is waiting (a threadsafe function in the addon, a
/// channel in tests).
pub trait Notify: Send + Sync {
  fn notify(&self);
}

pub enum Command {
  Listen(Arc<ListenerCore>),
  /// The listener was closed on the JS thread; drop the loop's slot.
  Unlisten(u32),
  /// Connections `stop()` took from the backlog before closing the listener: opened as accepted.
  Adopt {
    listener: Arc<ListenerCore>,
    accepted: Vec<(socket2::Socket, bool)>,
  },
  /// `addrs` is the errno when no address could even be made (a long unix path's missing folder).
  Connect {
    core: Arc<SocketCore>,
    addrs: Result<Vec<SockAddr>, i32>,
    /// A long unix path's folder, which its address names (`listener::unix_target`).
    folder: Option<OwnedFd>,
  },
  /// JS is done with the socket. `pending` bytes (the rest of `end(data)`) go out before FIN.
  /// With `hold`, JS keeps the process alive until a `FLUSHED` event for `id`, which comes once
  /// whatever way the release ends.
  Release {
    id: u32,
    pending: Vec<u8>,
    hold: bool,
  },
  /// The socket's inactivity timer was armed.
  Watch(u32),
  /// Read the socket now (its TLS session was handed bytes to decrypt).
  Read(u32),
  /// JS took a batch the loop held reads back for (the wake-up is what counts).
  Resume,
  /// Panic while handling this socket: the tests' proof that a panic in the loop fails only that
  /// socket (reported to its `error` handler) and never the process.
  Panic(u32),
  /// Panic in the loop itself, outside any socket's handling (the same kind of test hook).
  PanicLoop,
  Stop,
}

#[derive(Default)]
pub struct Outbox {
  pub batch: Batch,
  /// JS holds the baton: it was notified, will look at the outbox again without a notification,
  /// and runs the loop's turns until it hands back.
  pub notified: bool,
  /// The sockets' poll is on the gate: the loop thread wakes for its events.
  gate_open: bool,
}

pub struct Shared {
  pub registry: Registry,
  /// Big batches' buffers, back from JS for reuse (the loop frees the surplus when idle).
  pub arenas: Arc<Arenas>,
  pub waker: Waker,
  pub ids: Arc<IdPool>,
  pub(crate) commands: Mutex<Vec<Command>>,
  pub outbox: Mutex<Outbox>,
  /// Bytes in the outbox that JS has not taken.
  pub untaken_bytes: AtomicUsize,
  /// Bumped each time JS takes the outbox: per-socket queue accounting restarts then.
  pub epoch: AtomicU64,
  /// The loop stopped reading some socket until JS takes the outbox.
  pub throttled: AtomicBool,
  /// The loop's state, run by the loop thread or, while it holds the baton, the JS thread.
  pub(crate) engine: Mutex<Option<event_loop::EventLoop>>,
  /// What the loop thread sleeps on (see the module's comment); `inner` is the sockets' poll.
  gate: Registry,
  inner: RawFd,
  /// Until when (`now_ms` clock) the loop thread sleeps without an event; `u64::MAX`: no limit.
  sleep_deadline: AtomicU64,
  /// `finish` kept the baton for `linger`.
  lingering: AtomicBool,
  /// Linger waits in a row that an event answered within `LINGER`: from `LINGER_STREAK` on, a
  /// wait may last `LINGER_BUSY`.
  linger_streak: AtomicU32,
  /// `finish`'s own turns found nothing twice in a row (request/response traffic: the reply is
  /// not back yet), so a lingering `finish` leaves the look to the linger's wait, which returns at
  /// once when the sockets have events and so saves the empty turn's epoll_wait. Every
  /// `FINISH_PROBE_EVERY`th still turns; one that finds events ends the skipping (load is back,
  /// and then a turn is cheaper than a wait and a turn).
  finish_skips: AtomicBool,
  /// `finish`'s turns in a row that found nothing, then the `finish` calls made while skipping.
  finish_misses: AtomicU32,
  /// How many times the loop thread woke JS (the tests' view of how often JS had to be woken
  /// from another thread).
  pub notifications: AtomicU64,
  stopping: AtomicBool,
  thread: Mutex<Option<JoinHandle<()>>>,
}

impl Shared {
  pub fn send(&self, cmd: Command) {
    self.send_all(std::iter::once(cmd));
  }

  /// Queues commands. Only the JS thread sends them, so when it holds the baton its own next turn
  /// runs them and no wake-up is needed.
  pub fn send_all(&self, cmds: impl IntoIterator<Item = Command>) {
    self.commands.lock().extend(cmds);
    if !self.outbox.lock().notified {
      let _ = self.waker.wake();
    }
  }

  /// Re-arms a socket's registration from the calling thread. With edge-triggered epoll this makes
  /// the kernel report the socket's current readiness again (a pending `drain`, bytes left unread
  /// while paused), without waking the loop thread through the command queue.
  pub fn rearm(&self, core: &SocketCore) {
    if let Some(fd) = core.fd() {
      let _ = self.registry.reregister(
        &mut SourceFd(&fd),
        Token(core.id as usize),
        Interest::READABLE | Interest::WRITABLE,
      );
    }
  }

  /// JS takes every waiting event. Returns true when the loop was holding back reads for it.
  /// The loop does not notify again until JS calls `finish`.
  pub fn take(&self, into: &mut Batch) -> bool {
    {
      let mut out = self.outbox.lock();
      std::mem::swap(&mut out.batch, into);
      self.untaken_bytes.store(0, Ordering::SeqCst);
      self.epoch.fetch_add(1, Ordering::SeqCst);
    }
    self.throttled.swap(false, Ordering::SeqCst)
  }

  /// JS is done with what it took. Returns true when more is already waiting: JS then comes back
  /// for it on its own (after letting the rest of its event loop run), so the loop must not
  /// notify; otherwise the next event notifies again.
  ///
  /// While JS holds the baton it first runs a turn of the loop itself (without blocking): what is
  /// ready is read on this thread. When nothing is, JS keeps the baton for `linger` if `linger`
  /// is set (its event loop calls that before it sleeps), and otherwise hands it back. When these
  /// turns keep finding nothing, a lingering JS skips them (`finish_skips`).
  pub fn finish(&self, linger: bool) -> bool {
    {
      let out = self.outbox.lock();
      if !out.notified {
        return false; // not ours to drive: the loop thread may be waiting in epoll
      }
      if !out.batch.is_empty() {
        return true;
      }
    }
    let lingers = linger && !self.stopping.load(Ordering::SeqCst);
    let misses = self.finish_misses.fetch_add(1, Ordering::Relaxed) + 1;
    if lingers
      && self.finish_skips.load(Ordering::Relaxed)
      && !misses.is_multiple_of(FINISH_PROBE_EVERY)
    {
      self.lingering.store(true, Ordering::SeqCst);
      return false;
    }
    let deadline = self.turn_here();
    if !self.outbox.lock().batch.is_empty() {
      self.finish_misses.store(0, Ordering::Relaxed);
      self.finish_skips.store(false, Ordering::Relaxed);
      return true;
    }
    if misses >= FINISH_MISSES_TO_SKIP {
      self.finish_skips.store(true, Ordering::Relaxed);
    }
    if lingers {
      // JS keeps the baton until its event loop is about to sleep (`linger`): its microtasks and
      // other callbacks run first, and what they write may be answered right away.
      self.lingering.store(true, Ordering::SeqCst);
      return false;
    }
    self.hand_back(deadline)
  }

  /// Called on the JS thread when its event loop is about to sleep, if `finish` kept the baton:
  /// waits there a moment for the next event (linger.rs). True when a batch waits (JS must be
  /// notified, and still holds the baton); otherwise the baton went back to the loop thread.
  pub fn linger(&self, linger: &Linger) -> bool {
    if !self.lingering.swap(false, Ordering::SeqCst) {
      return false;
    }
    let started = Instant::now();
    // Commands JS queued since its last turn run now; otherwise the wait tells whether a turn
    // (an epoll_wait) is worth making: the sockets' poll is readable when it has events.
    let mut deadline = if self.commands.lock().is_empty() {
      self.engine.lock().as_ref().and_then(|e| e.next_deadline())
    } else {
      self.turn_here()
    };
    loop {
      if !self.outbox.lock().batch.is_empty() {
        return true;
      }
      let mut left = self.linger_bound().saturating_sub(started.elapsed());
      if let Some(at) = deadline {
        left = left.min(Duration::from_millis(at.saturating_sub(now_ms())));
      }
      // A zero wait still says whether the sockets have events.
      let waited = Instant::now();
      let woke = !self.stopping.load(Ordering::SeqCst) && linger.wait(linger.limit(left));
      if woke && waited.elapsed() < LINGER {
        if self.linger_streak.load(Ordering::Relaxed) < LINGER_STREAK {
          self.linger_streak.fetch_add(1, Ordering::Relaxed); // counts no further than needed
        }
      } else {
        self.linger_streak.store(0, Ordering::Relaxed);
      }
      if !woke {
        return self.hand_back(deadline);
      }
      deadline = self.turn_here();
    }
  }

  /// How long a linger may wait in all: `LINGER_BUSY` after a streak of quick answers.
  fn linger_bound(&self) -> Duration {
    if self.linger_streak.load(Ordering::Relaxed) >= LINGER_STREAK {
      LINGER_BUSY
    } else {
      LINGER
    }
  }

  /// One non-blocking turn of the loop on the calling (JS) thread; the loop's next deadline.
  fn turn_here(&self) -> Option<u64> {
    let mut engine = self.engine.lock();
    let engine = engine.as_mut()?;
    if !engine.turn_here() {
      self.stopping.store(true, Ordering::SeqCst);
    }
    engine.next_deadline()
  }

  /// JS gives the baton back, unless a batch arrived meanwhile (then true: JS keeps it).
  fn hand_back(&self, deadline: Option<u64>) -> bool {
    let mut out = self.outbox.lock();
    if !out.batch.is_empty() {
      return true;
    }
    out.notified = false;
    self.open_gate(&mut out);
    if deadline.is_some_and(|at| at < self.sleep_deadline.load(Ordering::SeqCst)) {
      // JS's turns set a deadline that the sleeping loop thread does not know of.
      let _ = self.waker.wake();
    }
    false
  }

  /// A linger for the JS thread: the sockets' poll watched together with the host loop's
  /// (`host_fd`, a poll descriptor; `host` says how long the host would sleep).
  pub fn new_linger(&self, host_fd: RawFd, host: Box<dyn HostLoop>) -> io::Result<Linger> {
    Linger::new(self.inner, host_fd, host)
  }

  /// The gate open: the loop thread wakes for the sockets' events. Opened when JS hands back and on
  /// stop, closed when an event woke the loop thread while JS held the baton; both with the outbox
  /// locked.
  fn open_gate(&self, out: &mut Outbox) {
    if !out.gate_open {
      out.gate_open = self
        .gate
        .register(&mut SourceFd(&self.inner), INNER, Interest::READABLE)
        .is_ok();
    }
  }

  fn close_gate(&self, out: &mut Outbox) {
    if out.gate_open {
      out.gate_open = self.gate.deregister(&mut SourceFd(&self.inner)).is_err();
    }
  }

  /// JS holds the baton (the loop thread must not turn).
  fn js_holds_baton(&self) -> bool {
    self.outbox.lock().notified
  }

  /// Stops the loop thread and waits for it; safe to call more than once.
  pub fn stop(&self) {
    let handle = self.thread.lock().take();
    if let Some(handle) = handle {
      self.stopping.store(true, Ordering::SeqCst);
      self.commands.lock().push(Command::Stop);
      self.open_gate(&mut self.outbox.lock());
      let _ = self.waker.wake();
      let _ = handle.join();
    }
  }
}

/// Starts the loop thread.
pub fn start(notify: Arc<dyn Notify>) -> io::Result<Arc<Shared>> {
  let poll = Poll::new()?;
  let registry = poll.registry().try_clone()?;
  let waker = Waker::new(poll.registry(), WAKER)?;
  let gate = Poll::new()?;
  let mut gate_source = SourceFd(&poll.as_raw_fd());
  gate
    .registry()
    .register(&mut gate_source, INNER, Interest::READABLE)?;
  let shared = Arc::new(Shared {
    registry,
    arenas: Arc::default(),
    waker,
    ids: Arc::new(IdPool::default()),
    commands: Mutex::new(Vec::new()),
    outbox: Mutex::new(Outbox {
      gate_open: true,
      ..Outbox::default()
    }),
    untaken_bytes: AtomicUsize::new(0),
    epoch: AtomicU64::new(0),
    throttled: AtomicBool::new(false),
    engine: Mutex::new(None),
    gate: gate.registry().try_clone()?,
    inner: poll.as_raw_fd(),
    sleep_deadline: AtomicU64::new(u64::MAX),
    lingering: AtomicBool::new(false),
    linger_streak: AtomicU32::new(0),
    finish_skips: AtomicBool::new(false),
    finish_misses: AtomicU32::new(0),
    notifications: AtomicU64::new(0),
    stopping: AtomicBool::new(false),
    thread: Mutex::new(None),
  });
  // The engine holds the Arc back to `shared`; the loop thread drops it when it ends.
  *shared.engine.lock() = Some(event_loop::EventLoop::new(poll, shared.clone(), notify));
  let looped = shared.clone();
  let handle = std::thread::Builder::new()
    .name("node-bun-tcp".into())
    .spawn(move || event_loop::run(looped, gate));
  match handle {
    Ok(handle) => *shared.thread.lock() = Some(handle),
    Err(e) => {
      shared.engine.lock().take();
      return Err(e);
    }
  }
  Ok(shared)
}

#[cfg(test)]
mod tests;
