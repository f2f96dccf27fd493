use napi::bindgen_prelude::Unknown;
use napi::{sys, Env, JsValue, Result};
use napi_derive::napi;

use crate::dispatch::{self, TsfnNotify};
use crate::env_state::EnvState;
use crate::host_loop;
use crate::reactor;

/// Starts this environment's loop thread, which calls `on_wake` when events wait; `on_wake` then
/// calls `poll`. `untransferable` is worker_threads' `markAsUntransferable`, for the read pools.
/// Idempotent per environment. Returns 0, or the negative errno of a system failure (out of file
/// descriptors for the loop's poll), which JS reports as the `listen`/`connect` that needed it.
#[napi]
pub fn init(env: Env, on_wake: Unknown, untransferable: Unknown) -> Result<i32> {
  if EnvState::installed(&env) {
    return Ok(0);
  }
  let tsfn = dispatch::create_tsfn(&env, on_wake.raw())?;
  let shared = match reactor::start(TsfnNotify::new(tsfn)) {
    Ok(shared) => shared,
    Err(e) => {
      // SAFETY: JS thread; nothing else holds this function (no loop thread was started), and it
      // is not used again: the next `init` makes its own.
      unsafe {
        sys::napi_release_threadsafe_function(tsfn, sys::ThreadsafeFunctionReleaseMode::abort)
      };
      return Ok(crate::errors::neg_errno(&e));
    }
  };
  let untransferable = dispatch::keep(&env, untransferable.raw())?;
  // Before the loop thread's cleanup hook is added: hooks run in reverse, so the prepare handle
  // is closed (and never calls the threadsafe function again) before anything else goes.
  let lingers = host_loop::install_linger(&env, &shared, tsfn, on_wake.raw());
  EnvState::new(shared.clone(), tsfn, untransferable, lingers).install(&env)?;
  // Registered after the threadsafe function, so it runs before Node tears that down: the loop
  // thread, its only caller, is gone first.
  env.add_env_cleanup_hook(shared, |shared| shared.stop())?;
  Ok(0)
}

/// Whether this environment's sockets keep the process alive (something ref'd is open).
#[napi]
pub fn set_ref(env: Env, on: bool) -> Result<()> {
  let state = EnvState::get(&env)?;
  dispatch::set_ref(&env, state, on)
}
