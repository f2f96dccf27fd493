//! The loop thread driven without Node: a channel stands in for the threadsafe function.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use socket2::SockAddr;

use super::*;
use crate::batch::{self, Batch, EVENT_WORDS};
use crate::listener::{bind_tcp, ListenOptions, ListenerCore};
use crate::socket_core::SocketCore;

struct ChannelNotify(Mutex<Sender<()>>);

impl Notify for ChannelNotify {
  fn notify(&self) {
    let _ = self.0.lock().send(());
  }
}

struct Harness {
  shared: Arc<Shared>,
  woken: Receiver<()>,
  /// Every event seen so far, and the bytes of every DATA event by socket id.
  events: Vec<[i32; 4]>,
  bytes: std::collections::HashMap<u32, Vec<u8>>,
  opened: Vec<Arc<SocketCore>>,
  /// JS would poll again without a notification.
  more: bool,
}

impl Harness {
  fn new() -> Self {
    let (tx, rx) = channel();
    let shared = start(Arc::new(ChannelNotify(Mutex::new(tx)))).expect("loop starts");
    Harness {
      shared,
      woken: rx,
      events: Vec::new(),
      bytes: Default::default(),
      opened: Vec::new(),
      more: false,
    }
  }

  fn listen(&self) -> (u32, SocketAddr) {
    let opts = ListenOptions {
      backlog: 128,
      reuse_port: false,
      ipv6_only: false,
    };
    let sock = bind_tcp("127.0.0.1:0".parse().unwrap(), &opts).unwrap();
    let addr = sock.local_addr().unwrap().as_socket().unwrap();
    let core = Arc::new(ListenerCore::new(&self.shared.ids, sock, None));
    let id = core.id;
    self.shared.send(Command::Listen(core));
    (id, addr)
  }

  /// Takes one batch as JS would, if one arrives within `ms` (or is already known to wait).
  fn take(&mut self, ms: u64) -> bool {
    if !self.more && self.woken.recv_timeout(Duration::from_millis(ms)).is_err() {
      return false;
    }
    let mut batch = Batch::default();
    if self.shared.take(&mut batch) {
      self.shared.send(Command::Resume);
    }
    for ev in batch.events.chunks_exact(EVENT_WORDS) {
      if ev[0] == batch::DATA {
        let part = &batch.data[ev[2] as usize..(ev[2] + ev[3]) as usize];
        self
          .bytes
          .entry(ev[1] as u32)
          .or_default()
          .extend_from_slice(part);
      }
      self.events.push([ev[0], ev[1], ev[2], ev[3]]);
    }
    self.opened.append(&mut batch.opened);
    self.more = self.shared.finish(false);
    true
  }

  /// Takes batches until `pred` holds, or panics after 5 s.
  fn until(&mut self, what: &str, pred: impl Fn(&Harness) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !pred(self) {
      assert!(Instant::now() < deadline, "timed out waiting for {what}");
      self.take(50);
    }
  }

  fn has(&self, kind: i32) -> bool {
    self.events.iter().any(|e| e[0] == kind)
  }

  fn first(&self, kind: i32) -> [i32; 4] {
    *self
      .events
      .iter()
      .find(|e| e[0] == kind)
      .expect("event present")
  }
}

impl Drop for Harness {
  fn drop(&mut self) {
    self.shared.stop();
  }
}

#[test]
fn accepts_and_delivers_bytes_in_order() {
  let mut h = Harness::new();
  let (listener_id, addr) = h.listen();
  let mut client = TcpStream::connect(addr).unwrap();
  client.write_all(b"hello ").unwrap();
  client.write_all(b"world").unwrap();
  h.until("open and 11 bytes", |h| {
    h.has(batch::OPEN) && h.bytes.values().any(|b| b.len() == 11)
  });
  let open = h.first(batch::OPEN);
  assert_eq!(open[2] as u32, listener_id);
  assert_eq!(h.bytes[&(open[1] as u32)], b"hello world");
  assert_eq!(h.opened.len(), 1);
}

#[test]
fn js_thread_writes_reach_the_peer_and_fin_is_end() {
  let mut h = Harness::new();
  let (_, addr) = h.listen();
  let mut client = TcpStream::connect(addr).unwrap();
  h.until("open", |h| !h.opened.is_empty());
  let core = h.opened[0].clone();
  assert_eq!(core.send(b"pong").unwrap(), 4);
  let mut buf = [0u8; 4];
  client.read_exact(&mut buf).unwrap();
  assert_eq!(&buf, b"pong");
  client.shutdown(std::net::Shutdown::Write).unwrap();
  h.until("end", |h| h.has(batch::END));
}

#[test]
fn a_refused_connect_reports_econnrefused() {
  let mut h = Harness::new();
  // A port nobody listens on: bind one, note it, close it.
  let free = std::net::TcpListener::bind("127.0.0.1:0")
    .unwrap()
    .local_addr()
    .unwrap();
  let core = Arc::new(SocketCore::new(&h.shared.ids));
  let id = core.id;
  h.shared.send(Command::Connect {
    core,
    addrs: Ok(vec![SockAddr::from(free)]),
    folder: None,
  });
  h.until("connect error", |h| h.has(batch::CONNECT_ERROR));
  let ev = h.first(batch::CONNECT_ERROR);
  assert_eq!(ev[1] as u32, id);
  assert_eq!(ev[2], -libc::ECONNREFUSED);
}

#[test]
fn connect_tries_the_next_address_after_a_failure() {
  let mut h = Harness::new();
  let (_, addr) = h.listen();
  let free = std::net::TcpListener::bind("127.0.0.1:0")
    .unwrap()
    .local_addr()
    .unwrap();
  let core = Arc::new(SocketCore::new(&h.shared.ids));
  h.shared.send(Command::Connect {
    core,
    addrs: Ok(vec![SockAddr::from(free), SockAddr::from(addr)]),
    folder: None,
  });
  h.until("connected", |h| h.has(batch::CONNECTED));
  assert!(!h.has(batch::CONNECT_ERROR));
}

#[test]
fn a_unix_connect_to_a_full_backlog_fails_with_eagain_instead_of_waiting_for_ever() {
  let mut h = Harness::new();
  let path = std::env::temp_dir().join(format!("nbt-backlog-{}.sock", std::process::id()));
  let _ = std::fs::remove_file(&path);
  // A listener that never accepts: its backlog fills after a few connects.
  let server = socket2::Socket::new(socket2::Domain::UNIX, socket2::Type::STREAM, None).unwrap();
  server.bind(&SockAddr::unix(&path).unwrap()).unwrap();
  server.listen(1).unwrap();
  let mut failed = None;
  for _ in 0..32 {
    let core = Arc::new(SocketCore::new(&h.shared.ids));
    let id = core.id;
    h.shared.send(Command::Connect {
      core,
      addrs: Ok(vec![SockAddr::unix(&path).unwrap()]),
      folder: None,
    });
    h.until("the connect settles", |h| {
      h.events
        .iter()
        .any(|e| e[1] as u32 == id && (e[0] == batch::CONNECTED || e[0] == batch::CONNECT_ERROR))
    });
    if h
      .events
      .iter()
      .any(|e| e[1] as u32 == id && e[0] == batch::CONNECT_ERROR)
    {
      failed = Some(id);
      break;
    }
  }
  let _ = std::fs::remove_file(&path);
  let id = failed.expect("a connect past the backlog fails");
  let ev = h
    .events
    .iter()
    .find(|e| e[1] as u32 == id && e[0] == batch::CONNECT_ERROR)
    .unwrap();
  assert_eq!(ev[2], -libc::EAGAIN);
}

#[test]
fn a_socket_is_not_read_past_its_cap_until_js_takes_the_batch() {
  let mut h = Harness::new();
  let (_, addr) = h.listen();
  let client = TcpStream::connect(addr).unwrap();
  let total = 3 * MAX_QUEUED_PER_SOCKET;
  let writer = std::thread::spawn(move || {
    let mut client = client;
    let payload = vec![7u8; total];
    client.write_all(&payload).unwrap();
    client
  });
  // Wait for the first notification but do not take: the loop must stop near the cap.
  h.woken
    .recv_timeout(Duration::from_secs(5))
    .expect("notified");
  std::thread::sleep(Duration::from_millis(300));
  let held = h
    .shared
    .untaken_bytes
    .load(std::sync::atomic::Ordering::SeqCst);
  assert!(
    held <= MAX_QUEUED_PER_SOCKET + 64 * 1024,
    "loop held {held} bytes for one socket"
  );
  // Taking the batch lets it go on; everything arrives.
  let mut batch = Batch::default();
  h.shared.take(&mut batch);
  h.more = h.shared.finish(false);
  h.shared.send(Command::Resume);
  let first = batch.data.len();
  h.until("all bytes", |h| {
    h.bytes.values().map(|b| b.len()).sum::<usize>() + first >= total
  });
  drop(writer.join().unwrap());
}

#[test]
fn a_panic_while_handling_a_socket_fails_only_that_socket() {
  let mut h = Harness::new();
  let (_, addr) = h.listen();
  let _a = TcpStream::connect(addr).unwrap();
  h.until("open", |h| !h.opened.is_empty());
  let id = h.opened[0].id;
  h.shared.send(Command::Panic(id));
  h.until("failure event", |h| h.has(batch::FAILED));
  assert_eq!(h.first(batch::FAILED)[1] as u32, id);
  // The loop still serves new connections.
  let mut b = TcpStream::connect(addr).unwrap();
  b.write_all(b"still alive").unwrap();
  h.until("second socket's bytes", |h| {
    h.bytes.values().any(|v| v == b"still alive")
  });
}

#[test]
fn a_panic_in_the_loop_itself_fails_every_socket_and_the_loop_goes_on() {
  let mut h = Harness::new();
  let (_, addr) = h.listen();
  let _a = TcpStream::connect(addr).unwrap();
  let _b = TcpStream::connect(addr).unwrap();
  h.until("two opens", |h| h.opened.len() == 2);
  h.shared.send(Command::PanicLoop);
  h.until("both failed", |h| {
    h.events.iter().filter(|e| e[0] == batch::FAILED).count() == 2
  });
  let mut c = TcpStream::connect(addr).unwrap();
  c.write_all(b"after").unwrap();
  h.until("a new socket's bytes", |h| {
    h.bytes.values().any(|v| v == b"after")
  });
}

#[test]
fn the_inactivity_timer_fires_once() {
  let mut h = Harness::new();
  let (_, addr) = h.listen();
  let _c = TcpStream::connect(addr).unwrap();
  h.until("open", |h| !h.opened.is_empty());
  let core = h.opened[0].clone();
  let started = Instant::now();
  core.arm_timeout(200);
  h.shared.send(Command::Watch(core.id));
  h.until("timeout", |h| h.has(batch::TIMEOUT));
  let waited = started.elapsed();
  assert!(
    waited >= Duration::from_millis(190),
    "fired after {waited:?}"
  );
  assert!(
    waited < Duration::from_millis(1500),
    "fired after {waited:?}"
  );
  assert_eq!(
    core.timeout_ms.load(std::sync::atomic::Ordering::SeqCst),
    0,
    "disarmed after firing"
  );
}

#[test]
fn released_end_data_is_sent_before_fin() {
  let mut h = Harness::new();
  let (_, addr) = h.listen();
  let mut client = TcpStream::connect(addr).unwrap();
  h.until("open", |h| !h.opened.is_empty());
  let core = h.opened.remove(0);
  let id = core.id;
  drop(core);
  let pending = vec![42u8; 4 << 20];
  h.shared.send(Command::Release {
    id,
    pending,
    hold: true,
  });
  let mut got = Vec::new();
  client.read_to_end(&mut got).unwrap();
  assert_eq!(got.len(), 4 << 20);
  assert!(got.iter().all(|b| *b == 42));
}

/// Release closes a socket without `epoll_ctl(DEL)` when the loop holds its last reference, and
/// deregisters it while someone else still does: either way its descriptor number, reused by the
/// next accept at once, registers and delivers again, and the peer sees the close.
#[test]
fn released_sockets_close_and_their_descriptors_register_again() {
  let mut h = Harness::new();
  let (_, addr) = h.listen();
  let mut fds = std::collections::HashSet::new();
  for round in 0..100u8 {
    let mut client = TcpStream::connect(addr).unwrap();
    client.write_all(&[round]).unwrap();
    h.until("open", |h| !h.opened.is_empty());
    let core = h.opened.remove(0);
    let id = core.id;
    h.until("data", |h| h.bytes.get(&id).is_some_and(|b| b == &[round]));
    fds.insert(core.fd().expect("an accepted socket has a descriptor"));
    // Every other round "JS" still holds the socket when the loop releases it.
    let held = (round % 2 == 1).then(|| core.clone());
    drop(core);
    h.shared.send(Command::Release {
      id,
      pending: Vec::new(),
      hold: false,
    });
    if let Some(core) = held {
      // Until the last holder lets go, the loop must not hear of it any more.
      std::thread::sleep(Duration::from_millis(5));
      drop(core);
    }
    client
      .set_read_timeout(Some(Duration::from_secs(5)))
      .unwrap();
    let mut rest = Vec::new();
    client
      .read_to_end(&mut rest)
      .expect("the peer sees the close");
    assert!(rest.is_empty());
  }
  assert!(
    fds.len() < 100,
    "descriptor numbers were reused ({} distinct)",
    fds.len()
  );
}

/// Takes the waiting batch by hand: "JS" holds the baton until it calls `finish`.
fn take_and_hold(h: &mut Harness) -> Batch {
  h.woken
    .recv_timeout(Duration::from_secs(5))
    .expect("JS is notified");
  let mut batch = Batch::default();
  h.shared.take(&mut batch);
  batch
}

#[test]
fn while_js_holds_the_baton_its_own_turn_reads_and_the_loop_thread_stays_out() {
  let mut h = Harness::new();
  let (_, addr) = h.listen();
  let mut client = TcpStream::connect(addr).unwrap();
  let batch = take_and_hold(&mut h);
  assert_eq!(batch.opened.len(), 1);
  client.write_all(b"ping").unwrap();
  std::thread::sleep(Duration::from_millis(50)); // the bytes are in; the loop thread may wake
  assert!(h.shared.finish(false), "JS's turn found the bytes itself");
  assert!(
    h.woken.try_recv().is_err(),
    "no notification while JS holds the baton"
  );
  h.more = true;
  h.until("data", |h| h.has(batch::DATA));
  assert_eq!(
    h.bytes.values().next().map(Vec::as_slice),
    Some(&b"ping"[..])
  );
  // Handed back: the loop thread reads and notifies again.
  assert!(!h.shared.finish(false));
  client.write_all(b"pong").unwrap();
  h.until("more data", |h| {
    h.bytes.values().next().map(Vec::len) == Some(8)
  });
}

#[test]
fn a_timer_armed_while_js_holds_the_baton_fires_after_js_hands_back() {
  let mut h = Harness::new();
  let (_, addr) = h.listen();
  let _client = TcpStream::connect(addr).unwrap();
  let batch = take_and_hold(&mut h);
  let core = batch.opened[0].clone();
  let started = Instant::now();
  core.arm_timeout(100);
  h.shared.send(Command::Watch(core.id)); // no wake-up: JS's own turn runs it
  assert!(!h.shared.finish(false), "nothing else waits: JS hands back");
  h.until("timeout", |h| h.has(batch::TIMEOUT));
  let waited = started.elapsed();
  assert!(
    waited >= Duration::from_millis(95) && waited < Duration::from_millis(1000),
    "fired after {waited:?}"
  );
}

/// A host loop for the linger tests: its poll descriptor is one end of a socket pair, readable
/// ("the host has work") once the test writes to the other end. It notes when its clock was last
/// brought up to date.
#[derive(Clone, Default)]
struct FakeHost(Arc<Mutex<Option<Instant>>>);

impl HostLoop for FakeHost {
  fn sleep_limit(&self) -> Option<Duration> {
    None
  }

  fn update_clock(&self) {
    *self.0.lock() = Some(Instant::now());
  }
}

fn fake_host(h: &Harness) -> (Linger, std::os::unix::net::UnixStream) {
  fake_host_with(h, FakeHost::default())
}

fn fake_host_with(h: &Harness, host: FakeHost) -> (Linger, std::os::unix::net::UnixStream) {
  let (host_side, test_side) = std::os::unix::net::UnixStream::pair().unwrap();
  let linger = h
    .shared
    .new_linger(std::os::fd::AsRawFd::as_raw_fd(&host_side), Box::new(host))
    .unwrap();
  std::mem::forget(host_side); // the descriptor must stay open for the linger's poll
  (linger, test_side)
}

#[test]
fn a_lingering_js_thread_takes_the_next_event_itself_without_a_notification() {
  let mut h = Harness::new();
  let (_, addr) = h.listen();
  let (linger, _host) = fake_host(&h);
  let mut client = TcpStream::connect(addr).unwrap();
  let _ = take_and_hold(&mut h);
  assert!(!h.shared.finish(true), "nothing waits yet");
  // JS kept the baton: bytes sent now are for its linger, not for the loop thread.
  let writer = std::thread::spawn(move || {
    std::thread::sleep(Duration::from_micros(100));
    client.write_all(b"ping").unwrap();
    client
  });
  let started = Instant::now();
  let mut got = h.shared.linger(&linger);
  // A slow machine may not deliver within the linger; then the loop thread takes it.
  let _client = writer.join().unwrap();
  if got {
    assert!(started.elapsed() < Duration::from_millis(100));
    assert!(
      h.woken.try_recv().is_err(),
      "the loop thread stayed out while JS lingered"
    );
  } else {
    got = h.woken.recv_timeout(Duration::from_secs(5)).is_ok();
  }
  assert!(got, "the bytes reached JS one way or the other");
  h.more = true;
  h.until("data", |h| h.has(batch::DATA));
}

/// The host's clock stands still while JS lingers: it is brought up to date after the wait, so
/// the host's own timeout (libuv's, computed after the linger) counts from the present.
#[test]
fn after_a_linger_the_host_clock_is_brought_up_to_date() {
  let mut h = Harness::new();
  let (_, addr) = h.listen();
  let host = FakeHost::default();
  let (linger, _host) = fake_host_with(&h, host.clone());
  let _client = TcpStream::connect(addr).unwrap();
  let _ = take_and_hold(&mut h);
  assert!(!h.shared.finish(true));
  let started = Instant::now();
  assert!(
    !h.shared.linger(&linger),
    "nothing comes: the wait times out"
  );
  let updated = host.0.lock().expect("the clock was brought up to date");
  assert!(
    updated.duration_since(started) >= LINGER / 2,
    "last brought up to date {:?} into a wait of {LINGER:?}",
    updated.duration_since(started)
  );
}

#[test]
fn a_linger_ends_at_once_when_the_host_has_work_and_hands_the_baton_back() {
  let mut h = Harness::new();
  let (_, addr) = h.listen();
  let (linger, mut host) = fake_host(&h);
  let mut client = TcpStream::connect(addr).unwrap();
  let _ = take_and_hold(&mut h);
  assert!(!h.shared.finish(true));
  host.write_all(b"x").unwrap(); // Node has something to do
  let started = Instant::now();
  assert!(
    !h.shared.linger(&linger),
    "no event for us: the baton goes back"
  );
  assert!(
    started.elapsed() < LINGER,
    "did not wait out the linger: {:?}",
    started.elapsed()
  );
  // The loop thread has the baton again: it reads and notifies.
  client.write_all(b"pong").unwrap();
  h.until("data", |h| h.has(batch::DATA));
  // A second call without `finish(true)` before it does nothing.
  assert!(!h.shared.linger(&linger));
}

/// `LINGER_STREAK` waits in a row that an event answered within `LINGER` let the next last
/// `LINGER_BUSY` (a stream's next chunk, a busy ping-pong's next request); fewer do not (a pair
/// of messages between gaps), and a wait that an event answered only later, or none, ends the
/// streak.
#[test]
fn after_a_streak_of_quick_answers_the_next_wait_may_last_longer() {
  let mut h = Harness::new();
  let (_, addr) = h.listen();
  let (linger, _host) = fake_host(&h);
  let mut client = TcpStream::connect(addr).unwrap();
  let _ = take_and_hold(&mut h);
  let streak = |h: &Harness| h.shared.linger_streak.load(Ordering::Relaxed);
  // Bytes that are there before a wait answer it at once.
  let quick_answers = |h: &mut Harness, client: &mut TcpStream, n: u32| {
    for i in 0..n {
      assert!(!h.shared.finish(true));
      client.write_all(&[b'a' + i as u8]).unwrap();
      std::thread::sleep(Duration::from_millis(2));
      assert!(h.shared.linger(&linger), "the wait found the bytes");
      let mut batch = Batch::default();
      h.shared.take(&mut batch);
      assert_eq!(batch.data, [b'a' + i as u8]);
    }
  };
  // One short of the streak: a reply 4 x LINGER later is not waited for.
  quick_answers(&mut h, &mut client, LINGER_STREAK - 1);
  assert_eq!(streak(&h), LINGER_STREAK - 1);
  assert_eq!(h.shared.linger_bound(), LINGER);
  let late_reply = |h: &mut Harness, client: TcpStream| {
    assert!(!h.shared.finish(true));
    let writer = std::thread::spawn(move || {
      std::thread::sleep(LINGER * 4);
      let mut client = client;
      client.write_all(b"z").unwrap();
      client
    });
    let started = Instant::now();
    let got = h.shared.linger(&linger);
    let waited = started.elapsed();
    (got, waited, writer.join().unwrap())
  };
  let (got, waited, mut client) = late_reply(&mut h, client);
  if got {
    // Only a thread held up past the reply's time may find it.
    assert!(
      waited >= LINGER * 4,
      "a short wait, yet it found the reply: {waited:?}"
    );
    h.shared.take(&mut Batch::default());
  } else {
    assert!(waited < LINGER * 4, "a short wait: {waited:?}");
    assert_eq!(streak(&h), 0, "a wait that timed out ends the streak");
    let _ = take_and_hold(&mut h); // the loop thread took the reply
  }
  // A whole streak: the same late reply is waited for.
  quick_answers(&mut h, &mut client, LINGER_STREAK);
  assert_eq!(h.shared.linger_bound(), LINGER_BUSY);
  let (got, waited, _client) = late_reply(&mut h, client);
  // A slow machine may send it later than the long wait; the wait still lasted past LINGER.
  assert!(
    got || waited >= LINGER_BUSY,
    "the wait ended after {waited:?} without the bytes"
  );
  assert!(waited > LINGER, "a long wait: {waited:?}");
  assert_eq!(streak(&h), 0, "an answer later than LINGER ends the streak");
}

/// Request/response traffic: JS's own turn after a batch finds nothing while the reply is on its
/// way. After two such turns `finish` skips them and the linger's wait looks instead (nothing is
/// missed: bytes already waiting are found by the wait), and a probing turn that finds events
/// turns them back on.
#[test]
fn after_empty_turns_a_lingering_js_leaves_the_look_to_its_wait() {
  let mut h = Harness::new();
  let (_, addr) = h.listen();
  let (linger, _host) = fake_host(&h);
  let mut client = TcpStream::connect(addr).unwrap();
  let _ = take_and_hold(&mut h);
  for byte in [b'a', b'b'] {
    assert!(!h.shared.finish(true), "its turn finds nothing");
    assert!(
      !h.shared.linger(&linger),
      "nothing comes: the baton goes back"
    );
    client.write_all(&[byte]).unwrap();
    let batch = take_and_hold(&mut h);
    assert_eq!(batch.data, [byte]);
  }
  assert!(
    h.shared.finish_skips.load(Ordering::Relaxed),
    "two empty turns"
  );
  // Bytes that are there before `finish`: it makes no turn, the linger's wait finds them. One
  // `finish` in FINISH_PROBE_EVERY turns anyway, finds them itself and ends the skipping.
  let mut skipped = 0;
  for round in 0..FINISH_PROBE_EVERY {
    client.write_all(&[round as u8]).unwrap();
    std::thread::sleep(Duration::from_millis(5));
    let mut batch = Batch::default();
    if h.shared.finish(true) {
      h.shared.take(&mut batch);
      assert!(
        !h.shared.finish_skips.load(Ordering::Relaxed),
        "a probe found events"
      );
    } else {
      skipped += 1;
      assert!(
        h.shared.outbox.lock().batch.is_empty(),
        "no turn of its own"
      );
      assert!(h.shared.linger(&linger), "the wait found the bytes");
      h.shared.take(&mut batch);
    }
    assert_eq!(batch.data, [round as u8], "nothing is missed or reordered");
    if !h.shared.finish_skips.load(Ordering::Relaxed) {
      break;
    }
  }
  assert!(skipped > 0, "finish skipped its turns");
  assert!(
    !h.shared.finish_skips.load(Ordering::Relaxed),
    "within {FINISH_PROBE_EVERY} batches a probe turned them back on"
  );
}
