//! Loop → JS: the threadsafe function and the one place that calls into JS.
//!
//! The loop thread calls the threadsafe function only when JS has not yet been told about waiting
//! events; `call_js` then takes every event queued so far and makes a single call into the JS
//! dispatcher with them: `dispatch(events: Int32Array, count, data?: Buffer, tlsErrors?: string[],
//! base)`, where `events` is one array for the environment's life and its first `count` words are
//! this batch's, and the batch's bytes start at `data[base]`.

use std::ffi::c_void;
use std::ptr;
use std::sync::Arc;

use napi::{sys, Env, Error, Result, Status};

use crate::arena::{Arenas, HAND_OVER_MIN};
use crate::batch::EVENT_WORDS;
use crate::env_state::{EnvState, EventsArray};
use crate::reactor::{Command, Notify};
use crate::read_pool::{ReadPool, POOL_MAX_BATCH};

/// Wakes the JS thread of one environment.
pub struct TsfnNotify(usize);

impl Notify for TsfnNotify {
  fn notify(&self) {
    // SAFETY: the function lives until the environment's cleanup hook has stopped the loop thread,
    // the only caller, and is never released by us.
    unsafe {
      sys::napi_call_threadsafe_function(
        self.0 as sys::napi_threadsafe_function,
        ptr::null_mut(),
        sys::ThreadsafeFunctionCallMode::nonblocking,
      );
    }
  }
}

impl TsfnNotify {
  pub fn new(tsfn: sys::napi_threadsafe_function) -> Arc<Self> {
    Arc::new(TsfnNotify(tsfn as usize))
  }
}

/// A Node-API status as a `Result`, naming the call that failed.
pub(crate) fn check(status: sys::napi_status, what: &str) -> Result<()> {
  if status == sys::Status::napi_ok {
    Ok(())
  } else {
    Err(Error::new(
      Status::from(status),
      format!("node-bun-tcp: {what} failed"),
    ))
  }
}

/// Creates the environment's threadsafe function around the JS dispatcher. It starts unref'd:
/// `set_ref` refs it while something the user holds is ref'd.
pub fn create_tsfn(
  env: &Env,
  dispatcher: sys::napi_value,
) -> Result<sys::napi_threadsafe_function> {
  let raw = env.raw();
  let name = utf8(env, "node-bun-tcp")?;
  let mut tsfn = ptr::null_mut();
  // SAFETY: plain Node-API calls on the JS thread with valid out-pointers.
  unsafe {
    check(
      sys::napi_create_threadsafe_function(
        raw,
        dispatcher,
        ptr::null_mut(),
        name,
        0,
        1,
        ptr::null_mut(),
        None,
        ptr::null_mut(),
        Some(call_js),
        &mut tsfn,
      ),
      "napi_create_threadsafe_function",
    )?;
    check(
      sys::napi_unref_threadsafe_function(raw, tsfn),
      "napi_unref_threadsafe_function",
    )?;
  }
  Ok(tsfn)
}

/// Refs or unrefs the environment's threadsafe function: whether the process stays alive for us.
pub fn set_ref(env: &Env, state: &EnvState, on: bool) -> Result<()> {
  // SAFETY: JS thread, the function is alive for as long as the environment.
  let status = unsafe {
    if on {
      sys::napi_ref_threadsafe_function(env.raw(), state.tsfn)
    } else {
      sys::napi_unref_threadsafe_function(env.raw(), state.tsfn)
    }
  };
  check(status, "napi_ref_threadsafe_function")
}

unsafe extern "C" fn call_js(
  env: sys::napi_env,
  js_cb: sys::napi_value,
  _ctx: *mut c_void,
  _data: *mut c_void,
) {
  if env.is_null() || js_cb.is_null() {
    return; // the environment is being torn down
  }
  let env = Env::from_raw(env);
  // JS's wake-up handler pumps: `binding.poll(dispatch)` until it returns false.
  let mut undef = ptr::null_mut();
  let mut result = ptr::null_mut();
  // SAFETY: JS thread of `env`; `js_cb` is the function the threadsafe function was made with.
  unsafe {
    sys::napi_get_undefined(env.raw(), &mut undef);
    if sys::napi_call_function(env.raw(), undef, js_cb, 0, ptr::null(), &mut result)
      == sys::Status::napi_pending_exception
    {
      let mut err = ptr::null_mut();
      sys::napi_get_and_clear_last_exception(env.raw(), &mut err);
      sys::napi_fatal_exception(env.raw(), err);
    }
  }
}

/// Takes every waiting event and makes one call into the JS dispatcher with them. Returns true
/// when more events are already waiting: JS calls again after the rest of its event loop had a
/// turn (from `setImmediate`), so a busy socket layer never starves Node's timers and I/O.
pub fn poll(env: &Env, js_cb: sys::napi_value) -> Result<bool> {
  dispatch(env, js_cb)?;
  let state = EnvState::get(env)?;
  Ok(state.shared.finish(state.lingers))
}

fn dispatch(env: &Env, js_cb: sys::napi_value) -> Result<()> {
  let args = {
    let state = EnvState::get(env)?;
    if state.shared.take(&mut state.inbox) {
      state.send(Command::Resume);
    }
    let opened = std::mem::take(&mut state.inbox.opened);
    for core in opened {
      state.insert_socket(core);
    }
    if state.inbox.is_empty() {
      state.flush_deferred();
      return Ok(());
    }
    let events = events_array(env, state)?;
    let count = uint32(env, state.inbox.events.len())?;
    // Events give their bytes' offsets in the batch; `base` is where the batch starts in `data`.
    let (data, base) = if state.inbox.data.is_empty() {
      (undefined(env)?, 0)
    } else if state.inbox.data.len() <= POOL_MAX_BATCH {
      let untransferable = state.untransferable;
      ReadPool::append(&mut state.read_pool, env, untransferable, &state.inbox.data)?
    } else if state.inbox.data.len() >= HAND_OVER_MIN {
      let arena = std::mem::replace(&mut state.inbox.data, state.shared.arenas.take());
      (hand_over(env, arena, &state.shared.arenas)?, 0)
    } else {
      (buffer_copy(env, &state.inbox.data)?, 0)
    };
    let base = uint32(env, base)?;
    let errors = if state.inbox.errors.is_empty() {
      undefined(env)?
    } else {
      error_list(env, &state.inbox.errors)?
    };
    state.inbox.clear();
    if state.inbox.data.capacity() > 4 << 20 {
      state.inbox.data.shrink_to(256 << 10);
    }
    state.in_dispatch = true;
    [events, count, data, errors, base]
  };
  // No reference into the state is held across the call: handlers re-enter the addon.
  let mut undef = ptr::null_mut();
  let mut result = ptr::null_mut();
  // SAFETY: JS thread; `args` are live values of this handle scope.
  let status = unsafe {
    sys::napi_get_undefined(env.raw(), &mut undef);
    sys::napi_call_function(
      env.raw(),
      undef,
      js_cb,
      args.len(),
      args.as_ptr(),
      &mut result,
    )
  };
  if status == sys::Status::napi_pending_exception {
    // The JS dispatcher catches handler errors itself; anything left is a bug to surface loudly.
    let mut err = ptr::null_mut();
    // SAFETY: JS thread, an exception is pending.
    unsafe {
      sys::napi_get_and_clear_last_exception(env.raw(), &mut err);
      sys::napi_fatal_exception(env.raw(), err);
    }
  }
  let state = EnvState::get(env)?;
  state.in_dispatch = false;
  state.flush_deferred();
  Ok(())
}

/// A JS string of `text`.
pub fn utf8(env: &Env, text: &str) -> Result<sys::napi_value> {
  let mut value = ptr::null_mut();
  // SAFETY: JS thread; `text` is valid for its length; valid out-pointer.
  check(
    unsafe {
      sys::napi_create_string_utf8(
        env.raw(),
        text.as_ptr().cast(),
        text.len() as isize,
        &mut value,
      )
    },
    "napi_create_string_utf8",
  )?;
  Ok(value)
}

/// A strong reference to `value`, for the environment's life.
pub fn keep(env: &Env, value: sys::napi_value) -> Result<sys::napi_ref> {
  let mut reference = ptr::null_mut();
  // SAFETY: JS thread; `value` is live in the current scope; valid out-pointer.
  check(
    unsafe { sys::napi_create_reference(env.raw(), value, 1, &mut reference) },
    "napi_create_reference",
  )?;
  Ok(reference)
}

/// `[code, message, code, message, ...]` for the TLS errors events refer to by index.
fn error_list(env: &Env, errors: &[(String, String)]) -> Result<sys::napi_value> {
  let mut array = ptr::null_mut();
  // SAFETY: JS thread; every value created is stored into `array` at once.
  unsafe {
    check(
      sys::napi_create_array_with_length(env.raw(), errors.len() * 2, &mut array),
      "napi_create_array_with_length",
    )?;
    for (i, (code, message)) in errors.iter().enumerate() {
      for (j, text) in [code, message].into_iter().enumerate() {
        let value = utf8(env, text)?;
        check(
          sys::napi_set_element(env.raw(), array, (i * 2 + j) as u32, value),
          "napi_set_element",
        )?;
      }
    }
  }
  Ok(array)
}

fn undefined(env: &Env) -> Result<sys::napi_value> {
  let mut v = ptr::null_mut();
  // SAFETY: JS thread, valid out-pointer.
  check(
    unsafe { sys::napi_get_undefined(env.raw(), &mut v) },
    "napi_get_undefined",
  )?;
  Ok(v)
}

/// The environment's events array, holding this batch's events (grown when too small).
fn events_array(env: &Env, state: &mut EnvState) -> Result<sys::napi_value> {
  let words = &state.inbox.events;
  debug_assert_eq!(words.len() % EVENT_WORDS, 0);
  if state
    .events
    .as_ref()
    .is_none_or(|e| e.capacity < words.len())
  {
    let capacity = words.len().max(4096).next_power_of_two();
    let fresh = new_events_array(env, capacity)?;
    if let Some(old) = state.events.replace(fresh) {
      // SAFETY: JS thread; the reference is ours and not used again.
      unsafe { sys::napi_delete_reference(env.raw(), old.array) };
    }
  }
  let Some(events) = state.events.as_ref() else {
    return Err(Error::from_reason("node-bun-tcp: no events array"));
  };
  // SAFETY: `events.words` is the live backing store of the referenced array (it cannot be
  // detached: only the dispatcher sees it), with room for `capacity >= words.len()` words.
  unsafe { ptr::copy_nonoverlapping(words.as_ptr(), events.words, words.len()) };
  let mut value = ptr::null_mut();
  // SAFETY: JS thread; a strong reference to a live array.
  check(
    unsafe { sys::napi_get_reference_value(env.raw(), events.array, &mut value) },
    "napi_get_reference_value",
  )?;
  Ok(value)
}

fn new_events_array(env: &Env, capacity: usize) -> Result<EventsArray> {
  let bytes = capacity * std::mem::size_of::<i32>();
  let mut data: *mut c_void = ptr::null_mut();
  let mut ab = ptr::null_mut();
  let mut ta = ptr::null_mut();
  // SAFETY: JS thread, valid out-pointers; the reference below keeps the array (and its memory)
  // alive.
  unsafe {
    check(
      sys::napi_create_arraybuffer(env.raw(), bytes, &mut data, &mut ab),
      "napi_create_arraybuffer",
    )?;
    check(
      sys::napi_create_typedarray(
        env.raw(),
        sys::TypedarrayType::int32_array,
        capacity,
        ab,
        0,
        &mut ta,
      ),
      "napi_create_typedarray",
    )?;
  }
  let array = keep(env, ta)?;
  Ok(EventsArray {
    array,
    words: data.cast(),
    capacity,
  })
}

fn uint32(env: &Env, value: usize) -> Result<sys::napi_value> {
  let mut out = ptr::null_mut();
  // SAFETY: JS thread, valid out-pointer.
  check(
    unsafe { sys::napi_create_uint32(env.raw(), value as u32, &mut out) },
    "napi_create_uint32",
  )?;
  Ok(out)
}

/// A JS number of `value`.
pub(crate) fn int32(env: &Env, value: i32) -> Result<sys::napi_value> {
  let mut out = ptr::null_mut();
  // SAFETY: JS thread, valid out-pointer.
  check(
    unsafe { sys::napi_create_int32(env.raw(), value, &mut out) },
    "napi_create_int32",
  )?;
  Ok(out)
}

/// JS `true` or `false`.
pub(crate) fn boolean(env: &Env, value: bool) -> Result<sys::napi_value> {
  let mut out = ptr::null_mut();
  // SAFETY: JS thread, valid out-pointer; gets a singleton of `env`.
  check(
    unsafe { sys::napi_get_boolean(env.raw(), value, &mut out) },
    "napi_get_boolean",
  )?;
  Ok(out)
}

fn buffer_copy(env: &Env, bytes: &[u8]) -> Result<sys::napi_value> {
  let mut out = ptr::null_mut();
  let mut buf = ptr::null_mut();
  // SAFETY: `bytes` is valid for its length; Node copies it into a new Buffer.
  check(
    unsafe {
      sys::napi_create_buffer_copy(
        env.raw(),
        bytes.len(),
        bytes.as_ptr().cast(),
        &mut out,
        &mut buf,
      )
    },
    "napi_create_buffer_copy",
  )?;
  Ok(buf)
}

/// The arena becomes the Buffer's memory; the finalizer gives it back to `arenas`.
fn hand_over(env: &Env, mut arena: Vec<u8>, arenas: &Arc<Arenas>) -> Result<sys::napi_value> {
  let len = arena.len();
  let ptr = arena.as_mut_ptr();
  let hint = Box::into_raw(Box::new((arena, arenas.clone())));
  let mut buf = ptr::null_mut();
  // SAFETY: `ptr` points at `len` initialised bytes owned by the boxed arena, which stays put (a
  // Vec's heap block does not move with the Vec) until `finalize` takes the box back.
  let status = unsafe {
    sys::napi_create_external_buffer(
      env.raw(),
      len,
      ptr.cast(),
      Some(finalize),
      hint.cast(),
      &mut buf,
    )
  };
  if status == sys::Status::napi_ok {
    let_young_gc_see_external_bytes(env);
    return Ok(buf);
  }
  // SAFETY: Node did not take the hint; it is still ours alone.
  let (arena, arenas) = *unsafe { Box::from_raw(hint) };
  // Runtimes that forbid external buffers (a V8 sandbox) get the copy.
  let copied = buffer_copy(env, &arena);
  arenas.give(arena);
  copied
}

/// V8 counts an external Buffer's bytes as external memory but, unlike the bytes of a Buffer it
/// allocates itself, never checks them when one is made. Unchecked, a stream of handed-over
/// arenas only ever meets the external-memory limit, which V8 answers with a full mark-compact
/// (streaming: 18 a second, a tenth of the server's CPU). A one-byte ArrayBuffer of V8's own
/// makes V8 look: once young ArrayBuffers hold enough bytes it runs a scavenge, which frees the
/// arenas JS has dropped, as it does for `node:net`'s read buffers. A failure only skips the look.
fn let_young_gc_see_external_bytes(env: &Env) {
  let mut probe = ptr::null_mut();
  let mut data = ptr::null_mut();
  // SAFETY: JS thread, valid env; the ArrayBuffer is garbage as soon as this returns.
  unsafe { sys::napi_create_arraybuffer(env.raw(), 1, &mut data, &mut probe) };
}

unsafe extern "C" fn finalize(_env: sys::napi_env, _data: *mut c_void, hint: *mut c_void) {
  // SAFETY: `hint` is the box `hand_over` leaked for this Buffer; Node finalizes it once.
  let (arena, arenas) = *unsafe { Box::from_raw(hint.cast::<(Vec<u8>, Arc<Arenas>)>()) };
  arenas.give(arena);
}
