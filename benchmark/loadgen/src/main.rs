//! Echo ping-pong load generator: N connections, each sends an S-byte message (`pipeline` of them
//! at once), waits for every echoed byte, checks it, and sends again, for D seconds.
//! Prints one JSON line: messages, bytes, seconds, msgs_per_sec, mb_per_sec, p50_us, p99_us, errors.
//!
//! usage: loadgen echo HOST:PORT CONNS SIZE SECONDS [PIPELINE]
//!        loadgen tls-echo HOST:PORT CONNS SIZE SECONDS [PIPELINE]   (the same, over TLS)
//!        loadgen connects HOST:PORT WORKERS SECONDS [tls]   (connect, 1-byte echo, RST)
//!        loadgen idle HOST:PORT CONNS SECONDS                (hold CONNS idle connections open)
//!        loadgen stream HOST:PORT SECONDS                    (one connection, continuous stream)
//!        loadgen upload HOST:PORT SECONDS                    (one connection, stream to a sink)

use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

mod stream;
mod threaded;

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};
use rustls::ClientConnection;

struct Conn {
  stream: TcpStream,
  /// The TLS session of a `tls-echo` connection: plaintext goes through it, records on `stream`.
  tls: Option<Box<ClientConnection>>,
  /// Bytes of the current round still to send / to receive.
  to_send: usize,
  received: usize,
  round_started: Instant,
}

fn pattern(size: usize, pipeline: usize) -> Vec<u8> {
  (0..size * pipeline).map(|i| (i % 251) as u8).collect()
}

fn main() {
  let args: Vec<String> = std::env::args().collect();
  let outcome = match args.get(1).map(String::as_str) {
    Some("connects") if args.len() >= 5 => threaded::connects(
      args[2].parse().expect("HOST:PORT"),
      args[3].parse().expect("WORKERS"),
      args[4].parse().expect("SECONDS"),
      args.get(5).is_some_and(|a| a == "tls"),
    ),
    Some("idle") if args.len() >= 5 => threaded::idle(
      args[2].parse().expect("HOST:PORT"),
      args[3].parse().expect("CONNS"),
      args[4].parse().expect("SECONDS"),
    ),
    Some("stream") if args.len() >= 4 => stream::run(
      args[2].parse().expect("HOST:PORT"),
      args[3].parse().expect("SECONDS"),
    ),
    Some("upload") if args.len() >= 4 => stream::upload(
      args[2].parse().expect("HOST:PORT"),
      args[3].parse().expect("SECONDS"),
    ),
    _ => return echo_main(args),
  };
  if let Err(e) = outcome {
    eprintln!("loadgen: {e}");
    std::process::exit(1);
  }
}

fn echo_main(args: Vec<String>) {
  if args.len() < 6 || (args[1] != "echo" && args[1] != "tls-echo") {
    eprintln!("usage: loadgen echo|tls-echo HOST:PORT CONNS SIZE SECONDS [PIPELINE]");
    std::process::exit(2);
  }
  let tls = args[1] == "tls-echo";
  let addr: SocketAddr = args[2].parse().expect("HOST:PORT");
  let conns: usize = args[3].parse().expect("CONNS");
  let size: usize = args[4].parse().expect("SIZE");
  let seconds: f64 = args[5].parse().expect("SECONDS");
  let pipeline: usize = args
    .get(6)
    .map(|p| p.parse().expect("PIPELINE"))
    .unwrap_or(1);
  match run(addr, conns, size, seconds, pipeline, tls) {
    Ok(()) => {}
    Err(e) => {
      eprintln!("loadgen: {e}");
      std::process::exit(1);
    }
  }
}

/// One event loop drives every connection, plain or TLS alike, so the server under test sees the
/// same client either way: messages arrive as the client's turn sends them, with no thread switch
/// of the client's per message.
fn run(
  addr: SocketAddr,
  n: usize,
  size: usize,
  seconds: f64,
  pipeline: usize,
  tls: bool,
) -> io::Result<()> {
  let payload = pattern(size, pipeline);
  let round = payload.len();
  let config = tls.then(threaded::tls_config);
  let mut poll = Poll::new()?;
  let mut conns = Vec::with_capacity(n);
  for i in 0..n {
    let mut std_stream = std::net::TcpStream::connect(addr)?;
    std_stream.set_nodelay(true)?;
    // Handshakes are done (blocking) before the clock starts: this mode measures messages.
    let tls = match &config {
      None => None,
      Some(config) => Some(Box::new(threaded::handshake(config, &mut std_stream)?)),
    };
    std_stream.set_nonblocking(true)?;
    let mut stream = TcpStream::from_std(std_stream);
    poll.registry().register(
      &mut stream,
      Token(i),
      Interest::READABLE | Interest::WRITABLE,
    )?;
    conns.push(Conn {
      stream,
      tls,
      to_send: round,
      received: 0,
      round_started: Instant::now(),
    });
  }
  let mut latencies: Vec<u32> = Vec::with_capacity(1 << 20);
  let mut events = Events::with_capacity(1024);
  let mut buf = vec![0u8; 256 * 1024];
  let (mut messages, mut bytes, mut errors) = (0u64, 0u64, 0u64);
  let started = Instant::now();
  let end = started + Duration::from_secs_f64(seconds);
  for c in &mut conns {
    pump_send(c, &payload)?;
  }
  while Instant::now() < end {
    poll.poll(&mut events, Some(Duration::from_millis(50)))?;
    for ev in events.iter() {
      let i = ev.token().0;
      let c = &mut conns[i];
      if ev.is_writable() && (c.to_send > 0 || c.tls.as_ref().is_some_and(|t| t.wants_write())) {
        pump_send(c, &payload)?;
      }
      if ev.is_readable() {
        let got = receive(c, &mut buf, &payload, pipeline, &mut latencies)?;
        messages += got.messages;
        bytes += got.bytes;
        errors += got.errors;
      }
    }
  }
  let secs = started.elapsed().as_secs_f64();
  latencies.sort_unstable();
  let pct = |p: f64| -> u32 {
    if latencies.is_empty() {
      return 0;
    }
    latencies[((latencies.len() - 1) as f64 * p) as usize]
  };
  println!(
    "{{\"messages\":{messages},\"bytes\":{bytes},\"seconds\":{secs:.3},\"msgs_per_sec\":{:.1},\"mb_per_sec\":{:.2},\"p50_us\":{},\"p99_us\":{},\"errors\":{errors}}}",
    messages as f64 / secs,
    bytes as f64 / secs / 1e6,
    pct(0.5),
    pct(0.99)
  );
  Ok(())
}

/// What one readable event brought: whole rounds' messages, echoed bytes, mismatched bytes.
#[derive(Default)]
struct Received {
  messages: u64,
  bytes: u64,
  errors: u64,
}

/// Reads everything the kernel has for `c` (through its TLS session, if any), checks it against
/// the payload, and starts the next round whenever one completes.
fn receive(
  c: &mut Conn,
  buf: &mut [u8],
  payload: &[u8],
  pipeline: usize,
  latencies: &mut Vec<u32>,
) -> io::Result<Received> {
  let mut got = Received::default();
  loop {
    let k = match read_some(c, buf) {
      Ok(0) => {
        return Err(io::Error::new(
          io::ErrorKind::UnexpectedEof,
          "server closed",
        ))
      }
      Ok(k) => k,
      Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(got),
      Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
      Err(e) => return Err(e),
    };
    // The echo of this round's bytes so far is the payload itself: a memcmp, so the check never
    // makes the load generator the bottleneck with big messages.
    match payload.get(c.received..c.received + k) {
      Some(want) if want == &buf[..k] => {}
      Some(want) => got.errors += want.iter().zip(&buf[..k]).filter(|(a, b)| a != b).count() as u64,
      None => got.errors += k as u64, // more came back than this round sent
    }
    c.received += k;
    got.bytes += k as u64;
    if c.received >= payload.len() {
      // A round is `pipeline` messages; the pattern restarts with it.
      c.received = 0;
      got.messages += pipeline as u64;
      latencies.push(c.round_started.elapsed().as_micros() as u32);
      c.round_started = Instant::now();
      c.to_send = payload.len();
      pump_send(c, payload)?;
    }
  }
}

/// Plaintext into `buf`: straight from the socket, or what the TLS session has decrypted, reading
/// more records when it has none. `WouldBlock` when there is nothing more for now.
fn read_some(c: &mut Conn, buf: &mut [u8]) -> io::Result<usize> {
  let Some(tls) = c.tls.as_mut() else {
    return c.stream.read(buf);
  };
  loop {
    match tls.reader().read(buf) {
      Ok(k) => return Ok(k),
      Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
      Err(e) => return Err(e),
    }
    // No plaintext buffered: read records (WouldBlock ends the turn), then decrypt them.
    if tls.read_tls(&mut c.stream)? == 0 {
      return Ok(0);
    }
    tls.process_new_packets().map_err(io::Error::other)?;
  }
}

/// Sends what is left of this round: straight to the socket, or through the TLS session (which
/// takes up to its buffer limit at a time) and its records to the socket, until all is out or the
/// kernel refuses; a writable event resumes.
fn pump_send(c: &mut Conn, payload: &[u8]) -> io::Result<()> {
  if let Some(tls) = c.tls.as_mut() {
    loop {
      let taken = match c.to_send {
        0 => 0,
        left => tls.writer().write(&payload[payload.len() - left..])?,
      };
      c.to_send -= taken;
      while tls.wants_write() {
        match tls.write_tls(&mut c.stream) {
          Ok(_) => {}
          Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
          Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
          Err(e) => return Err(e),
        }
      }
      if c.to_send == 0 || taken == 0 {
        return Ok(());
      }
    }
  }
  while c.to_send > 0 {
    let start = payload.len() - c.to_send;
    match c.stream.write(&payload[start..]) {
      Ok(k) => c.to_send -= k,
      Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
      Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
      Err(e) => return Err(e),
    }
  }
  Ok(())
}
