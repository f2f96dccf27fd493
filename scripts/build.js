'use strict';
// Builds the addon from source with the machine's cargo and puts it where lib/binding.js loads it.
// `node scripts/build.js` for a release build, `--debug` for a debug one.
const { execFileSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.join(__dirname, '..');
const debug = process.argv.includes('--debug');
const args = ['build', '--lib'];
if (!debug) args.push('--release');
execFileSync('cargo', args, { cwd: root, stdio: 'inherit' });

const ext = process.platform === 'darwin' ? 'dylib' : process.platform === 'win32' ? 'dll' : 'so';
const prefix = process.platform === 'win32' ? '' : 'lib';
const targetDir = process.env.CARGO_TARGET_DIR || path.join(root, 'target');
const built = path.join(targetDir, debug ? 'debug' : 'release', `${prefix}node_bun_tcp.${ext}`);
const dest = path.join(root, 'node-bun-tcp.node');
// Copy to a temporary name and rename, so a running process never maps a half-written file.
fs.copyFileSync(built, `${dest}.tmp`);
fs.renameSync(`${dest}.tmp`, dest);
console.log(`node-bun-tcp: built ${path.relative(root, dest)} (${debug ? 'debug' : 'release'})`);
