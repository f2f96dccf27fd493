'use strict';
// The package as users get it: `npm pack`, then `npm install <tarball>` in a fresh project, whose
// install script builds the addon from the shipped Rust sources; then the package is used from
// there by CommonJS `require`, by ESM `import` and by a TypeScript program.
// CARGO_TARGET_DIR points at this repository's target/ so the build reuses the compiled crates;
// the time limits are generous because a loaded machine compiles slowly.
const { test, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { ROOT } = require('./helpers');

const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const ENV = { ...process.env, CARGO_TARGET_DIR: process.env.CARGO_TARGET_DIR || path.join(ROOT, 'target') };

let tmp;
let tarball;
let packed;
let app;
let installed;

/** Runs a command to completion; fails the test with its output when it exits non-zero. */
function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: ENV, timeout: 480000, maxBuffer: 64 << 20, ...options });
  const output = `${r.stdout || ''}${r.stderr || ''}`;
  if (r.error) assert.fail(`${cmd} ${args.join(' ')}: ${r.error.message}\n${output}`);
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')} exited with ${r.status}:\n${output}`);
  return { output, stdout: r.stdout };
}

/** Every file below `dir` (relative, with `/`). */
function walk(dir, base = dir) {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    return e.isDirectory() ? walk(full, base) : [path.relative(base, full).split(path.sep).join('/')];
  });
}

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'node-bun-tcp-pack-'));
  const { stdout } = run(NPM, ['pack', '--json', '--pack-destination', tmp], { cwd: ROOT });
  const info = JSON.parse(stdout.slice(stdout.indexOf('[')))[0];
  tarball = path.join(tmp, info.filename);
  packed = info.files.map((f) => f.path);
  app = path.join(tmp, 'app');
  installed = path.join(app, 'node_modules', 'node-bun-tcp');
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

test('the tarball holds every source a from-source install needs, and no build output', () => {
  assert.ok(fs.existsSync(tarball), tarball);
  const need = [
    'package.json',
    'index.js',
    'index.mjs',
    'index.d.ts',
    'README.md',
    'Cargo.toml',
    'Cargo.lock',
    'build.rs',
    'scripts/build.js',
    ...walk(path.join(ROOT, 'lib')).map((f) => `lib/${f}`),
    ...walk(path.join(ROOT, 'src')).map((f) => `src/${f}`),
  ];
  const missing = need.filter((f) => !packed.includes(f));
  assert.deepEqual(missing, [], 'files missing from the tarball');
  const unwanted = packed.filter((f) => /(^|\/)(target|node_modules|__test__|benchmark|examples)\/|\.node$/.test(f));
  assert.deepEqual(unwanted, [], 'build output or repository-only files in the tarball');
  // Whatever package.json points at is shipped.
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  // Conditions nest (`import: { types, default }`): every leaf is a file.
  const leaves = (v) => (typeof v === 'string' ? [v] : Object.values(v).flatMap(leaves));
  const entries = [pkg.main, pkg.types, ...leaves(pkg.exports)].map((p) => p.replace(/^\.\//, ''));
  for (const entry of entries) assert.ok(packed.includes(entry), `${entry} (named in package.json) is packed`);
});

test('npm install <tarball> builds the addon from source in a fresh project', { timeout: 1200000 }, () => {
  fs.mkdirSync(app);
  const pkg = {
    name: 'node-bun-tcp-consumer',
    version: '1.0.0',
    private: true,
    // npm 11 asks projects to approve dependencies' install scripts; ours builds the addon.
    allowScripts: { [`file:${tarball}`]: true },
  };
  fs.writeFileSync(path.join(app, 'package.json'), JSON.stringify(pkg, null, 2));
  const out = run(NPM, ['install', '--no-audit', '--no-fund', '--foreground-scripts', tarball], { cwd: app }).output;
  assert.match(out, /node-bun-tcp: built node-bun-tcp\.node \(release\)/, 'the install script ran');
  assert.ok(fs.existsSync(path.join(installed, 'node-bun-tcp.node')), 'the addon was built into the package');

  // The shared target/ may hold a build of the same sources already, which cargo would reuse
  // (unpacked files carry npm's fixed old mtime). Touch the shipped sources so the rebuild really
  // compiles the crate from what the tarball contains.
  const now = new Date();
  for (const f of ['Cargo.toml', 'build.rs', ...walk(path.join(installed, 'src')).map((f) => `src/${f}`)]) {
    if (fs.existsSync(path.join(installed, f))) fs.utimesSync(path.join(installed, f), now, now);
  }
  const rebuilt = run(NPM, ['rebuild', 'node-bun-tcp', '--foreground-scripts'], { cwd: app }).output;
  assert.match(rebuilt, /Compiling node-bun-tcp v/, 'cargo compiled the shipped sources');
  assert.match(rebuilt, /node-bun-tcp: built node-bun-tcp\.node \(release\)/);
});

const ECHO_CJS = `
const { listen, connect } = require('node-bun-tcp');
const message = 'hello from require';
const server = listen({ hostname: '127.0.0.1', port: 0, socket: { data(s, chunk) { s.write(chunk); } } });
let got = '';
connect({
  hostname: '127.0.0.1',
  port: server.port,
  socket: {
    open(s) { s.write(message); },
    data(s, chunk) {
      got += chunk.toString();
      if (got.length < message.length) return;
      console.log('cjs echoed: ' + got);
      console.log('resolved: ' + require.resolve('node-bun-tcp'));
      s.end();
      server.stop(true);
    },
  },
}).catch((err) => { console.error(err); process.exitCode = 1; });
`;

const ECHO_ESM = `
import { listen, connect } from 'node-bun-tcp';
import bun from 'node-bun-tcp';
const message = 'hello from import';
const server = listen({ hostname: '127.0.0.1', port: 0, socket: { data(s, chunk) { s.write(chunk); } } });
let got = '';
const socket = await connect({
  hostname: '127.0.0.1',
  port: server.port,
  socket: {
    data(s, chunk) {
      got += chunk.toString();
      if (got.length < message.length) return;
      console.log('esm echoed: ' + got);
      console.log('default export has listen: ' + (bun.listen === listen));
      s.end();
      server.stop(true);
    },
  },
});
socket.write(message);
`;

const ECHO_TS = `
import { listen, connect, type Socket } from 'node-bun-tcp';
const server = listen({
  hostname: '127.0.0.1',
  port: 0,
  data: { echoes: 0 },
  socket: { data(s, chunk) { s.data.echoes++; s.write(chunk); } },
});
const port: number = server.port;
const client: Promise<Socket<{ sent: string }>> = connect({
  hostname: '127.0.0.1',
  port,
  data: { sent: 'hi' },
  socket: { binaryType: 'uint8array', data(s, chunk: Uint8Array) { s.end(); } },
});
void client;
`;

function appInstalled(t) {
  if (!fs.existsSync(path.join(installed, 'node-bun-tcp.node'))) {
    t.skip('the install test did not produce an installed package');
    return false;
  }
  return true;
}

test('the installed package echoes from CommonJS require()', { timeout: 30000 }, (t) => {
  if (!appInstalled(t)) return;
  fs.writeFileSync(path.join(app, 'echo.cjs'), ECHO_CJS);
  const out = run(process.execPath, ['echo.cjs'], { cwd: app, timeout: 20000 }).output;
  assert.match(out, /^cjs echoed: hello from require$/m);
  const resolved = /^resolved: (.*)$/m.exec(out)[1];
  assert.equal(path.dirname(resolved), installed, 'the package came from the fresh project, not the repository');
});

test('the installed package echoes from ESM import', { timeout: 30000 }, (t) => {
  if (!appInstalled(t)) return;
  fs.writeFileSync(path.join(app, 'echo.mjs'), ECHO_ESM);
  const out = run(process.execPath, ['echo.mjs'], { cwd: app, timeout: 20000 }).output;
  assert.match(out, /^esm echoed: hello from import$/m);
  assert.match(out, /^default export has listen: true$/m);
});

test('a TypeScript program type-checks against the installed typings', { timeout: 60000 }, (t) => {
  if (!appInstalled(t)) return;
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  if (!fs.existsSync(tsc)) {
    t.skip('typescript is not installed (npm install)');
    return;
  }
  fs.writeFileSync(path.join(app, 'echo.mts'), ECHO_TS);
  const tsconfig = {
    compilerOptions: {
      strict: true,
      noEmit: true,
      module: 'nodenext',
      target: 'es2022',
      types: ['node'],
      typeRoots: [path.join(ROOT, 'node_modules', '@types')],
    },
    files: ['echo.mts'],
  };
  fs.writeFileSync(path.join(app, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
  run(process.execPath, [tsc, '-p', app], { cwd: app });
  // And a wrong program is rejected through the same typings.
  fs.writeFileSync(path.join(app, 'echo.mts'), `${ECHO_TS}\nserver.data.echoes = 'many';\n`);
  const r = spawnSync(process.execPath, [tsc, '-p', app], { cwd: app, encoding: 'utf8' });
  assert.notEqual(r.status, 0, 'assigning a string to a number field must not compile');
  assert.match(r.stdout, /echo\.mts.*error TS2322/);
});

/** Member names declared in `interface <name>` / `class <name>` of index.d.ts (methods and properties). */
function declaredMembers(dts, name) {
  const start = dts.search(new RegExp(`^export (interface|class) ${name}\\b[^{]*\\{`, 'm'));
  assert.notEqual(start, -1, `index.d.ts declares ${name}`);
  const body = dts.slice(dts.indexOf('{', start) + 1, dts.indexOf('\n}', start));
  const members = new Set();
  for (const m of body.matchAll(/^ {2}(?:readonly )?([A-Za-z_]\w*)(?:<[^>]*>)?\??[(:]/gm)) members.add(m[1]);
  if (/^ {2}\[Symbol\.dispose\]/m.test(body)) members.add(Symbol.dispose || Symbol.for('nodejs.dispose'));
  return [...members];
}

test('everything index.d.ts declares exists at runtime', async () => {
  const dts = fs.readFileSync(path.join(ROOT, 'index.d.ts'), 'utf8');
  const pkg = require('..');
  const exported = [...dts.matchAll(/^export (?:function|class) (\w+)/gm)].map((m) => m[1]);
  assert.deepEqual([...new Set(exported)].sort(), Object.keys(pkg).sort());

  const lacking = (value, names) => names.filter((n) => !(n in value));

  const server = pkg.listen({ hostname: '127.0.0.1', port: 0, socket: { data() {} } });
  try {
    const socket = await pkg.connect({ hostname: '127.0.0.1', port: server.port, socket: { data() {} } });
    const socketMembers = declaredMembers(dts, 'Socket');
    assert.ok(socketMembers.length > 30, `parsed ${socketMembers.length} Socket members`);
    assert.deepEqual(lacking(socket, socketMembers), [], 'Socket members missing at runtime');
    const listenerMembers = [...declaredMembers(dts, 'SocketListener'), ...declaredMembers(dts, 'TCPSocketListener')];
    assert.deepEqual(lacking(server, listenerMembers), [], 'listener members missing at runtime');
    socket.terminate();
  } finally {
    server.stop(true);
  }
  const sink = new pkg.ArrayBufferSink();
  assert.deepEqual(lacking(sink, declaredMembers(dts, 'ArrayBufferSink')), []);
  assert.deepEqual(lacking(pkg.file(__filename), declaredMembers(dts, 'FileRef')), []);
});
