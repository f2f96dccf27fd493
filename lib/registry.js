'use strict';
// This environment's live sockets and listeners by id, and the count of ref'd ones that decides
// whether the process stays alive for us.
const binding = require('./binding');

const sockets = [];
const listeners = [];
let refs = 0;
let started = false;

function start(dispatch) {
  if (!started) {
    binding.init(dispatch);
    started = true;
  }
}

function ref() {
  if (refs++ === 0) binding.setRef(true);
}

function unref() {
  if (--refs === 0) binding.setRef(false);
}

module.exports = { sockets, listeners, start, ref, unref };
