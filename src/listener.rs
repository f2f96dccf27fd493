//! Listening sockets: created and bound on the JS thread (so `listen()` fails synchronously), then
//! handed to the loop thread, which accepts on them.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use parking_lot::Mutex;
use socket2::{Domain, SockAddr, Socket, Type};

use crate::ids::IdPool;
use crate::tls::config::ServerContext;

pub struct ListenOptions {
  pub backlog: i32,
  pub reuse_port: bool,
  pub ipv6_only: bool,
}

pub struct ListenerCore {
  pub id: u32,
  /// Every accepted connection speaks TLS with this configuration.
  pub tls: Option<Arc<ServerContext>>,
  /// TLS: an accepted connection does not read (so its handshake does not start) until JS has run
  /// its `open` handler, where `setVerifyMode` may still choose how the handshake goes. Set while
  /// the table has a `handshake` handler (without one, `open` follows the handshake).
  pub open_first: AtomicBool,
  /// `None` once stopped. The loop holds the lock while it accepts, so `stop()` on the JS thread
  /// never closes a descriptor under a running `accept`.
  sock: Mutex<Option<Socket>>,
  pool: Arc<IdPool>,
  /// A unix listener's socket file, as bound (device, inode): removed if the listener is still
  /// listening when it goes away with its environment (a process that exits without `stop()`), as
  /// libuv removes node:net's. `stop()` removes it itself (lib/listener.js).
  socket_file: Option<(std::path::PathBuf, u64, u64)>,
}

impl ListenerCore {
  /// The id's slot goes back to the pool when the last holder lets go, like a socket's: an
  /// accepted socket's `OPEN` event still on its way to JS names the old id, whose generation
  /// the slot's next listener does not share, so it never reaches that one.
  pub fn new(pool: &Arc<IdPool>, sock: Socket, tls: Option<Arc<ServerContext>>) -> Self {
    ListenerCore {
      id: pool.alloc(),
      tls,
      open_first: AtomicBool::new(false),
      sock: Mutex::new(Some(sock)),
      pool: pool.clone(),
      socket_file: None,
    }
  }

  /// Remembers the socket file a unix listener bound at `path` (none for an abstract name).
  pub fn with_socket_file(mut self, path: &str) -> Self {
    if !path.is_empty() && !path.starts_with('\0') {
      if let Ok(meta) = std::fs::metadata(path) {
        use std::os::unix::fs::MetadataExt;
        self.socket_file = Some((path.into(), meta.dev(), meta.ino()));
      }
    }
    self
  }

  pub fn fd(&self) -> Option<RawFd> {
    self.sock.lock().as_ref().map(|s| s.as_raw_fd())
  }

  pub fn local_addr(&self) -> Option<SockAddr> {
    self.sock.lock().as_ref()?.local_addr().ok()
  }

  /// Accepts one pending connection, already non-blocking.
  /// The next pending connection, and whether it is TCP (not a unix socket).
  pub fn accept(&self) -> io::Result<Option<(Socket, bool)>> {
    let guard = self.sock.lock();
    let Some(sock) = guard.as_ref() else {
      return Ok(None);
    };
    let (conn, peer) = sock.accept4(libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC)?;
    Ok(Some((conn, peer.as_socket().is_some())))
  }

  /// Closes the listening socket now; the port can be bound again as soon as this returns.
  pub fn close(&self) -> Option<Socket> {
    self.sock.lock().take()
  }
}

/// Resolves `host` for a listener: IP literals as they are, names through the system resolver
/// (IPv4 first, so `localhost` lands where IPv4-only clients look).
pub fn resolve_listen_host(host: &str, port: u16) -> io::Result<Vec<SocketAddr>> {
  if let Ok(ip) = host.parse::<std::net::IpAddr>() {
    return Ok(vec![SocketAddr::new(ip, port)]);
  }
  let mut addrs: Vec<SocketAddr> = (host, port)
    .to_socket_addrs()
    .map_err(|_| io::Error::new(io::ErrorKind::NotFound, "name not found"))?
    .collect();
  addrs.sort_by_key(|a| a.is_ipv6());
  if addrs.is_empty() {
    return Err(io::Error::new(io::ErrorKind::NotFound, "name not found"));
  }
  Ok(addrs)
}

/// Binds the first of `addrs` this host can bind. Only an address it cannot bind at all (no IPv6
/// here) lets the next one stand in; a port in use or a denied bind is the answer, as node:net
/// gives it, or a second server on `localhost:3000` would quietly start on `::1` beside the first.
/// The error comes with the address that gave it (none when `addrs` is empty).
pub fn bind_first(
  addrs: &[SocketAddr],
  opts: &ListenOptions,
) -> Result<(Socket, SocketAddr), (io::Error, Option<SocketAddr>)> {
  let mut failure = (io::Error::from_raw_os_error(libc::EADDRNOTAVAIL), None);
  for &addr in addrs {
    match bind_tcp(addr, opts) {
      Ok(sock) => return Ok((sock, addr)),
      Err(e) => {
        let unbindable = matches!(
          e.raw_os_error(),
          Some(libc::EADDRNOTAVAIL | libc::EAFNOSUPPORT | libc::EPROTONOSUPPORT)
        );
        failure = (e, Some(addr));
        if !unbindable {
          break;
        }
      }
    }
  }
  Err(failure)
}

pub fn bind_tcp(addr: SocketAddr, opts: &ListenOptions) -> io::Result<Socket> {
  let sock = Socket::new(
    Domain::for_address(addr),
    Type::STREAM.nonblocking().cloexec(),
    None,
  )?;
  // As libuv does for every TCP listener: a restarted server can rebind past TIME_WAIT.
  sock.set_reuse_address(true)?;
  if opts.reuse_port {
    sock.set_reuse_port(true)?;
  }
  if addr.is_ipv6() {
    sock.set_only_v6(opts.ipv6_only)?;
  }
  sock.bind(&addr.into())?;
  sock.listen(opts.backlog)?;
  Ok(sock)
}

/// A unix socket address. Unlike `SockAddr::unix`, a path may fill `sun_path` whole (108 bytes on
/// Linux, without a NUL): the kernel takes it, and so do node:net and Bun.
pub fn unix_addr(path: &str) -> io::Result<SockAddr> {
  let bytes = path.as_bytes();
  // SAFETY: `try_init` hands us zeroed storage as large as any sockaddr; we write a sockaddr_un
  // (family, then at most `sun_path.len()` bytes inside `sun_path`) and its exact length.
  let ((), addr) = unsafe {
    SockAddr::try_init(|storage, len| {
      let sun = &mut *storage.cast::<libc::sockaddr_un>();
      if bytes.len() > sun.sun_path.len() {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
      }
      sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
      std::ptr::copy_nonoverlapping(
        bytes.as_ptr(),
        sun.sun_path.as_mut_ptr().cast::<u8>(),
        bytes.len(),
      );
      // A path gets its NUL when there is room; an abstract name (leading NUL) never has one.
      let nul = usize::from(bytes.first() != Some(&0) && bytes.len() < sun.sun_path.len());
      let offset = std::mem::offset_of!(libc::sockaddr_un, sun_path);
      *len = (offset + bytes.len() + nul) as libc::socklen_t;
      Ok(())
    })?
  };
  Ok(addr)
}

/// The address to bind or connect for a unix path. One longer than `sun_path` is reached through
/// its folder, opened here, as `/proc/self/fd/<folder>/<name>` (as Bun does; node:net refuses
/// it): the folder must stay open until the bind or connect has run. A folder that cannot be
/// opened fails as the path would (`ENOENT`); a name too long even so is `EINVAL`, as from Bun and
/// node:net.
pub fn unix_target(path: &str) -> io::Result<(SockAddr, Option<OwnedFd>)> {
  const SUN_PATH: usize = 108;
  if path.len() <= SUN_PATH || path.starts_with('\0') {
    return Ok((unix_addr(path)?, None));
  }
  let (folder, name) = match path.rfind('/') {
    Some(0) => ("/", &path[1..]),
    Some(at) => (&path[..at], &path[at + 1..]),
    None => (".", path),
  };
  use std::os::unix::fs::OpenOptionsExt;
  let folder: OwnedFd = std::fs::OpenOptions::new()
    .read(true)
    .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
    .open(folder)?
    .into();
  let through = format!("/proc/self/fd/{}/{name}", folder.as_raw_fd());
  Ok((unix_addr(&through)?, Some(folder)))
}

pub fn bind_unix(path: &str, opts: &ListenOptions) -> io::Result<Socket> {
  let sock = Socket::new(Domain::UNIX, Type::STREAM.nonblocking().cloexec(), None)?;
  let (addr, _folder) = unix_target(path)?;
  sock.bind(&addr)?;
  sock.listen(opts.backlog)?;
  Ok(sock)
}

impl Drop for ListenerCore {
  fn drop(&mut self) {
    self.pool.free(self.id);
    // Still listening: its environment is going away. Only the file this listener bound (the same
    // inode) goes, never one a later listener made at the same path.
    if let (Some(_), Some((path, dev, ino))) = (self.sock.get_mut().take(), &self.socket_file) {
      use std::os::unix::fs::MetadataExt;
      if std::fs::metadata(path).is_ok_and(|m| m.dev() == *dev && m.ino() == *ino) {
        let _ = std::fs::remove_file(path);
      }
    }
  }
}

#[cfg(test)]
mod tests {
  use super::*;

  fn opts() -> ListenOptions {
    ListenOptions {
      backlog: 16,
      reuse_port: false,
      ipv6_only: false,
    }
  }

  #[test]
  fn port_zero_binds_a_free_port() {
    let sock = bind_tcp("127.0.0.1:0".parse().unwrap(), &opts()).unwrap();
    let port = sock.local_addr().unwrap().as_socket().unwrap().port();
    assert_ne!(port, 0);
  }

  #[test]
  fn a_taken_port_is_addr_in_use() {
    let first = bind_tcp("127.0.0.1:0".parse().unwrap(), &opts()).unwrap();
    let addr = first.local_addr().unwrap().as_socket().unwrap();
    let err = bind_tcp(addr, &opts()).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EADDRINUSE));
  }

  #[test]
  fn reuse_port_lets_two_listeners_share_a_port() {
    let o = ListenOptions {
      reuse_port: true,
      ..opts()
    };
    let first = bind_tcp("127.0.0.1:0".parse().unwrap(), &o).unwrap();
    let addr = first.local_addr().unwrap().as_socket().unwrap();
    assert!(bind_tcp(addr, &o).is_ok());
  }

  #[test]
  fn a_taken_port_is_the_answer_not_a_reason_to_try_the_next_address() {
    let first = bind_tcp("127.0.0.1:0".parse().unwrap(), &opts()).unwrap();
    let taken = first.local_addr().unwrap().as_socket().unwrap();
    let other = SocketAddr::new("::1".parse().unwrap(), taken.port());
    let (err, at) = bind_first(&[taken, other], &opts())
      .map(|_| ())
      .unwrap_err();
    assert_eq!(err.raw_os_error(), Some(libc::EADDRINUSE));
    assert_eq!(at, Some(taken));
  }

  #[test]
  fn an_address_this_host_cannot_bind_lets_the_next_stand_in() {
    // TEST-NET-1 is on no interface here: EADDRNOTAVAIL.
    let unbindable: SocketAddr = "192.0.2.1:0".parse().unwrap();
    let (_sock, addr) = bind_first(&[unbindable, "127.0.0.1:0".parse().unwrap()], &opts()).unwrap();
    assert_eq!(addr, "127.0.0.1:0".parse::<SocketAddr>().unwrap());
  }

  #[test]
  fn a_long_unix_path_goes_through_its_folder_and_a_short_one_does_not() {
    let (_, folder) = unix_target("/tmp/short.sock").unwrap();
    assert!(folder.is_none());
    let dir = std::env::temp_dir().join(format!("nbt-{}-{}", std::process::id(), "d".repeat(90)));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("s".repeat(20));
    let path = path.to_str().unwrap();
    assert!(path.len() > 108);
    let sock = bind_unix(path, &opts()).unwrap();
    assert!(
      std::fs::metadata(path).is_ok(),
      "the socket file is at the long path"
    );
    drop(sock);
    let (_, folder) = unix_target(path).unwrap();
    assert!(folder.is_some());
    std::fs::remove_dir_all(&dir).unwrap();
    let gone = unix_target(path).unwrap_err();
    assert_eq!(gone.raw_os_error(), Some(libc::ENOENT));
  }

  #[test]
  fn localhost_resolves_ipv4_first() {
    let addrs = resolve_listen_host("localhost", 80).unwrap();
    assert!(addrs[0].is_ipv4());
  }
}
