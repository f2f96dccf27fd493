'use strict';
// Echo benchmark: the same native load generator drives each server in turn, interleaved over
// several rounds; the median of the rounds is reported. The server is pinned to CPU 0 and the
// load generator to CPU 1 (when taskset and two CPUs are there), so each server gets one core.
// `native mio` (benchmark/loadgen/src/bin/native-echo.rs) is the ceiling: a single-threaded Rust
// echo server with no JavaScript at all.
//
// The `client:` scenarios turn this around, as for a database driver: the process measured is the
// client (benchmark/clients/, pinned to CPU 0), against the native echo server or a real
// redis-server (pinned to CPU 1), and CPU per op is the client's.
//
//   npm run bench                       # all scenarios
//   node benchmark/echo.js --quick      # shorter runs
//   node benchmark/echo.js --only=RESP  # scenarios whose name has RESP (keeps results.json, chart.svg)
//
// The RESP scenario needs redis-benchmark, the redis client scenario redis-server (its reference
// row too); without them those are skipped with a note.
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const ROOT = path.join(__dirname, '..');
const LOADGEN_DIR = path.join(__dirname, 'loadgen');
const LOADGEN = path.join(LOADGEN_DIR, 'target', 'release', 'loadgen');
/** The native ceiling: a single-threaded Rust mio echo server (its own binary, no script). */
const NATIVE_ECHO = path.join(LOADGEN_DIR, 'target', 'release', 'native-echo');
const quick = process.argv.includes('--quick');
const SECONDS = quick ? 2 : 5;
const ROUNDS = Number(process.env.ROUNDS) || (quick ? 1 : 3);

/** Bun's own binary, when there is one (`BUN=/path/to/bun`, or `bun` on PATH): Bun.listen/Bun.connect rows. */
const BUN = (() => {
  const candidates = [process.env.BUN, 'bun'].filter(Boolean);
  for (const bin of candidates) {
    try {
      execFileSync(bin, ['--version'], { stdio: 'ignore' });
      return bin;
    } catch {}
  }
  return null;
})();

/** Whether `program --version` runs (memoised). */
const available = (() => {
  const known = new Map();
  return (program) => {
    if (!known.has(program)) {
      try {
        execFileSync(program, ['--version'], { stdio: 'ignore' });
        known.set(program, true);
      } catch {
        known.set(program, false);
      }
    }
    return known.get(program);
  };
})();

// A server is `runtime [script]`; a native server is its own runtime and has no script.
const server = (name, file, tls = false, runtime = process.execPath) => ({ name, script: file && path.join(__dirname, 'servers', file), tls, runtime });
const native = (tls = false) => server('native mio', null, tls, NATIVE_ECHO);
// The baseline (node:net / node:tls) is always second: ratios are to it.
const PLAIN = [server('node-bun-tcp', 'addon-echo.js'), server('node:net', 'node-net-echo.js'), native()];
const TLS = [server('node-bun-tcp', 'addon-echo.js', true), server('node:tls', 'node-tls-echo.js', true), native(true)];
if (BUN) {
  PLAIN.push(server('Bun.listen', 'bun-echo.js', false, BUN));
  TLS.push(server('Bun.listen', 'bun-echo.js', true, BUN));
}

// The RESP servers (benchmark/servers/resp.js behind each socket API), and the real redis-server
// as a reference row when it is installed.
const RESP = [server('node-bun-tcp', 'addon-resp.js'), server('node:net', 'node-net-resp.js')];
if (BUN) RESP.push(server('Bun.listen', 'bun-resp.js', false, BUN));
if (available('redis-server')) RESP.push({ name: 'redis-server', redis: true });
/**
 * redis-benchmark runs a request count, not a time: per test (SET, GET), sized so that a server
 * doing ~400k req/s runs for about SECONDS in all (faster ones finish sooner).
 */
const REDIS_REQUESTS = 200000 * SECONDS;

// The measured clients of the `client:` scenarios, node:net second (the baseline) again.
const client = (name, file, runtime = process.execPath) => ({ name, script: path.join(__dirname, 'clients', file), runtime });
const CLIENTS = [client('node-bun-tcp', 'addon-client.js'), client('node:net', 'node-net-client.js')];
if (BUN) CLIENTS.push(client('Bun.connect', 'bun-client.js', BUN));

// `load(port)` gives the load generator's arguments; `unit` what one result counts. A scenario
// with `peer` measures its `servers` as clients of that peer, run with `client` arguments
// (mode, then CONNS PIPELINE [SIZE]); `requires` names a program it cannot run without.
const SCENARIOS = [
  { name: 'echo 1 conn x 64 B', servers: PLAIN, unit: 'msg', load: (p) => ['echo', p, 1, 64] },
  { name: 'echo 64 conns x 64 B', servers: PLAIN, unit: 'msg', load: (p) => ['echo', p, 64, 64] },
  { name: 'echo 64 conns x 16 KiB', servers: PLAIN, unit: 'msg', load: (p) => ['echo', p, 64, 16384] },
  { name: 'echo 1000 conns x 64 B', servers: PLAIN, unit: 'msg', load: (p) => ['echo', p, 1000, 64] },
  { name: 'connect rate (1-byte echo, RST)', servers: PLAIN, unit: 'conn', load: (p) => ['connects', p, 4] },
  // One connection streaming both ways; `messages` is echoed MB, so CPU per op is per MB.
  { name: 'stream 1 conn', servers: PLAIN, unit: 'MB', load: (p) => ['stream', p] },
  // One connection streaming one way, to each server's sink (SINK: count, answer FIN with it).
  { name: 'stream 1 conn, upload to a sink', servers: PLAIN, unit: 'MB', sink: true, load: (p) => ['upload', p] },
  { name: 'memory per idle connection (10,000 open)', servers: PLAIN, unit: 'B', memory: 10000 },
  { name: 'TLS echo 64 conns x 1 KiB', servers: TLS, unit: 'msg', load: (p) => ['tls-echo', p, 64, 1024] },
  { name: 'TLS handshakes (1-byte echo, RST)', servers: TLS, unit: 'conn', load: (p) => ['connects', p, 4, '', 'tls'] },
  { name: 'RESP SET/GET (redis-benchmark -c 50 -P 16)', servers: RESP, unit: 'req', requires: 'redis-benchmark', redisBenchmark: ['-c', 50, '-P', 16] },
  { name: 'client: pipelined echo vs native server', servers: CLIENTS, unit: 'req', peer: 'native', client: ['echo', 4, 32, 64] },
  { name: 'client: redis PING/SET/GET pipelined', servers: CLIENTS, unit: 'req', peer: 'redis', requires: 'redis-server', client: ['redis', 4, 32] },
];

const pin = (() => {
  try {
    execFileSync('taskset', ['-c', '0', 'true']);
    return os.cpus().length >= 2;
  } catch {
    return false;
  }
})();

function command(cpu, cmd, args) {
  return pin ? ['taskset', ['-c', String(cpu), cmd, ...args]] : [cmd, args];
}

/** User+system CPU seconds of a process (all threads), from /proc/PID/stat. */
function cpuSeconds(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks
  } catch {
    return NaN;
  }
}

let certs = null;

/** A throwaway key and certificate for the TLS servers (null without openssl). */
function tlsCerts() {
  if (certs !== null) return certs || null;
  try {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nbt-bench-'));
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost'],
      { stdio: 'ignore' });
    certs = { TLS_KEY: key, TLS_CERT: cert };
  } catch {
    certs = false;
  }
  return certs || null;
}

async function startServer(server, cpu = 0, sink = false) {
  if (server.redis) return startRedis(cpu);
  const [cmd, args] = command(cpu, server.runtime, server.script ? [server.script] : []);
  const env = { ...process.env, ...(server.tls ? tlsCerts() : {}), ...(sink ? { SINK: '1' } : {}) };
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'], env });
  const line = await new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${server.name} exited with ${code}`)));
  });
  // taskset execs the server, so the child's pid is the server's own.
  return { child, port: Number(line), pid: child.pid };
}

async function stop(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGKILL');
  await exited;
}

/** A port nothing listens on right now (for servers that cannot pick their own and say so). */
function freePort() {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
}

/** A throwaway redis-server on a free port, without persistence; resolves once it accepts. */
async function startRedis(cpu) {
  const port = await freePort();
  const [cmd, args] = command(cpu, 'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'no']);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('redis-server did not start within 10 s')), 10000);
    // Its log goes to stdout; keep draining it so it never blocks on a full pipe.
    readline.createInterface({ input: child.stdout }).on('line', (line) => {
      if (line.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}`));
    });
  });
  return { child, port, pid: child.pid };
}

/** The server a client scenario talks to, on CPU 1 (the measured client has CPU 0). */
function startPeer(peer) {
  return peer === 'redis' ? startRedis(1) : startServer(native(), 1);
}

/**
 * One client run: the client connects and says `ready`; its CPU is read, it is told to go, it
 * prints its result after SECONDS and idles, and its CPU is read again before it is killed.
 */
async function measureClient(client, scenario, port) {
  const [mode, ...rest] = scenario.client.map(String);
  const [cmd, args] = command(0, client.runtime, [client.script, mode, `127.0.0.1:${port}`, String(SECONDS), ...rest]);
  const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  try {
    const lines = readline.createInterface({ input: child.stdout })[Symbol.asyncIterator]();
    const exited = new Promise((_, reject) => child.once('exit', (code) => reject(new Error(`${client.name} client exited with ${code}`))));
    exited.catch(() => {}); // only raced below
    const nextLine = () => Promise.race([lines.next().then((l) => l.value), exited]);
    const ready = await nextLine();
    if (ready !== 'ready') throw new Error(`${client.name} client said ${JSON.stringify(ready)} instead of ready`);
    const before = cpuSeconds(child.pid);
    child.stdin.write('go\n');
    const result = JSON.parse(await nextLine());
    const cpu = cpuSeconds(child.pid) - before;
    if (result.errors > 0) throw new Error(`${client.name}: ${result.errors} wrong replies`);
    return {
      messages: result.requests,
      seconds: result.seconds,
      msgs_per_sec: result.requests / result.seconds,
      mb_per_sec: 0,
      p50_us: 0,
      p99_us: 0,
      cpu_us_per_msg: (cpu * 1e6) / result.requests,
      cpu_share: cpu / result.seconds,
    };
  } finally {
    await stop(child);
  }
}

/**
 * redis-benchmark's SET and GET tests against the server on `port`, on CPU 1: the combined rate,
 * and p50/p99 as the mean of the two tests'.
 */
function runRedisBenchmark(port, scenario) {
  const [cmd, args] = command(1, 'redis-benchmark', ['-h', '127.0.0.1', '-p', String(port), '-t', 'set,get',
    '-n', String(REDIS_REQUESTS), ...scenario.redisBenchmark.map(String), '-q', '--csv']);
  const out = execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 20, stdio: ['ignore', 'pipe', 'inherit'] });
  // "test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"
  const tests = out.trim().split('\n').slice(1).map((line) => {
    const [test, rps, , , p50, , p99] = line.split(',').map((f) => f.replace(/"/g, ''));
    return { test, rps: Number(rps), p50_us: Number(p50) * 1000, p99_us: Number(p99) * 1000 };
  });
  if (tests.length !== 2 || tests.some((t) => !(t.rps > 0))) throw new Error(`unexpected redis-benchmark output: ${out}`);
  const requests = REDIS_REQUESTS * tests.length;
  const seconds = tests.reduce((sum, t) => sum + REDIS_REQUESTS / t.rps, 0);
  const mean = (key) => Math.round(tests.reduce((sum, t) => sum + t[key], 0) / tests.length);
  return { messages: requests, seconds, msgs_per_sec: requests / seconds, mb_per_sec: 0, p50_us: mean('p50_us'), p99_us: mean('p99_us'), errors: 0 };
}

function runLoadgen(port, scenario) {
  // SECONDS goes after the mode's own arguments; a trailing '' slot is where it goes when given.
  const load = scenario.load(`127.0.0.1:${port}`).map(String);
  const at = load.indexOf('');
  if (at >= 0) load[at] = String(SECONDS);
  else load.push(String(SECONDS));
  const [cmd, args] = command(1, LOADGEN, load);
  const out = execFileSync(cmd, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
  return JSON.parse(out.trim().split('\n').pop());
}

function rssBytes(pid) {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)[1]) * 1024;
}

/** Server RSS growth per connection while the load generator holds `scenario.memory` idle ones. */
async function measureMemory(server, scenario) {
  const { child, port, pid } = await startServer(server);
  try {
    await new Promise((r) => setTimeout(r, 300));
    const before = rssBytes(pid);
    const [cmd, args] = command(1, LOADGEN, ['idle', `127.0.0.1:${port}`, String(scenario.memory), '4']);
    const gen = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise((resolve, reject) => {
      readline.createInterface({ input: gen.stdout }).once('line', resolve);
      gen.once('exit', (code) => reject(new Error(`load generator exited with ${code}`)));
    });
    await new Promise((r) => setTimeout(r, 1500)); // every accept delivered, every open handler run
    const after = rssBytes(pid);
    gen.kill('SIGKILL');
    const perConn = (after - before) / scenario.memory;
    return { messages: scenario.memory, seconds: 1, msgs_per_sec: perConn, mb_per_sec: 0, p50_us: 0, p99_us: 0, cpu_us_per_msg: perConn, cpu_share: 0 };
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
}

async function measure(server, scenario, peer) {
  if (scenario.memory) return measureMemory(server, scenario);
  if (peer) return measureClient(server, scenario, peer.port);
  const { child, port, pid } = await startServer(server, 0, scenario.sink);
  try {
    const before = cpuSeconds(pid);
    const result = scenario.redisBenchmark ? runRedisBenchmark(port, scenario) : runLoadgen(port, scenario);
    const cpu = cpuSeconds(pid) - before;
    // Connection modes count failed connects as errors; the echo and stream modes, wrong bytes;
    // the upload mode, a sink's count that is not what was sent.
    if (result.errors > 0 && scenario.unit !== 'conn') throw new Error(`${server.name}: ${result.errors} errors (wrong bytes echoed, or a sink's wrong count)`);
    return { ...result, cpu_us_per_msg: (cpu * 1e6) / result.messages, cpu_share: cpu / result.seconds };
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
}

/** Reference rows: what the same work costs without JavaScript. */
const REFERENCES = ['native mio', 'redis-server'];

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const escapeXml = (text) => String(text).replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]);

/**
 * An SVG bar chart of each scenario's ratios to node:net / node:tls: throughput (longer is better)
 * and server CPU per operation (shorter is better), with the 1.0x line marked.
 */
function chart(results) {
  const rows = results.filter((r) => r.server === 'node-bun-tcp' && r.unit !== 'B').map((r) => {
    const base = results.find((x) => x.scenario === r.scenario && x.server === r.baseline);
    // The native ceiling (or real redis-server) of the same scenario, drawn as a tick.
    const ref = results.find((x) => x.scenario === r.scenario && REFERENCES.includes(x.server));
    return {
      name: r.scenario,
      vs: r.baseline,
      speed: r.msgs_per_sec / base.msgs_per_sec,
      cpu: r.cpu_us_per_msg / base.cpu_us_per_msg,
      ref: ref && { speed: ref.msgs_per_sec / base.msgs_per_sec, cpu: ref.cpu_us_per_msg / base.cpu_us_per_msg },
    };
  });
  const label = 300;
  const width = 880;
  const scale = (width - label - 60) / Math.max(2, ...rows.flatMap((r) => [r.speed, r.cpu, ...(r.ref ? [r.ref.speed, r.ref.cpu] : [])]));
  const rowHeight = 44;
  const top = 40;
  const height = top + rows.length * rowHeight + 30;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="18" font-size="14" font-weight="bold">node-bun-tcp vs node:net / node:tls (same run, measured process on one core)</text>`,
    `<rect x="10" y="26" width="10" height="10" fill="#2b7bb9"/><text x="24" y="35">throughput (longer is better)</text>`,
    `<rect x="200" y="26" width="10" height="10" fill="#e08a2c"/><text x="214" y="35">CPU per op (shorter is better; the client's in client: rows)</text>`,
    `<rect x="580" y="24" width="2" height="14" fill="#222"/><text x="588" y="35">native mio / redis-server</text>`,
  ];
  rows.forEach((r, i) => {
    const y = top + i * rowHeight + 8;
    parts.push(`<text x="10" y="${y + 16}">${escapeXml(r.name)}</text>`);
    parts.push(`<rect x="${label}" y="${y}" width="${(r.speed * scale).toFixed(1)}" height="14" fill="#2b7bb9"/>`);
    parts.push(`<rect x="${label}" y="${y + 16}" width="${(r.cpu * scale).toFixed(1)}" height="14" fill="#e08a2c"/>`);
    // A value goes after its bar, or after the reference tick when that is just past the bar.
    const after = (bar, tick) => label + (tick !== undefined && tick >= bar && (tick - bar) * scale < 40 ? tick : bar) * scale + 5;
    parts.push(`<text x="${after(r.speed, r.ref?.speed).toFixed(1)}" y="${y + 11}">${r.speed.toFixed(2)}x</text>`);
    parts.push(`<text x="${after(r.cpu, r.ref?.cpu).toFixed(1)}" y="${y + 27}">${r.cpu.toFixed(2)}x</text>`);
    if (r.ref) {
      parts.push(`<rect x="${(label + r.ref.speed * scale - 1).toFixed(1)}" y="${y - 2}" width="2" height="18" fill="#222"/>`);
      parts.push(`<rect x="${(label + r.ref.cpu * scale - 1).toFixed(1)}" y="${y + 14}" width="2" height="18" fill="#222"/>`);
    }
  });
  const one = label + scale;
  parts.push(`<line x1="${one}" y1="${top}" x2="${one}" y2="${height - 20}" stroke="#444" stroke-dasharray="4 3"/>`);
  parts.push(`<text x="${one - 14}" y="${height - 6}">1.0x</text>`);
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

async function main() {
  if (process.argv.includes('--chart-only')) {
    const saved = JSON.parse(fs.readFileSync(path.join(__dirname, 'results.json'), 'utf8'));
    fs.writeFileSync(path.join(__dirname, 'chart.svg'), chart(saved.results));
    return;
  }
  execFileSync('cargo', ['build', '--release', '--quiet'], { cwd: LOADGEN_DIR, stdio: 'inherit' });
  if (!BUN) console.log('Bun not found (set BUN=/path/to/bun): measuring without Bun.listen');
  console.log(`${SECONDS} s per run, ${ROUNDS} interleaved round(s), median shown; ` +
    (pin ? 'server pinned to CPU 0, load generator to CPU 1' : 'not pinned (no taskset or one CPU)'));
  const results = [];
  const only = process.argv.find((a) => a.startsWith('--only='));
  for (const scenario of SCENARIOS) {
    if (only && !scenario.name.includes(only.slice(7))) continue;
    if (scenario.servers[0].tls && !tlsCerts()) {
      console.log(`skipping "${scenario.name}": openssl is not installed`);
      continue;
    }
    if (scenario.requires && !available(scenario.requires)) {
      console.log(`skipping "${scenario.name}": ${scenario.requires} is not installed (not on PATH)`);
      continue;
    }
    const runs = Object.fromEntries(scenario.servers.map((s) => [s.name, []]));
    // A client scenario's peer serves every round; servers under test restart for each run.
    const peer = scenario.peer ? await startPeer(scenario.peer) : null;
    try {
      for (let round = 0; round < ROUNDS; round++) {
        for (const server of scenario.servers) runs[server.name].push(await measure(server, scenario, peer));
      }
    } finally {
      if (peer) await stop(peer.child);
    }
    for (const server of scenario.servers) {
      const r = runs[server.name];
      results.push({
        scenario: scenario.name,
        server: server.name,
        unit: scenario.unit,
        // Whose CPU `cpu_us_per_msg` is: the client's in the client scenarios.
        cpu_of: scenario.peer ? 'client' : 'server',
        baseline: scenario.servers[1].name,
        msgs_per_sec: median(r.map((x) => x.msgs_per_sec)),
        msgs_per_sec_min: Math.min(...r.map((x) => x.msgs_per_sec)),
        msgs_per_sec_max: Math.max(...r.map((x) => x.msgs_per_sec)),
        mb_per_sec: median(r.map((x) => x.mb_per_sec)),
        p50_us: median(r.map((x) => x.p50_us)),
        p99_us: median(r.map((x) => x.p99_us)),
        cpu_us_per_msg: median(r.map((x) => x.cpu_us_per_msg)),
        cpu_share: median(r.map((x) => x.cpu_share)),
      });
    }
  }
  const rows = results.map((r) => {
    const base = results.find((x) => x.scenario === r.scenario && x.server === r.baseline);
    if (r.unit === 'B') {
      return {
        scenario: r.scenario,
        server: r.server,
        'server RSS B/conn': Math.round(r.msgs_per_sec),
        'vs node': `${(r.msgs_per_sec / base.msgs_per_sec).toFixed(2)}x`,
      };
    }
    // Rates and CPU carry their unit (msg, conn, MB, req), so each row reads on its own; columns a
    // mode does not measure (bytes for connects and requests, latency for the clients) show '-'.
    const rate = (x) => (r.unit === 'MB' ? x.toFixed(1) : String(Math.round(x)));
    return {
      scenario: r.scenario,
      server: r.server,
      throughput: `${rate(r.msgs_per_sec)} ${r.unit}/s`,
      'min-max': `${rate(r.msgs_per_sec_min)}-${rate(r.msgs_per_sec_max)}`,
      'vs node': `${(r.msgs_per_sec / base.msgs_per_sec).toFixed(2)}x`,
      'MB/s': r.unit === 'msg' || r.unit === 'MB' ? r.mb_per_sec.toFixed(1) : '-',
      'p50 us': r.p50_us || '-',
      'p99 us': r.p99_us || '-',
      'CPU per op': `${r.cpu_us_per_msg.toFixed(2)} us/${r.unit}${r.cpu_of === 'client' ? ' (client)' : ''}`,
      'CPU/op vs node': `${(r.cpu_us_per_msg / base.cpu_us_per_msg).toFixed(2)}x`,
    };
  });
  if (rows.length === 0) {
    console.log('no scenario ran');
    return;
  }
  console.table(rows);
  console.log('CPU per op is the measured process\'s user+system time per op: the server\'s, except in the client: scenarios, the client\'s.');
  if (only) return; // a partial run does not replace the full results and chart
  fs.writeFileSync(path.join(__dirname, 'chart.svg'), chart(results));
  fs.writeFileSync(path.join(__dirname, 'results.json'), JSON.stringify({ date: new Date().toISOString(), pinned: pin, seconds: SECONDS, rounds: ROUNDS, results }, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
