#!/usr/bin/env node
// Benchmark: the Docker adapter + watcher against raw dockerode, measured in the same run on the same engine.
//
//   node scripts/bench/docker.mjs --host unix:///path/docker.sock     (or WW_BENCH_DOCKER_HOST=…)
//
// Normally started by `npm run bench` (scripts/bench/run.mjs), which builds dist/, starts a private Docker
// 20.10 with scripts/engines/start.sh and stops it afterwards. Imports the BUILT library (dist/index.js).
// The engine should be private and empty: this script creates N (default 200) busybox containers
// (`docker run -d --network none busybox:lab sleep 100000`, labelled whalewatcher.bench) and removes them
// at the end, also after a failure or SIGINT/SIGTERM.
//
// Prints three figures, each with its goal and PASS/MISS (a MISS is a finding, not an error: exit code 0;
// exit code 1 means the benchmark itself could not run):
//   1. initial sync: `watchDocker({host})` → `ready`, as a ratio to (a) raw dockerode list + serial
//      inspect of each container (goal ≤ 0.6) and (b) the best of raw dockerode list + parallel inspect at
//      concurrency 8/16/32/64 (goal ≤ 1.15). All variants interleaved per round (rotating order), after
//      warm-up rounds; medians over the rounds. A variant slower than 5 s in warm-up is sampled in 3 rounds
//      only. Diagnostic rows (no goal): the watcher at other concurrency values, and the CPU time
//      this process spent per sample (process.cpuUsage; the engine's own CPU is not in it).
//   2. `ww.portfolio.container(x)` by name and by id, as a fraction of ONE `listContainers` round trip
//      (goal ≤ 1/100,000).
//   3. engine requests made by 10,000 portfolio queries after `ready`, counted by a unix-socket proxy
//      between the watcher and dockerd that parses the HTTP requests it forwards (goal 0).
//
// Environment: WW_BENCH_CONTAINERS (200), WW_BENCH_ROUNDS (7), WW_BENCH_WARMUP (1), WW_DOCKER_CLI (docker),
// WW_BENCH_KEEP=1 (development: reuse bench containers of an earlier run and leave them running).
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { globalAgent } from 'node:http';
import { createServer, connect } from 'node:net';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Docker from 'dockerode';
import { firstValueFrom } from 'rxjs';
import { watchDocker } from '../../dist/index.js';

const argHost = (() => {
  const i = process.argv.indexOf('--host');
  return i >= 0 ? process.argv[i + 1] : undefined;
})();
const HOST = argHost ?? process.env.WW_BENCH_DOCKER_HOST;
if (!HOST || !HOST.startsWith('unix://')) {
  console.error('usage: node scripts/bench/docker.mjs --host unix:///path/to/docker.sock (a private, empty engine; or WW_BENCH_DOCKER_HOST)');
  process.exit(2);
}
const SOCKET = HOST.slice('unix://'.length);
const N = Number(process.env.WW_BENCH_CONTAINERS ?? 200);
const ROUNDS = Number(process.env.WW_BENCH_ROUNDS ?? 7);
const WARMUP = Number(process.env.WW_BENCH_WARMUP ?? 1);
const DOCKER_CLI = process.env.WW_DOCKER_CLI || 'docker';
const CONCURRENCIES = [8, 16, 32, 64];
const ADAPTER_DEFAULT_CONCURRENCY = 64; // DockerOptions.concurrency default (lib/engines/docker/docker-source.ts)
const WATCHER_DIAGNOSTIC_CONCURRENCIES = [16, 128];
const BENCH_LABEL = 'whalewatcher.bench=1';
const LIST_FILTER = { filters: { status: ['running', 'paused'] } }; // what the adapter lists
const QUERIES = 10_000;
const SLOW_MS = 5_000;
/** Development aid: WW_BENCH_KEEP=1 reuses bench containers left by an earlier run and leaves them behind. */
const KEEP = process.env.WW_BENCH_KEEP === '1';

const log = (msg = '') => console.log(msg);
/** Progress goes to stderr, so stdout holds only the report. */
const progress = (msg) => console.error(`  … ${msg}`);
/** Fails a sample that hangs instead of hanging the whole run. */
function bounded(promise, what, limitMs = 60_000) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result after ${limitMs / 1000} s`)), limitMs);
    }),
  ]).finally(() => clearTimeout(timer));
}
const fmtLoad = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const ms = (x) => `${x.toFixed(1)} ms`;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const verdict = (ok) => (ok ? 'PASS' : 'MISS');
const gc = globalThis.gc ?? (() => {});
const sleep = (t) => new Promise((r) => setTimeout(r, t));
/** A different string object with the same content (as a name or id parsed from user input would be). */
const copyOf = (s) => s.split('').join('');

// ------------------------------------------------------------------------------------ docker CLI helpers

function cli(args, { timeoutMs = 60_000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(DOCKER_CLI, ['-H', HOST, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: -1, out, err: `${err}${e.message}` });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

/** Runs `jobs` (functions returning promises) with at most `width` in flight. */
async function pool(jobs, width) {
  const results = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, jobs.length) }, async () => {
      while (next < jobs.length) {
        const i = next++;
        results[i] = await jobs[i]();
      }
    }),
  );
  return results;
}

async function createContainers(n) {
  const t0 = performance.now();
  const results = await pool(
    Array.from({ length: n }, () => () => cli(['run', '-d', '--network', 'none', '--label', BENCH_LABEL, 'busybox:lab', 'sleep', '100000'])),
    8,
  );
  const failed = results.filter((r) => r.code !== 0);
  if (failed.length > 0) throw new Error(`${failed.length} of ${n} 'docker run' failed, first: ${failed[0].err.trim()}`);
  return performance.now() - t0;
}

let cleaning;
function removeContainers() {
  cleaning ??= (async () => {
    const ls = await cli(['ps', '-aq', '--filter', `label=${BENCH_LABEL}`]);
    const ids = ls.out.split(/\s+/).filter(Boolean);
    const chunks = [];
    for (let i = 0; i < ids.length; i += 50) chunks.push(ids.slice(i, i + 50));
    const results = await pool(chunks.map((c) => () => cli(['rm', '-f', '-v', ...c], { timeoutMs: 120_000 })), 2);
    const bad = results.filter((r) => r.code !== 0);
    if (bad.length > 0) console.error(`docker.mjs: cleanup: 'docker rm -f' failed: ${bad[0].err.trim()}`);
    return ids.length;
  })();
  return cleaning;
}

// ------------------------------------------------------------------------------- counting unix-socket proxy

/**
 * A unix-socket proxy in front of dockerd that counts the HTTP requests it forwards (request lines,
 * skipping bodies by Content-Length or chunked encoding), with a per-endpoint tally.
 */
async function countingProxy(target) {
  const dir = mkdtempSync(join(tmpdir(), 'ww-bench-proxy.'));
  const path = join(dir, 'docker.sock');
  const stats = { requests: 0, byRoute: new Map() };
  const sockets = new Set();
  const route = (method, url) =>
    `${method} ${url.split('?')[0].replace(/\/containers\/[0-9a-f]{12,64}\//, '/containers/{id}/').replace(/^\/v[0-9.]+\//, '/')}`;

  const server = createServer((client) => {
    const upstream = connect(target);
    sockets.add(client);
    sockets.add(upstream);
    const close = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on('error', close).on('close', close);
    upstream.on('error', close).on('close', close);
    upstream.pipe(client);
    client.pipe(upstream);

    let buf = '';
    let bodyLeft = 0;
    let chunked = false;
    client.on('data', (chunk) => {
      buf += chunk.toString('latin1');
      for (;;) {
        if (bodyLeft > 0) {
          const take = Math.min(bodyLeft, buf.length);
          buf = buf.slice(take);
          bodyLeft -= take;
          if (bodyLeft > 0) return;
        }
        if (chunked) {
          const end = buf.indexOf('0\r\n\r\n');
          if (end < 0) return;
          buf = buf.slice(end + 5);
          chunked = false;
        }
        const headEnd = buf.indexOf('\r\n\r\n');
        if (headEnd < 0) return;
        const head = buf.slice(0, headEnd);
        buf = buf.slice(headEnd + 4);
        const [method = '?', url = '?'] = head.split('\r\n', 1)[0].split(' ');
        stats.requests += 1;
        const key = route(method, url);
        stats.byRoute.set(key, (stats.byRoute.get(key) ?? 0) + 1);
        const length = /\r\ncontent-length:\s*(\d+)/i.exec(head);
        if (length) bodyLeft = Number(length[1]);
        chunked = /\r\ntransfer-encoding:\s*chunked/i.test(head);
      }
    });
  });
  await new Promise((resolve, reject) => server.once('error', reject).listen(path, resolve));
  return {
    host: `unix://${path}`,
    stats,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => server.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------- variants

/**
 * Raw dockerode as an application uses it: `new Docker({ socketPath })`, i.e. Node's global keep-alive
 * agent. Its pooled sockets are destroyed after every sample, so each baseline starts on cold connections,
 * as the watcher does (its adapter opens its own agent).
 */
async function withRawClient(body) {
  const docker = new Docker({ socketPath: SOCKET });
  try {
    return await body(docker);
  } finally {
    globalAgent.destroy();
  }
}

function rawSerial() {
  return withRawClient(async (docker) => {
    const t0 = performance.now();
    const list = await docker.listContainers(LIST_FILTER);
    const out = [];
    for (const c of list) out.push(await docker.getContainer(c.Id).inspect());
    const t = performance.now() - t0;
    check(out.length, 'raw serial');
    return t;
  });
}

function rawParallel(width) {
  return () =>
    withRawClient(async (docker) => {
      const t0 = performance.now();
      const list = await docker.listContainers(LIST_FILTER);
      const out = await pool(list.map((c) => () => docker.getContainer(c.Id).inspect()), width);
      const t = performance.now() - t0;
      check(out.length, `raw parallel ${width}`);
      return t;
    });
}

function watcherSync(concurrency) {
  return async () => {
    const t0 = performance.now();
    const ww = watchDocker(concurrency === undefined ? { host: HOST } : { host: HOST, concurrency: concurrency });
    try {
      await ww.ready;
      const t = performance.now() - t0;
      check(ww.portfolio.total, 'watcher');
      return t;
    } finally {
      await ww.close();
    }
  };
}

/** ONE `listContainers` round trip on a warm connection (the cheapest a round trip gets: a conservative baseline). */
const warm = new Docker({ socketPath: SOCKET });
async function listRoundTrip() {
  await warm.listContainers(LIST_FILTER); // warm the connection (the pool was emptied by the sample before)
  const times = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const list = await warm.listContainers(LIST_FILTER);
    times.push(performance.now() - t0);
    check(list.length, 'list');
  }
  globalAgent.destroy();
  return times;
}

function check(found, what) {
  if (found !== N) throw new Error(`${what} saw ${found} alive containers, expected ${N}: is the engine private and empty?`);
}

// ----------------------------------------------------------------------------------------------- lookups

/** ns per `ww.portfolio.container(k)` over rounds of passes over all keys: `{ median, best }`. */
function lookupNs(ww, keys, expect) {
  const PASSES = Math.max(1, Math.round(200_000 / keys.length));
  const rounds = [];
  for (let r = 0; r < 11 + 3; r++) {
    let hits = 0;
    const t0 = process.hrtime.bigint();
    for (let p = 0; p < PASSES; p++) {
      for (const k of keys) if (ww.portfolio.container(k) !== undefined) hits++;
    }
    const ns = Number(process.hrtime.bigint() - t0) / (PASSES * keys.length);
    if (hits !== PASSES * keys.length) throw new Error(`lookup by ${expect}: ${PASSES * keys.length - hits} misses`);
    if (r >= 3) rounds.push(ns); // first three: JIT warm-up
  }
  return { median: median(rounds), best: Math.min(...rounds) };
}

function shuffled(xs) {
  let x = 2463534242;
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const j = (x >>> 0) % (i + 1);
    [a[i], a[j]] = [a[j], a[i]];
  }
  return a;
}

// ------------------------------------------------------------------------------------------------- main

async function main() {
  const loadStart = fmtLoad();
  const ping = await warm.version();
  const before = await warm.listContainers({ all: true });
  const reused = KEEP ? before.filter((c) => c.Labels?.['whalewatcher.bench'] === '1' && c.State === 'running').length : 0;
  if (before.length > reused || reused > N) throw new Error(`the engine at ${HOST} already has ${before.length} containers: use a private, empty engine`);

  progress(`creating ${N - reused} containers`);
  const createMs = await createContainers(N - reused);
  log(`whalewatcher docker bench: Docker ${ping.Version} (API ${ping.ApiVersion}) at ${HOST}, ${N} running containers (created in ${(createMs / 1000).toFixed(1)} s)`);
  log(`node ${process.version}, ${cpus().length} cores, load average ${loadStart} at start${globalThis.gc ? '' : ' (run with --expose-gc for a GC before each sample)'}`);

  // --- 1 + 2 (baseline): interleaved rounds
  const SHIPPED = `watcher as shipped (concurrency ${ADAPTER_DEFAULT_CONCURRENCY})`;
  const LIST = 'one listContainers round trip';
  const diagName = (c) => `watcher at concurrency ${c}`;
  const variants = [
    ['raw list + serial inspect', rawSerial],
    ...CONCURRENCIES.map((c) => [`raw list + parallel inspect c=${c}`, rawParallel(c)]),
    [SHIPPED, watcherSync(undefined)],
    ...WATCHER_DIAGNOSTIC_CONCURRENCIES.map((c) => [diagName(c), watcherSync(c)]),
    [LIST, listRoundTrip],
  ];
  const samples = new Map(variants.map(([name]) => [name, []]));
  /** CPU ms of this process per sample (user + system), by variant. */
  const cpuMs = new Map(variants.map(([name]) => [name, []]));
  /** Rounds a variant takes part in: one slower than SLOW_MS in warm-up is sampled in the first 3 only. */
  const rounds = new Map(variants.map(([name]) => [name, ROUNDS]));
  const t0 = performance.now();
  for (let r = 0; r < WARMUP + ROUNDS; r++) {
    for (let k = 0; k < variants.length; k++) {
      const [name, run] = variants[(k + r) % variants.length]; // rotate the order each round
      if (r - WARMUP >= rounds.get(name)) continue;
      gc();
      const cpu0 = process.cpuUsage();
      const t = await bounded(run(), name, 120_000);
      const cpu = process.cpuUsage(cpu0);
      if (r >= WARMUP) {
        samples.get(name).push(...[t].flat());
        cpuMs.get(name).push((cpu.user + cpu.system) / 1000);
      }
      else if (t > SLOW_MS) {
        rounds.set(name, Math.min(ROUNDS, 3));
        progress(`${name}: ${(t / 1000).toFixed(1)} s in warm-up; sampled in ${rounds.get(name)} rounds only`);
      }
    }
    progress(`round ${r + 1}/${WARMUP + ROUNDS}${r < WARMUP ? ' (warm-up)' : ''} done at ${((performance.now() - t0) / 1000).toFixed(1)} s, load ${fmtLoad()}`);
  }
  const roundsS = (performance.now() - t0) / 1000;
  const med = new Map([...samples].map(([name, xs]) => [name, median(xs)]));

  const wwName = SHIPPED;
  const serial = med.get('raw list + serial inspect');
  const wwMed = med.get(wwName);
  const par = CONCURRENCIES.map((c) => [c, med.get(`raw list + parallel inspect c=${c}`)]);
  const [bestC, best] = par.reduce((a, b) => (b[1] < a[1] ? b : a));
  const listMs = med.get(LIST);
  // paired per-round ratios (same round, adjacent in time) as a cross-check of the ratio of medians
  const wwS = samples.get(wwName);
  const pairedSerial = median(wwS.map((w, i) => w / samples.get('raw list + serial inspect')[i]));
  const pairedBest = median(wwS.map((w, i) => w / samples.get(`raw list + parallel inspect c=${bestC}`)[i]));

  // --- 2: lookups, 3: requests, on one watcher behind the counting proxy
  const proxy = await countingProxy(SOCKET);
  progress('watcher behind the counting proxy: requests and lookups');
  const ww = watchDocker({ host: proxy.host });
  let lookups;
  let sync;
  let during;
  let duringRoutes;
  try {
    await bounded(ww.ready, 'watcher behind the proxy');
    await sleep(100); // let the sync's requests settle
    sync = { requests: proxy.stats.requests, routes: new Map(proxy.stats.byRoute) };
    const containers = ww.portfolio.containers;
    const names = shuffled(containers.map((c) => copyOf(c.name)));
    const ids = shuffled(containers.map((c) => copyOf(c.id)));

    // 3: 10,000 portfolio queries of every kind, then give any request they caused time to arrive
    const countBefore = proxy.stats.requests;
    const routesBefore = new Map(proxy.stats.byRoute);
    let sink = 0;
    for (let q = 0; q < QUERIES; q++) {
      const p = ww.portfolio;
      switch (q % 8) {
        case 0: sink += p.container(names[q % N]) ? 1 : 0; break;
        case 1: sink += p.container(ids[q % N]) ? 1 : 0; break;
        case 2: sink += p.containers.length; break;
        case 3: sink += p.projects.length; break;
        case 4: sink += p.project('')?.total ?? 0; break;
        case 5: sink += p.total + p.projectNames.length; break;
        case 6: sink += ww.status.state.length; break;
        case 7: sink += (await firstValueFrom(ww.portfolio$)).total; break;
      }
    }
    await sleep(300);
    during = proxy.stats.requests - countBefore;
    duringRoutes = [...proxy.stats.byRoute].filter(([k, v]) => v !== (routesBefore.get(k) ?? 0)).map(([k, v]) => `${k} ×${v - (routesBefore.get(k) ?? 0)}`);
    if (sink === 0) throw new Error('queries found nothing');

    // 2: lookups (after the request count, so nothing timed overlaps the proxy's bookkeeping)
    lookups = { name: lookupNs(ww, names, 'name'), id: lookupNs(ww, ids, 'id') };
  } finally {
    await ww.close();
    await proxy.close();
  }

  // ------------------------------------------------------------------------------------------- report
  const loadEnd = fmtLoad();
  const pad = (s, n = 46) => s.padEnd(n);
  log();
  log(`1. initial sync of ${N} containers (watchDocker({host}) → ready; raw = dockerode list → inspect each):`);
  log(`   medians of ${ROUNDS} interleaved rounds after ${WARMUP} warm-up (${roundsS.toFixed(1)} s)`);
  const row = (name, label = name) => {
    const xs = samples.get(name);
    const n = xs.length < ROUNDS ? `, ${xs.length} samples: too slow for more` : '';
    log(`   ${pad(label)} ${ms(med.get(name)).padStart(9)}   (min ${Math.min(...xs).toFixed(1)}, max ${Math.max(...xs).toFixed(1)}; node CPU ${median(cpuMs.get(name)).toFixed(1)} ms${n})`);
  };
  row('raw list + serial inspect');
  for (const [c] of par) row(`raw list + parallel inspect c=${c}`, `raw list + parallel inspect c=${c}${c === bestC ? ' (best)' : ''}`);
  row(SHIPPED);
  const r1 = wwMed / serial;
  const r2 = wwMed / best;
  log(`   watcher / raw serial                     ${r1.toFixed(2)}  goal ≤ 0.6   ${verdict(r1 <= 0.6)}  (paired per-round median ${pairedSerial.toFixed(2)})`);
  log(`   watcher / best raw parallel (c=${String(bestC).padEnd(2)})       ${r2.toFixed(2)}  goal ≤ 1.15  ${verdict(r2 <= 1.15)}  (paired per-round median ${pairedBest.toFixed(2)})`);
  log('   for diagnosis, not a goal: the watcher at other concurrency values');
  for (const c of WATCHER_DIAGNOSTIC_CONCURRENCIES) {
    const m = med.get(diagName(c));
    log(`   ${pad(diagName(c))} ${ms(m).padStart(9)}   /serial ${(m / serial).toFixed(2)}, /best parallel ${(m / best).toFixed(2)}`);
  }
  log();
  const listNs = listMs * 1e6;
  const listBest = Math.min(...samples.get(LIST));
  log(`2. portfolio lookup vs ONE listContainers round trip (median ${ms(listMs)}, best ${ms(listBest)}; ${samples.get(LIST).length} samples, warm connection)`);
  const lookupOk = [];
  for (const [by, ns] of [['name', lookups.name], ['id', lookups.id]]) {
    const times = listNs / ns.median;
    lookupOk.push(times >= 100_000);
    const best = `best-of: ${ns.best.toFixed(0)} ns, 1/${Math.round((listBest * 1e6) / ns.best).toLocaleString('en-US')}`;
    log(`   ww.portfolio.container(${by.padEnd(4)})  ${ns.median.toFixed(0).padStart(5)} ns   1/${Math.round(times).toLocaleString('en-US').padEnd(9)} goal ≤ 1/100,000  ${verdict(times >= 100_000)}  (${best})`);
  }
  log();
  const syncRoutes = [...sync.routes].map(([k, v]) => `${k} ×${v}`).join(', ');
  log(`3. engine requests made by ${QUERIES.toLocaleString('en-US')} portfolio queries after ready (counting proxy): ${during}   goal 0  ${verdict(during === 0)}`);
  if (during > 0) log(`   requests seen during the queries: ${duringRoutes.join(', ')}`);
  log(`   (for scale: the initial sync through the proxy made ${sync.requests} requests: ${syncRoutes})`);
  log();
  log(`load average: ${loadStart} at start, ${loadEnd} at end (${cpus().length} cores; figures from a loaded machine are noisier, ratios less so)`);
  const verdicts = [r1 <= 0.6, r2 <= 1.15, ...lookupOk, during === 0];
  log(`docker bench: ${verdicts.filter(Boolean).length} PASS, ${verdicts.filter((v) => !v).length} MISS`);
}

let exitCode = 0;
const onSignal = (sig) => {
  console.error(`docker.mjs: ${sig}: removing the bench containers`);
  removeContainers().finally(() => process.exit(130));
};
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);
try {
  await main();
} catch (err) {
  console.error(`docker.mjs: FAILED: ${err?.stack ?? err}`);
  exitCode = 1;
} finally {
  const t = performance.now();
  if (KEEP && exitCode === 0) {
    console.log('docker.mjs: WW_BENCH_KEEP=1: bench containers left running');
  } else {
    const removed = await removeContainers();
    console.log(`docker.mjs: removed ${removed} bench containers in ${((performance.now() - t) / 1000).toFixed(1)} s`);
  }
  globalAgent.destroy();
}
process.exit(exitCode);
