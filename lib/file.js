'use strict';
// file(path): a lazy reference to a file, read only when the options that hold it are used.
const fs = require('node:fs');
const { fileURLToPath } = require('node:url');
const { invalidArgType } = require('./errors');

class FileRef {
  constructor(path) {
    this.name = path;
  }

  /** The file's bytes; a missing file throws ENOENT naming the path. */
  bytes() {
    return fs.readFileSync(this.name);
  }

  text() {
    return fs.readFileSync(this.name, 'utf8');
  }
}

function file(path) {
  if (path instanceof URL) path = fileURLToPath(path);
  if (typeof path !== 'string' || path.length === 0) throw invalidArgType('path', 'a non-empty string or file URL', path);
  return new FileRef(path);
}

module.exports = { file, FileRef };
