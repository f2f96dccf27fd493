//! The calls JS makes once per message or batch (`write`, `writeString`, `poll`), as plain
//! Node-API callbacks. napi-rs's generated wrapper gives every call with arguments a borrow scope
//! (an `Arc<Mutex<..>>` allocated, locked and pushed on thread-locals) that these calls never use:
//! they borrow nothing past their return. The rest of the API keeps the generated wrappers.

use std::ffi::{c_char, c_void, CStr};
use std::mem::MaybeUninit;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::ptr;

use napi::bindgen_prelude::Object;
use napi::JsValue;
use napi::{sys, Env, Error, JsError, Result, Status};
use napi_derive::napi;

use super::socket;
use crate::dispatch::{self, boolean, check, int32};

type Callback = unsafe extern "C" fn(sys::napi_env, sys::napi_callback_info) -> sys::napi_value;

/// Adds the raw calls to the addon's exports, beside the generated ones.
#[napi(module_exports)]
pub fn register_raw_calls(exports: Object, env: Env) -> Result<()> {
  let calls: [(&CStr, Callback); 3] = [
    (c"write", write),
    (c"writeString", write_string),
    (c"poll", poll),
  ];
  for (name, call) in calls {
    let mut function = ptr::null_mut();
    // SAFETY: `env` is the live env of this module's init; the name outlives the call.
    let status = unsafe {
      sys::napi_create_function(
        env.raw(),
        name.as_ptr(),
        name.to_bytes().len() as isize,
        Some(call),
        ptr::null_mut(),
        &mut function,
      )
    };
    check(status, "napi_create_function")?;
    // SAFETY: `exports` and `function` are values of `env`; the name is NUL-terminated.
    let status =
      unsafe { sys::napi_set_named_property(env.raw(), exports.raw(), name.as_ptr(), function) };
    check(status, "napi_set_named_property")?;
  }
  Ok(())
}

/// Runs `body` with the call's first `N` arguments (missing ones are `undefined`) and converts its
/// result; an error, or a panic, becomes a thrown JS error instead of crossing into Node.
unsafe fn call<const N: usize>(
  env: sys::napi_env,
  info: sys::napi_callback_info,
  body: impl FnOnce(&Env, [sys::napi_value; N]) -> Result<sys::napi_value>,
) -> sys::napi_value {
  let outcome = catch_unwind(AssertUnwindSafe(|| {
    let mut argc = N;
    let mut argv = [ptr::null_mut(); N];
    // SAFETY: `argv` has room for `argc` values; `info` is this call's.
    let status = unsafe {
      sys::napi_get_cb_info(
        env,
        info,
        &mut argc,
        argv.as_mut_ptr(),
        ptr::null_mut(),
        ptr::null_mut(),
      )
    };
    check(status, "napi_get_cb_info")?;
    body(&Env::from_raw(env), argv)
  }));
  let err = match outcome {
    Ok(Ok(value)) => return value,
    Ok(Err(err)) => err,
    Err(_) => Error::new(
      Status::GenericFailure,
      "node-bun-tcp: internal error (panic) in a socket call".to_string(),
    ),
  };
  // SAFETY: JS thread of `env`, inside a callback: throwing is allowed.
  unsafe { JsError::from(err).throw_into(env) };
  ptr::null_mut()
}

fn u32_arg(env: &Env, value: sys::napi_value) -> Result<u32> {
  let mut out = 0;
  // SAFETY: plain value read; a non-number is reported by the status.
  check(
    unsafe { sys::napi_get_value_uint32(env.raw(), value, &mut out) },
    "napi_get_value_uint32",
  )?;
  Ok(out)
}

/// `write(id, view, offset, length)`: see `socket::write_bytes`.
unsafe extern "C" fn write(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: called by Node as a function callback of `env`.
  unsafe { call::<4>(env, info, write_args) }
}

fn write_args(
  env: &Env,
  [id, view, offset, length]: [sys::napi_value; 4],
) -> Result<sys::napi_value> {
  let mut data: *mut c_void = ptr::null_mut();
  let mut len = 0usize;
  // SAFETY: `view` is a Uint8Array/Buffer argument (lib/socket.js); anything else fails.
  check(
    unsafe { sys::napi_get_buffer_info(env.raw(), view, &mut data, &mut len) },
    "napi_get_buffer_info",
  )?;
  let bytes: &[u8] = if len == 0 || data.is_null() {
    &[]
  } else {
    // SAFETY: Node gives the view's memory, valid and unmoved for this synchronous call.
    unsafe { std::slice::from_raw_parts(data.cast::<u8>(), len) }
  };
  let n = socket::write_bytes(
    env,
    u32_arg(env, id)?,
    bytes,
    u32_arg(env, offset)?,
    u32_arg(env, length)?,
  )?;
  int32(env, n)
}

/// Strings up to this many UTF-8 bytes are copied out on the stack, with no length query first.
const STACK_STRING: usize = 4096;
/// Node stops copying before a character that does not fit whole: a copy that left at least this
/// much room (the longest UTF-8 character) was not cut short.
const MAX_CHAR: usize = 4;

/// `writeString(id, string)`: the whole string as UTF-8.
unsafe extern "C" fn write_string(
  env: sys::napi_env,
  info: sys::napi_callback_info,
) -> sys::napi_value {
  // SAFETY: called by Node as a function callback of `env`.
  unsafe { call::<2>(env, info, write_string_args) }
}

fn write_string_args(env: &Env, [id, string]: [sys::napi_value; 2]) -> Result<sys::napi_value> {
  let id = u32_arg(env, id)?;
  let mut stack = [MaybeUninit::<u8>::uninit(); STACK_STRING + 1];
  let utf8 = copy_utf8(env, string, &mut stack)?;
  let n = if utf8.len() + MAX_CHAR <= STACK_STRING {
    socket::write_str_bytes(env, id, utf8)?
  } else {
    // Possibly cut short: copy it whole, into a buffer of its size.
    let mut heap = vec![MaybeUninit::<u8>::uninit(); utf8_len(env, string)? + 1];
    socket::write_str_bytes(env, id, copy_utf8(env, string, &mut heap)?)?
  };
  int32(env, n)
}

/// Copies as much of `string`'s UTF-8 as fits in `buf` (which also takes Node's NUL) and returns
/// it; Node copies whole characters only.
fn copy_utf8<'a>(
  env: &Env,
  string: sys::napi_value,
  buf: &'a mut [MaybeUninit<u8>],
) -> Result<&'a [u8]> {
  let mut copied = 0usize;
  // SAFETY: `buf` has room for `buf.len()` bytes; Node only writes into it.
  check(
    unsafe {
      sys::napi_get_value_string_utf8(
        env.raw(),
        string,
        buf.as_mut_ptr().cast::<c_char>(),
        buf.len(),
        &mut copied,
      )
    },
    "napi_get_value_string_utf8",
  )?;
  // SAFETY: Node wrote the first `copied` bytes of `buf` (fewer than its length).
  Ok(unsafe { std::slice::from_raw_parts(buf.as_ptr().cast::<u8>(), copied) })
}

/// The length of `string` in UTF-8.
fn utf8_len(env: &Env, string: sys::napi_value) -> Result<usize> {
  let mut len = 0usize;
  // SAFETY: a null buffer asks for the length only.
  check(
    unsafe { sys::napi_get_value_string_utf8(env.raw(), string, ptr::null_mut(), 0, &mut len) },
    "napi_get_value_string_utf8",
  )?;
  Ok(len)
}

/// `poll(dispatcher)`: see `dispatch::poll`.
unsafe extern "C" fn poll(env: sys::napi_env, info: sys::napi_callback_info) -> sys::napi_value {
  // SAFETY: called by Node as a function callback of `env`.
  unsafe { call::<1>(env, info, poll_args) }
}

fn poll_args(env: &Env, [dispatcher]: [sys::napi_value; 1]) -> Result<sys::napi_value> {
  boolean(env, dispatch::poll(env, dispatcher)?)
}
