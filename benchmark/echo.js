'use strict';
// Echo benchmark: the same native load generator drives each server in turn, interleaved over
// several rounds; the median of the rounds is reported. The server is pinned to CPU 0 and the
// load generator to CPU 1 (when taskset and two CPUs are there), so each server gets one core.
//
//   npm run bench                       # all scenarios
//   node benchmark/echo.js --quick      # shorter runs
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const readline = require('node:readline');

const ROOT = path.join(__dirname, '..');
const LOADGEN_DIR = path.join(__dirname, 'loadgen');
const LOADGEN = path.join(LOADGEN_DIR, 'target', 'release', 'loadgen');
const quick = process.argv.includes('--quick');
const SECONDS = quick ? 2 : 5;
const ROUNDS = quick ? 1 : 3;

const SERVERS = [
  { name: 'node-bun-tcp', script: path.join(__dirname, 'servers', 'addon-echo.js') },
  { name: 'node:net', script: path.join(__dirname, 'servers', 'node-net-echo.js') },
];

const SCENARIOS = [
  { name: 'echo 1 conn x 64 B', conns: 1, size: 64 },
  { name: 'echo 64 conns x 64 B', conns: 64, size: 64 },
  { name: 'echo 64 conns x 16 KiB', conns: 64, size: 16384 },
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

async function startServer(server) {
  const [cmd, args] = command(0, process.execPath, [server.script]);
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((resolve, reject) => {
    const rl = readline.createInterface({ input: child.stdout });
    rl.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`${server.name} exited with ${code}`)));
  });
  // With taskset in front, the server is taskset's child: find the node process itself.
  return { child, port: Number(line), pid: child.pid };
}

function runLoadgen(port, scenario) {
  const [cmd, args] = command(1, LOADGEN, [
    'echo', `127.0.0.1:${port}`, String(scenario.conns), String(scenario.size), String(SECONDS),
  ]);
  const out = execFileSync(cmd, args, { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').pop());
}

async function measure(server, scenario) {
  const { child, port, pid } = await startServer(server);
  try {
    const before = cpuSeconds(pid);
    const result = runLoadgen(port, scenario);
    const cpu = cpuSeconds(pid) - before;
    if (result.errors > 0) throw new Error(`${server.name}: ${result.errors} corrupted bytes`);
    return { ...result, cpu_us_per_msg: (cpu * 1e6) / result.messages, cpu_share: cpu / result.seconds };
  } finally {
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
  }
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main() {
  execFileSync('cargo', ['build', '--release', '--quiet'], { cwd: LOADGEN_DIR, stdio: 'inherit' });
  console.log(`${SECONDS} s per run, ${ROUNDS} interleaved round(s), median shown; ` +
    (pin ? 'server pinned to CPU 0, load generator to CPU 1' : 'not pinned (no taskset or one CPU)'));
  const results = [];
  for (const scenario of SCENARIOS) {
    const runs = Object.fromEntries(SERVERS.map((s) => [s.name, []]));
    for (let round = 0; round < ROUNDS; round++) {
      for (const server of SERVERS) runs[server.name].push(await measure(server, scenario));
    }
    for (const server of SERVERS) {
      const r = runs[server.name];
      results.push({
        scenario: scenario.name,
        server: server.name,
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
    const base = results.find((x) => x.scenario === r.scenario && x.server === 'node:net');
    return {
      scenario: r.scenario,
      server: r.server,
      'msg/s': Math.round(r.msgs_per_sec),
      'min-max': `${Math.round(r.msgs_per_sec_min)}-${Math.round(r.msgs_per_sec_max)}`,
      'vs node:net': `${(r.msgs_per_sec / base.msgs_per_sec).toFixed(2)}x`,
      'MB/s': r.mb_per_sec.toFixed(1),
      'p50 us': r.p50_us,
      'p99 us': r.p99_us,
      'server CPU us/msg': r.cpu_us_per_msg.toFixed(2),
      'CPU/msg vs node:net': `${(r.cpu_us_per_msg / base.cpu_us_per_msg).toFixed(2)}x`,
    };
  });
  console.table(rows);
  fs.writeFileSync(path.join(__dirname, 'results.json'), JSON.stringify({ date: new Date().toISOString(), pinned: pin, seconds: SECONDS, rounds: ROUNDS, results }, null, 2));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
