//! Stream mode: one connection, the client writes a continuous byte stream (64 KiB writes of a
//! repeating 251-byte pattern) as fast as the kernel takes it and reads the echo at the same time,
//! checking every echoed byte in order. Throughput counts echoed bytes.
//!
//! The JSON line has the shape of the other modes; `messages` is echoed megabytes (10^6 bytes), so
//! the server's CPU per "message" comes out per MB. p50/p99 are per write: from the write until
//! its last byte came back (mostly how much sits in buffers on the way).

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::net::TcpStream;
use mio::{Events, Interest, Poll, Token};

const WRITE: usize = 64 * 1024;
const READ: usize = 256 * 1024;
/// A prime period, so the pattern does not line up with any power-of-two buffer size.
const PERIOD: usize = 251;

pub fn run(addr: SocketAddr, seconds: f64) -> io::Result<()> {
  // Long enough that a window of up to READ bytes starting anywhere in one period fits.
  let pattern: Vec<u8> = (0..READ.max(WRITE) + PERIOD)
    .map(|i| (i % PERIOD) as u8)
    .collect();
  let std_stream = std::net::TcpStream::connect(addr)?;
  std_stream.set_nodelay(true)?;
  std_stream.set_nonblocking(true)?;
  let mut stream = TcpStream::from_std(std_stream);
  let mut poll = Poll::new()?;
  poll.registry().register(
    &mut stream,
    Token(0),
    Interest::READABLE | Interest::WRITABLE,
  )?;
  let mut events = Events::with_capacity(16);
  let mut buf = vec![0u8; READ];
  let (mut sent, mut received, mut errors) = (0u64, 0u64, 0u64);
  // Stream offset where each write ended, and when it was written.
  let mut marks: VecDeque<(u64, Instant)> = VecDeque::new();
  let mut latencies: Vec<u32> = Vec::with_capacity(1 << 16);
  let started = Instant::now();
  let end = started + Duration::from_secs_f64(seconds);
  loop {
    // Edge-triggered: write until the kernel refuses, read until it has nothing, then wait.
    loop {
      let at = (sent % PERIOD as u64) as usize;
      match stream.write(&pattern[at..at + WRITE]) {
        Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "write returned 0")),
        Ok(n) => {
          sent += n as u64;
          marks.push_back((sent, Instant::now()));
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
        Err(e) => return Err(e),
      }
    }
    loop {
      match stream.read(&mut buf) {
        Ok(0) => {
          return Err(io::Error::new(
            io::ErrorKind::UnexpectedEof,
            "server closed",
          ))
        }
        Ok(k) => {
          let at = (received % PERIOD as u64) as usize;
          let want = &pattern[at..at + k];
          if buf[..k] != *want {
            errors += buf[..k].iter().zip(want).filter(|(a, b)| a != b).count() as u64;
          }
          received += k as u64;
          if received > sent {
            errors += received - sent; // more came back than was sent
          }
          let now = Instant::now();
          while marks.front().is_some_and(|&(offset, _)| offset <= received) {
            if let Some((_, t)) = marks.pop_front() {
              latencies.push(now.duration_since(t).as_micros() as u32);
            }
          }
        }
        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
        Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
        Err(e) => return Err(e),
      }
    }
    let now = Instant::now();
    if now >= end {
      break;
    }
    poll.poll(
      &mut events,
      Some((end - now).min(Duration::from_millis(50))),
    )?;
  }
  let secs = started.elapsed().as_secs_f64();
  latencies.sort_unstable();
  let pct = |p: f64| -> u32 {
    if latencies.is_empty() {
      0
    } else {
      latencies[((latencies.len() - 1) as f64 * p) as usize]
    }
  };
  let mb = received as f64 / 1e6;
  println!(
    "{{\"messages\":{mb:.3},\"bytes\":{received},\"seconds\":{secs:.3},\"msgs_per_sec\":{:.2},\"mb_per_sec\":{:.2},\"p50_us\":{},\"p99_us\":{},\"errors\":{errors},\"in_flight_at_end\":{}}}",
    mb / secs,
    mb / secs,
    pct(0.5),
    pct(0.99),
    sent - received.min(sent)
  );
  Ok(())
}

/// Upload mode: one connection, the client writes the same continuous pattern as fast as the
/// kernel takes it, for `seconds`, then half-closes. The server (a sink) counts what it got and
/// answers the FIN with that count in decimal and a newline; a count other than what was sent is
/// an error. `messages` is uploaded megabytes, so the server's CPU per "message" is per MB.
pub fn upload(addr: SocketAddr, seconds: f64) -> io::Result<()> {
  let pattern: Vec<u8> = (0..WRITE + PERIOD).map(|i| (i % PERIOD) as u8).collect();
  let mut stream = std::net::TcpStream::connect(addr)?;
  stream.set_nodelay(true)?;
  let mut sent = 0u64;
  let started = Instant::now();
  let end = started + Duration::from_secs_f64(seconds);
  // Blocking writes: the kernel takes what the window allows, and the clock is checked per write.
  while Instant::now() < end {
    let at = (sent % PERIOD as u64) as usize;
    match stream.write(&pattern[at..at + WRITE]) {
      Ok(0) => return Err(io::Error::new(io::ErrorKind::WriteZero, "write returned 0")),
      Ok(n) => sent += n as u64,
      Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
      Err(e) => return Err(e),
    }
  }
  stream.shutdown(std::net::Shutdown::Write)?;
  let mut reply = String::new();
  stream.set_read_timeout(Some(Duration::from_secs(30)))?;
  stream.read_to_string(&mut reply).map_err(|e| {
    io::Error::new(
      e.kind(),
      format!("no count from the sink after the upload: {e}"),
    )
  })?;
  // Seconds until the server had everything: its count comes only after the last byte.
  let secs = started.elapsed().as_secs_f64();
  let counted: u64 = reply.trim().parse().unwrap_or(u64::MAX);
  let errors = u64::from(counted != sent);
  let mb = sent as f64 / 1e6;
  println!(
    "{{\"messages\":{mb:.3},\"bytes\":{sent},\"seconds\":{secs:.3},\"msgs_per_sec\":{:.2},\"mb_per_sec\":{:.2},\"p50_us\":0,\"p99_us\":0,\"errors\":{errors},\"in_flight_at_end\":0}}",
    mb / secs,
    mb / secs,
  );
  Ok(())
}
