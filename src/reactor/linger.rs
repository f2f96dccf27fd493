//! The JS thread's short wait before it hands the baton back.
//!
//! When JS's own turn finds nothing, the next event often follows within microseconds (the reply
//! to what a handler just wrote). Handing back means the loop thread takes that event and wakes
//! JS through the threadsafe function: two thread switches where `node:net` makes one. So JS first
//! waits a moment on a poll that holds both the sockets' poll and the host's (Node's own libuv
//! poll): it sleeps in the kernel (no spinning), and stops waiting the moment Node has anything
//! else to do, so timers and other I/O are never held up by it.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::ptr;
use std::time::Duration;

/// How long JS waits at most for the next event before handing back.
pub const LINGER: Duration = Duration::from_micros(500);

/// The longer wait allowed once `LINGER_STREAK` waits in a row were answered by an event within
/// `LINGER` (a stream, a busy ping-pong): the next event is then likely to come soon again, and a
/// short timeout cost about a fifth more CPU per streamed MB, as every wait armed a timer due soon
/// (measured on a KVM guest: one connection uploading, 365 us/MB with 500 us waits, 290 with 5 ms
/// ones). Node counts a wait as busy time in its event loop utilization, so traffic with gaps
/// must keep the short one: the first wait that an event does not answer within `LINGER` ends
/// the streak, and a pair or a small burst of messages between gaps is too short to earn it.
pub const LINGER_BUSY: Duration = Duration::from_millis(5);

/// Quick answers in a row that earn `LINGER_BUSY`.
pub const LINGER_STREAK: u32 = 8;

const SOCKETS: u64 = 0;
const HOST: u64 = 1;

/// The host event loop, as far as lingering needs it.
pub trait HostLoop {
  /// How long the host would sleep if it polled now: `None` for no limit, zero when it has work.
  fn sleep_limit(&self) -> Option<Duration>;

  /// Brings the host's clock up to now (it stands still while JS lingers), so that its sleep
  /// limit, and its own timeout after the linger, count from the present.
  fn update_clock(&self) {}
}

pub struct Linger {
  /// Level-triggered: the sockets' poll (`SOCKETS`) and the host's (`HOST`).
  epoll: OwnedFd,
  host: Box<dyn HostLoop>,
}

impl Linger {
  pub fn new(sockets: RawFd, host_fd: RawFd, host: Box<dyn HostLoop>) -> io::Result<Linger> {
    // SAFETY: plain syscall; the result is checked before it is owned.
    let fd = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    if fd < 0 {
      return Err(io::Error::last_os_error());
    }
    // SAFETY: `fd` is a fresh descriptor that nothing else owns.
    let epoll = unsafe { OwnedFd::from_raw_fd(fd) };
    for (source, token) in [(sockets, SOCKETS), (host_fd, HOST)] {
      let mut event = libc::epoll_event {
        events: libc::EPOLLIN as u32,
        u64: token,
      };
      // SAFETY: valid descriptors and event; the kernel copies the event.
      if unsafe { libc::epoll_ctl(fd, libc::EPOLL_CTL_ADD, source, &mut event) } < 0 {
        return Err(io::Error::last_os_error());
      }
    }
    Ok(Linger { epoll, host })
  }

  /// How long a wait may last now: within `left`, and not past the host's next deadline.
  pub(super) fn limit(&self, left: Duration) -> Duration {
    self.host.update_clock();
    self.host.sleep_limit().map_or(left, |host| host.min(left))
  }

  /// Whether the host has work waiting now (it would not sleep at all).
  pub fn host_busy(&self) -> bool {
    self.host.sleep_limit() == Some(Duration::ZERO)
  }

  /// Waits up to `timeout` (rounded up to whole milliseconds on kernels before 5.11). True when
  /// the sockets have events; false on timeout, or at once when the host has work.
  pub(super) fn wait(&self, timeout: Duration) -> bool {
    let mut events = [libc::epoll_event { events: 0, u64: 0 }; 2];
    let ts = libc::timespec {
      tv_sec: timeout.as_secs() as libc::time_t,
      tv_nsec: timeout.subsec_nanos() as libc::c_long,
    };
    let fd = self.epoll.as_raw_fd();
    // SAFETY: `events` has room for 2 events; `ts` outlives the call; no signal mask.
    let mut n = unsafe {
      libc::syscall(
        libc::SYS_epoll_pwait2,
        fd,
        events.as_mut_ptr(),
        2,
        &ts as *const libc::timespec,
        ptr::null::<libc::sigset_t>(),
        0,
      )
    } as i32;
    if n < 0 && io::Error::last_os_error().raw_os_error() == Some(libc::ENOSYS) {
      let ms = timeout.as_nanos().div_ceil(1_000_000).min(i32::MAX as u128) as i32;
      // SAFETY: as above.
      n = unsafe { libc::epoll_wait(fd, events.as_mut_ptr(), 2, ms) };
    }
    // The host's clock stood still while we waited: bring it up to now for its own timeout.
    self.host.update_clock();
    n > 0 && events[..n as usize].iter().any(|e| e.u64 == SOCKETS)
  }
}
