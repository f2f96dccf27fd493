//! The loop thread of one Node environment and the handle the JS thread holds to it.
//!
//! JS → loop: `Command`s in a queue plus one `Waker` poke, and `epoll_ctl` re-arms straight from
//! the JS thread (`rearm`), which need no wake-up at all.
//! Loop → JS: events gathered into the `outbox` batch; the loop calls `Notify` only when JS has not
//! been told yet, so however many events queue up, JS wakes once and takes them all.
//!
//! The baton: once JS has been told, the JS thread drives the loop's state itself (non-blocking
//! turns in `finish`, after each batch) and the loop thread sleeps. While sockets stay busy, no
//! thread switch happens at all; when a turn finds nothing, JS hands the baton back and the loop
//! thread waits in epoll for the next event. Whoever holds the baton holds `engine`'s lock.

mod event_loop;

use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use mio::unix::SourceFd;
use mio::{Interest, Poll, Registry, Token, Waker};
use parking_lot::{Condvar, Mutex};
use socket2::SockAddr;

use crate::batch::Batch;
use crate::ids::IdPool;
use crate::listener::ListenerCore;
use crate::socket_core::SocketCore;

pub const WAKER: Token = Token(0);

/// Bytes the loop may hold for JS, over all sockets, before it stops reading.
pub const MAX_QUEUED_TOTAL: usize = 8 << 20;
/// Bytes the loop may hold for one socket before it stops reading that socket.
pub const MAX_QUEUED_PER_SOCKET: usize = 1 << 20;

/// How the loop thread tells JS that a batch is waiting (a threadsafe function in the addon, a
/// channel in tests).
pub trait Notify: Send + Sync {
  fn notify(&self);
}

pub enum Command {
  Listen(Arc<ListenerCore>),
  /// The listener was closed on the JS thread; drop the loop's slot.
  Unlisten(u32),
  Connect {
    core: Arc<SocketCore>,
    addrs: Vec<SockAddr>,
  },
  /// JS is done with the socket. `pending` bytes (the rest of `end(data)`) go out before FIN.
  Release {
    id: u32,
    pending: Vec<u8>,
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
}

pub struct Shared {
  pub registry: Registry,
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
  /// Signalled when JS hands the baton back, and on stop.
  handback: Condvar,
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
  /// ready is read on this thread, and only when nothing is does the loop thread take over.
  pub fn finish(&self) -> bool {
    {
      let out = self.outbox.lock();
      if !out.notified {
        return false; // not ours to drive: the loop thread may be waiting in epoll
      }
      if !out.batch.is_empty() {
        return true;
      }
    }
    if let Some(engine) = self.engine.lock().as_mut() {
      if !engine.turn_here() {
        self.stopping.store(true, Ordering::SeqCst);
      }
    }
    let mut out = self.outbox.lock();
    if out.batch.is_empty() {
      out.notified = false;
      self.handback.notify_one();
      false
    } else {
      true
    }
  }

  /// The loop thread: waits while JS holds the baton. False when the loop must stop.
  pub(crate) fn wait_for_baton(&self) -> bool {
    let mut out = self.outbox.lock();
    while out.notified && !self.stopping.load(Ordering::SeqCst) {
      self.handback.wait(&mut out);
    }
    !self.stopping.load(Ordering::SeqCst)
  }

  /// Stops the loop thread and waits for it; safe to call more than once.
  pub fn stop(&self) {
    let handle = self.thread.lock().take();
    if let Some(handle) = handle {
      self.stopping.store(true, Ordering::SeqCst);
      self.commands.lock().push(Command::Stop);
      let _ = self.waker.wake();
      {
        let _out = self.outbox.lock();
        self.handback.notify_all();
      }
      let _ = handle.join();
    }
  }
}

/// Starts the loop thread.
pub fn start(notify: Arc<dyn Notify>) -> io::Result<Arc<Shared>> {
  let poll = Poll::new()?;
  let registry = poll.registry().try_clone()?;
  let waker = Waker::new(poll.registry(), WAKER)?;
  let shared = Arc::new(Shared {
    registry,
    waker,
    ids: Arc::new(IdPool::default()),
    commands: Mutex::new(Vec::new()),
    outbox: Mutex::new(Outbox::default()),
    untaken_bytes: AtomicUsize::new(0),
    epoch: AtomicU64::new(0),
    throttled: AtomicBool::new(false),
    engine: Mutex::new(None),
    handback: Condvar::new(),
    stopping: AtomicBool::new(false),
    thread: Mutex::new(None),
  });
  // The engine holds the Arc back to `shared`; the loop thread drops it when it ends.
  *shared.engine.lock() = Some(event_loop::EventLoop::new(poll, shared.clone(), notify));
  let looped = shared.clone();
  let handle = std::thread::Builder::new()
    .name("node-bun-tcp".into())
    .spawn(move || event_loop::run(looped));
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
