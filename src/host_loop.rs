//! Node's own event loop (libuv), as far as the JS thread's linger needs it (reactor/linger.rs):
//! a prepare handle, which libuv runs each time right before it would sleep (after every callback
//! and microtask of the turn), its poll descriptor, and how long it would sleep. All come from
//! libuv functions that Node exports; a runtime without them simply does not linger.

use std::alloc::{alloc_zeroed, dealloc, Layout};
use std::ffi::{c_int, c_void, CStr};
use std::ptr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use napi::{sys, Env};

use crate::dispatch::TsfnNotify;
use crate::reactor::{HostLoop, Linger, Notify, Shared};

type LoopFn = unsafe extern "C" fn(*const c_void) -> c_int;

type UpdateTimeFn = unsafe extern "C" fn(*const c_void);

struct UvLoop {
  handle: *const c_void,
  backend_timeout: LoopFn,
  update_time: UpdateTimeFn,
}

impl HostLoop for UvLoop {
  fn sleep_limit(&self) -> Option<Duration> {
    // SAFETY: `handle` is this environment's live loop (we are on its thread, inside one of its
    // callbacks); `uv_backend_timeout` only reads it.
    let ms = unsafe { (self.backend_timeout)(self.handle) };
    u64::try_from(ms).ok().map(Duration::from_millis)
  }

  fn update_clock(&self) {
    // SAFETY: as above; `uv_update_time` only sets the loop's cached time.
    unsafe { (self.update_time)(self.handle) };
  }
}

/// How long one prepare callback may keep dispatching what its lingers found.
const PREPARE_BUDGET: Duration = Duration::from_millis(1);

/// libuv's `UV_PREPARE` handle type.
const UV_PREPARE: c_int = 9;

type PrepareCb = unsafe extern "C" fn(*mut c_void);
type CloseCb = unsafe extern "C" fn(*mut c_void);

/// What the prepare handle's callback works with; its `data` pointer.
struct Prepare {
  shared: Arc<Shared>,
  linger: Linger,
  /// JS's wake-up function (`pump`), called straight from the prepare callback when the linger
  /// found events, as `MakeCallback` calls it (microtasks run after it).
  env: sys::napi_env,
  pump: sys::napi_ref,
  context: sys::napi_async_context,
  /// The threadsafe function, should that call not be possible.
  notify: Arc<TsfnNotify>,
  /// The handle's memory, `size` bytes (libuv's own size for it), freed after it closed.
  size: usize,
}

/// Starts lingering for this environment: a prepare handle on its loop (unref'd: it never keeps
/// the process alive), closed by an environment cleanup hook. False where libuv is out of reach.
pub fn install_linger(
  env: &Env,
  shared: &Arc<Shared>,
  tsfn: sys::napi_threadsafe_function,
  pump: sys::napi_value,
) -> bool {
  try_install(env, shared, tsfn, pump).is_some()
}

fn try_install(
  env: &Env,
  shared: &Arc<Shared>,
  tsfn: sys::napi_threadsafe_function,
  pump: sys::napi_value,
) -> Option<()> {
  let mut handle = ptr::null_mut();
  // SAFETY: JS thread; valid out-pointer.
  let status = unsafe { sys::napi_get_uv_event_loop(env.raw(), &mut handle) };
  if status != sys::Status::napi_ok || handle.is_null() {
    return None;
  }
  let uv_loop = handle as *mut c_void;
  let backend_fd: LoopFn = symbol(c"uv_backend_fd")?;
  let backend_timeout: LoopFn = symbol(c"uv_backend_timeout")?;
  let update_time: UpdateTimeFn = symbol(c"uv_update_time")?;
  let handle_size: unsafe extern "C" fn(c_int) -> usize = symbol(c"uv_handle_size")?;
  let prepare_init: unsafe extern "C" fn(*mut c_void, *mut c_void) -> c_int =
    symbol(c"uv_prepare_init")?;
  let prepare_start: unsafe extern "C" fn(*mut c_void, PrepareCb) -> c_int =
    symbol(c"uv_prepare_start")?;
  let unref: unsafe extern "C" fn(*mut c_void) = symbol(c"uv_unref")?;
  let close: unsafe extern "C" fn(*mut c_void, CloseCb) = symbol(c"uv_close")?;
  // SAFETY: a live loop; these only read it.
  let (fd, size) = unsafe { (backend_fd(uv_loop), handle_size(UV_PREPARE)) };
  if fd < 0 || size < std::mem::size_of::<*mut c_void>() {
    return None;
  }
  let host = UvLoop {
    handle: uv_loop,
    backend_timeout,
    update_time,
  };
  let linger = shared.new_linger(fd, Box::new(host)).ok()?;
  let pump = crate::dispatch::keep(env, pump).ok()?;
  let context = async_context(env)?;
  let layout = Layout::from_size_align(size, 16).ok()?;
  // SAFETY: a non-zero size.
  let memory = unsafe { alloc_zeroed(layout) } as *mut c_void;
  if memory.is_null() {
    return None;
  }
  let data = Box::into_raw(Box::new(Prepare {
    shared: shared.clone(),
    linger,
    env: env.raw(),
    pump,
    context,
    notify: TsfnNotify::new(tsfn),
    size,
  }));
  // SAFETY: `memory` is `size` bytes for a uv_prepare_t on this thread's loop, which libuv owns
  // from init until it calls `on_close`.
  if unsafe { prepare_init(uv_loop, memory) } != 0 {
    // SAFETY: libuv holds no reference to a handle whose init failed.
    unsafe {
      drop(Box::from_raw(data));
      dealloc(memory.cast(), layout);
    }
    return None;
  }
  // SAFETY: the first field of every libuv handle is its `void* data`, which init leaves alone.
  unsafe { *(memory as *mut *mut Prepare) = data };
  // SAFETY: an initialised handle; a handle that did not start is closed like any other.
  if unsafe { prepare_start(memory, on_prepare) } != 0 {
    // SAFETY: an initialised handle, closed once; `on_close` frees it and `data`.
    unsafe { close(memory, on_close) };
    return None;
  }
  // SAFETY: a started handle of this loop.
  unsafe { unref(memory) };
  let handle = memory as usize;
  let closed = env.add_env_cleanup_hook(handle, move |handle| {
    // SAFETY: the handle is open; after `uv_close` libuv never runs its callback again, and
    // calls `on_close` once, from the loop's teardown.
    unsafe { close(handle as *mut c_void, on_close) };
  });
  closed.is_ok().then_some(())
}

unsafe extern "C" fn on_prepare(handle: *mut c_void) {
  // SAFETY: `data` is the `Prepare` set at install, alive until `on_close`.
  let prepare = unsafe { &**(handle as *mut *mut Prepare) };
  // A panic must not unwind into libuv; the worst it costs is this one linger.
  let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
    // Each event the linger finds is dispatched from here; JS then lingers again (libuv will not
    // run this callback again before it sleeps), while Node has nothing else to do and up to a
    // budget, so that Node's timers (whose clock stands still meanwhile) are never late by more.
    let until = Instant::now() + PREPARE_BUDGET;
    while prepare.shared.linger(&prepare.linger) {
      // SAFETY: the JS thread of `prepare.env`, outside any JS call, as MakeCallback expects.
      let yield_now = Instant::now() >= until || prepare.linger.host_busy();
      if yield_now || !unsafe { prepare.call_pump() } {
        // JS holds the baton with a batch waiting: libuv's poll returns at once for it, after
        // what else Node has to do.
        prepare.notify.notify();
        return;
      }
    }
  }));
}

impl Prepare {
  /// Calls `pump` in a handle scope, as Node calls JS from its own event loop (microtasks and
  /// ticks run after it). False when it could not be called.
  ///
  /// # Safety
  /// On the JS thread of `env`, outside any call into JS.
  unsafe fn call_pump(&self) -> bool {
    let env = self.env;
    let mut scope = ptr::null_mut();
    // SAFETY: the caller's contract; valid out-pointers; the scope is closed below.
    unsafe {
      if sys::napi_open_handle_scope(env, &mut scope) != sys::Status::napi_ok {
        return false;
      }
      let (mut pump, mut recv, mut result) = (ptr::null_mut(), ptr::null_mut(), ptr::null_mut());
      let mut called = false;
      if sys::napi_get_reference_value(env, self.pump, &mut pump) == sys::Status::napi_ok
        && !pump.is_null()
        && sys::napi_get_global(env, &mut recv) == sys::Status::napi_ok
      {
        let status =
          sys::napi_make_callback(env, self.context, recv, pump, 0, ptr::null(), &mut result);
        if status == sys::Status::napi_pending_exception {
          let mut err = ptr::null_mut();
          sys::napi_get_and_clear_last_exception(env, &mut err);
          sys::napi_fatal_exception(env, err);
        }
        called = status == sys::Status::napi_ok || status == sys::Status::napi_pending_exception;
      }
      sys::napi_close_handle_scope(env, scope);
      called
    }
  }
}

/// The async context `pump` is called in from the prepare callback.
fn async_context(env: &Env) -> Option<sys::napi_async_context> {
  let label = crate::dispatch::utf8(env, "node-bun-tcp linger").ok()?;
  let mut context = ptr::null_mut();
  // SAFETY: JS thread; valid out-pointer; no resource object (Node makes one).
  let status = unsafe { sys::napi_async_init(env.raw(), ptr::null_mut(), label, &mut context) };
  (status == sys::Status::napi_ok).then_some(context)
}

unsafe extern "C" fn on_close(handle: *mut c_void) {
  // SAFETY: as in `on_prepare`; this is the last use of the handle and its data.
  unsafe {
    let data = Box::from_raw(*(handle as *mut *mut Prepare));
    if let Ok(layout) = Layout::from_size_align(data.size, 16) {
      dealloc(handle.cast(), layout);
    }
  }
}

/// A libuv function of the host process, as the function pointer type `F` of its C signature.
fn symbol<F: Copy>(name: &CStr) -> Option<F> {
  debug_assert_eq!(std::mem::size_of::<F>(), std::mem::size_of::<*mut c_void>());
  // SAFETY: dlsym with a NUL-terminated name; RTLD_DEFAULT searches the process's global scope.
  let f = unsafe { libc::dlsym(libc::RTLD_DEFAULT, name.as_ptr()) };
  if f.is_null() {
    return None;
  }
  // SAFETY: every caller names `F` as the libuv function's documented C signature.
  Some(unsafe { std::mem::transmute_copy::<*mut c_void, F>(&f) })
}
