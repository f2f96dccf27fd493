'use strict';
// Methods and getters called on something that is not one of ours (`proto.ref.call({})`) throw
// ERR_INVALID_THIS, as Bun's do, instead of half-working on a stranger (a ref taken for `{}` would
// keep the process alive for good).
const util = require('node:util');
const { invalidThis } = require('./errors');

/**
 * Wraps every public method and accessor of `Class.prototype` (names starting with `_` are
 * internal) in a check of `is(this)`. Methods listed in `checked` check for themselves (hot paths,
 * spared the wrapper).
 */
function guard(Class, is, typeName, checked = []) {
  const proto = Class.prototype;
  for (const key of Reflect.ownKeys(proto)) {
    // util.inspect, Object.prototype.toString and JSON.stringify may meet a prototype itself (or
    // an object made from one): what they call stays unguarded.
    const open = key === 'constructor' || key === util.inspect.custom || key === Symbol.toStringTag || key === 'toJSON';
    if (open || checked.includes(key)) continue;
    if (typeof key === 'string' && key.startsWith('_')) continue;
    const desc = Object.getOwnPropertyDescriptor(proto, key);
    if (typeof desc.value === 'function') desc.value = wrap(desc.value, is, typeName);
    if (desc.get) desc.get = wrap(desc.get, is, typeName);
    if (desc.set) desc.set = wrap(desc.set, is, typeName);
    Object.defineProperty(proto, key, desc);
  }
}

function wrap(fn, is, typeName) {
  const guarded = function (...args) {
    if (!is(this)) throw invalidThis(typeName);
    return Reflect.apply(fn, this, args);
  };
  Object.defineProperty(guarded, 'name', { value: fn.name });
  Object.defineProperty(guarded, 'length', { value: fn.length });
  return guarded;
}

module.exports = { guard };
