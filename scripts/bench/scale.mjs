#!/usr/bin/env node
// Benchmark: the Docker watcher at scale, against a fake Docker 26 (the specs' fake, a real HTTP server on a
// unix socket, run in a child process by scale-engine.mjs so that its serving is not billed to the watcher)
// with 1,000, 10,000 and 30,000 containers whose inspections are the size of a real engine's (~3-4 KB:
// labels, env, mounts, graph driver, networks). Needs no root and no engine.
//
//   npm run bench -- scale                      (builds first), or, after `npm run build:spec`:
//   node --expose-gc scripts/bench/scale.mjs    (WW_BENCH_SIZES=1000,10000 to run fewer sizes;
//                                               WW_BENCH_ROUNDS=5 timed sync rounds per size;
//                                               WW_BENCH_PER_ROUND=30000 containers synced per timed round;
//                                               WW_BENCH_DEBUG=1 shows the relist watcher's status changes)
//   scale-diag.mjs prints every sync round (µs per container, the engine's CPU, GCs) for finding out why.
//
// Prints, in one run, each figure with its goal and PASS/MISS (a MISS is a finding, not an error):
//   1. initial sync: `watchDocker({ host })` → `ready`, as a ratio to a lean raw client doing the same list
//      and inspections (node:http keep-alive agent with 4 sockets, JSON.parse of each body; 64 sockets, one
//      request each like the adapter's 64 in flight, measured slower and is shown at the smallest size only),
//      medians per sync, in wall time and in this process's CPU time (the machine is shared: CPU time is the
//      steadier figure); at each size, and whether the ratio stays flat from the smallest to the largest
//      (goal: largest ≤ 1.25 × smallest). The engine process holds one fake engine per size, filled once;
//      each timed round syncs every size (sizes and clients in rotating orders, so that the shared
//      machine's load falls on every size alike), and as many containers at each (the largest size's: 30
//      syncs in a row of one client at 1,000, after a forced gc: see PER_ROUND for why); before them, a
//      warm-up round of every client at the smallest size (the JIT's) and one sync of each at every size
//      (a fake engine serves its first sync at ~2x its CPU per container). Also printed: the CPU per
//      container of each client, and the fake engine's CPU per container (it is not the bottleneck for
//      wall time while that stays well below the wall time per container).
//   2. heap per container held by the watcher with its picture (an untimed sync after the timed ones: gc
//      before and after, heapUsed delta ÷ N, the watcher alive; goal ≤ 4 KB: the Kubernetes informer holds
//      ~13 KB per pod).
//   3. events per second the watcher absorbs with 100 and with 10,000 alive: pause/unpause of random
//      containers written by the fake on the event stream at once, timed from the first to the last
//      applied (a lifecycle$ subscriber counts them), with no other subscriber and with a containers$
//      subscriber; goal: µs per event at 10,000 within 2× of 100 (in CPU time). A short diagnostic of the
//      same at the largest size when it is past 16,384 (where V8 allocates an array as a large object).
//   4. relists at 10,000, on a watcher whose every list is timed (its adapter's snapshot() wrapped): engine
//      requests and time of a periodic relist (the adapter option `resyncInterval`, 3 s here; a build without
//      periodic relists says so after waiting 8 s), then of the reconnect's, from cutting the event stream
//      to the watcher live again.
import { engineProcess, rawSync } from './scale-clients.mjs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Subject, defer, filter, firstValueFrom, tap } from 'rxjs';
import { dockerAdapter, watch, watchDocker } from '../../build/lib/index.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const SIZES = (process.env.WW_BENCH_SIZES ?? '1000,10000,30000').split(',').map(Number);
const EVENT_SIZES = [100, 10_000];
const EVENTS_PER_ROUND = 10_000;
const ROUNDS_OF_EVENTS = 3;
/** Past 16,384 elements V8 allocates an array as a large object: a short diagnostic of containers$ at the largest size. */
const LARGE_EVENTS = 300;
const RELIST_AT = 10_000;
/** `resyncInterval` of the relist watcher (ms), and how long to wait for its periodic relist. */
const PERIODIC = 3_000;
const PERIODIC_WAIT = 8_000;
/** Timed sync rounds per client at each size (WW_BENCH_ROUNDS). */
const ROUNDS = Number(process.env.WW_BENCH_ROUNDS ?? 5);
/**
 * Containers synced per timed round at every size (WW_BENCH_PER_ROUND; default the largest size): a round at
 * a smaller size is that many syncs in a row of one client. A round starts with a forced gc, and that gc
 * throws away optimized code whose embedded objects died with the previous round ("weak objects"
 * deoptimizations): each round then pays a fixed ~100-150 ms of CPU to re-optimize (node:http's streams
 * more than the watcher's pipelined client), which at 1,000 containers is 100-150 µs per container and made
 * the smallest size's ratio look lower. With as many containers per round at every size, that fixed cost
 * weighs the same everywhere; each client still pays its own garbage and every sync's own setup.
 */
const PER_ROUND = Number(process.env.WW_BENCH_PER_ROUND ?? SIZES.at(-1));
/** Syncs in a row per timed round at size `n`. */
const syncsPerRound = (n) => Math.max(1, Math.round(PER_ROUND / n));
/** The Docker adapter's default (DockerOptions.concurrency): requests in flight. */
const IN_FLIGHT = 64;

const gc = globalThis.gc;
if (gc === undefined) {
  console.error('scale.mjs needs --expose-gc (node --expose-gc scripts/bench/scale.mjs)');
  process.exit(2);
}
const log = (msg = '') => console.log(msg);
const progress = (msg) => console.error(`  … ${msg}`);
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const verdict = (ok) => (ok ? 'PASS' : 'MISS');
const now = () => performance.now();
function fullGc() {
  gc();
  gc();
}

// ------------------------------------------------------------------------------------------ the engine

const { ask, stop: stopEngine } = await engineProcess(join(HERE, 'scale-engine.mjs'));

const requests = async () => (await ask({ op: 'requests' })).requests;

// ------------------------------------------------------------------------------------------ the raw client


/**
 * The watcher's first sync: `watchDocker` → `ready`, then (untimed) `after(ww)` while it is alive, then
 * closed. The caller took a full gc just before, so the heap it measures after is the watcher's.
 */
async function watcherSync(url, after) {
  const ww = watchDocker({ host: url });
  try {
    await ww.ready;
    const total = ww.portfolio.total;
    await after?.(ww);
    return total;
  } finally {
    await ww.close();
  }
}

// ------------------------------------------------------------------------------------------ 1 + 2: sync, heap

log(`node ${process.version}; fake Docker 26 in a child process; sizes ${SIZES.join(', ')}`);
log();
log('1. initial sync, watchDocker → ready vs a lean raw client (list + every inspection, JSON.parse), medians per sync;');
log('   wall ms and this process\'s CPU ms (the fake engine runs in another process); raw: node:http keep-alive, 4 sockets;');
log(`   every timed round syncs ${PER_ROUND} containers at every size (syncs in a row of one client after a forced gc); ${ROUNDS} rounds, each over`);
log('   every size (one engine per size), orders rotating; after a warm-up of both clients (a round at the smallest size, a sync at the others);');
log('   engine cpu: the fake engine\'s CPU µs per container (watcher / raw)');
log(['containers', 'inspect B', 'rounds×syncs', 'watcher ms', 'cpu', 'cpu µs/container', 'raw ms', 'cpu', 'cpu µs/container', 'wall ratio', 'cpu ratio', 'engine cpu µs/c', 'heap/container'].join('\t'));
const ratios = [];
/** CPU µs per container at each size: the watcher's own and the raw client's. */
const perContainerCpu = [];
const rawPerContainerCpu = [];
const heaps = [];
/** Each round's ratios, a line per size. */
const spreads = [];
/** The containers$ diagnostic at the largest size, when past 16,384. */
let large;
let sink = 0;
const engineCpu = async () => (await ask({ op: 'cpu' })).us;
/** One engine per size, filled once, so that the rounds can rotate over the sizes. */
const sized = [];
for (const n of SIZES) {
  progress(`filling an engine with ${n}`);
  const { url, bytes } = await ask({ op: 'fillExtra', n }, 'filledExtra');
  const socketPath = url.slice('unix://'.length);
  const variants = [
    ['watcher', () => watcherSync(url)],
    ['raw', () => rawSync(socketPath, 4, IN_FLIGHT)],
    // 64 sockets (one request each, the adapter's 64 in flight) measured slower than 4: a diagnostic at the smallest size
    ...(n === SIZES[0] ? [['raw64', () => rawSync(socketPath, 64, IN_FLIGHT)]] : []),
  ];
  sized.push({ n, url, bytes, syncs: syncsPerRound(n), variants, samples: { watcher: [], raw: [], raw64: [] } });
}
/** `count` syncs in a row of one client after a forced gc: per sync, wall ms, this process's CPU ms, and the engine's CPU µs per container. */
async function timedSyncs({ n }, [name, run], count) {
  fullGc();
  const e0 = await engineCpu();
  const c0 = process.cpuUsage();
  const t0 = now();
  for (let k = 0; k < count; k++) {
    const total = await run();
    if (total !== n) throw new Error(`${name} synced ${total} containers, not ${n}`);
  }
  const ms = (now() - t0) / count;
  const c = process.cpuUsage(c0);
  const cpu = (c.user + c.system) / 1000 / count;
  const engine = ((await engineCpu()) - e0) / (n * count);
  return { ms, cpu, engine };
}
// Warm-ups (not counted): a whole round of every client at the smallest size (the JIT's), then a sync of each
// at every size (a fake engine serves its first sync at ~2x its CPU per container: measured 64-67 µs against
// 27-31 at 30,000 for the watcher's requests, in a round right after the fill).
for (const [j, s] of sized.entries()) {
  const count = j === 0 ? s.syncs : 1;
  progress(`warm-up at ${s.n}: ${count} syncs per client`);
  for (const v of s.variants) await timedSyncs(s, v, count);
}
// The timed rounds: every size in each round (the machine's load falls on all sizes alike), order rotating.
for (let r = 0; r < ROUNDS; r++) {
  for (let j = 0; j < sized.length; j++) {
    const s = sized[(j + r) % sized.length];
    progress(`sync of ${s.n}: round ${r + 1}/${ROUNDS} (${s.syncs} syncs per client)`);
    for (let v = 0; v < s.variants.length; v++) {
      const variant = s.variants[(v + r + j) % s.variants.length]; // rotating order
      s.samples[variant[0]].push(await timedSyncs(s, variant, s.syncs));
    }
  }
}
for (const { n, url, bytes, syncs, samples } of sized) {
  const med = (name, k) => median(samples[name].map((x) => x[k]));
  const [w, wc, raw, rawc] = [med('watcher', 'ms'), med('watcher', 'cpu'), med('raw', 'ms'), med('raw', 'cpu')];
  const ratio = { wall: w / raw, cpu: wc / rawc };
  ratios.push(ratio);
  perContainerCpu.push((wc * 1000) / n);
  rawPerContainerCpu.push((rawc * 1000) / n);
  if (samples.raw64.length > 0) log(`(raw with 64 sockets at ${n}: ${med('raw64', 'ms').toFixed(1)} ms, cpu ${med('raw64', 'cpu').toFixed(1)} ms per sync)`);
  // The spread: each round's ratio (the two clients' samples of one round, at one size, taken one after the other).
  const perRound = (k) => samples.watcher.map((x, i) => (x[k] / samples.raw[i][k]).toFixed(2)).join(' ');
  spreads.push(`(each round's ratio at ${n}: wall ${perRound('ms')}; cpu ${perRound('cpu')})`);

  // Untimed: one more watcher sync after a full gc, for the heap it holds with its picture and, past 16,384, the containers$ diagnostic.
  // The diagnostic's events come from the main fake engine (the one `churn` drives): filled with the same n containers.
  const diagnose = n > 16_384 && n === SIZES.at(-1);
  const target = diagnose ? (await ask({ op: 'fill', n }, 'filled')).url : url;
  progress(`heap at ${n}`);
  fullGc();
  const heapBefore = process.memoryUsage().heapUsed;
  let perContainer;
  await watcherSync(target, async (ww) => {
    fullGc();
    perContainer = (process.memoryUsage().heapUsed - heapBefore) / n;
    if (diagnose) {
      progress(`events at ${n}: a short diagnostic`);
      large = { n, none: await perEvent(ww, () => undefined, LARGE_EVENTS, 1), containers: await perEvent(ww, (x) => x.containers$.subscribe((cs) => (sink += cs.length)), LARGE_EVENTS, 1) };
    }
  });
  heaps.push(perContainer);
  const eng = `${med('watcher', 'engine').toFixed(0)} / ${med('raw', 'engine').toFixed(0)}`;
  log([n, bytes, `${ROUNDS}×${syncs}`, w.toFixed(1), wc.toFixed(1), ((wc * 1000) / n).toFixed(0), raw.toFixed(1), rawc.toFixed(1), ((rawc * 1000) / n).toFixed(0), `${ratio.wall.toFixed(2)}x`, `${ratio.cpu.toFixed(2)}x`, eng, `${(perContainer / 1024).toFixed(2)} KB`].join('\t'));
}
for (const line of spreads) log(line);
for (const k of ['wall', 'cpu']) {
  const flat = ratios.at(-1)[k] / ratios[0][k];
  log(`sync ratio (${k}) from ${SIZES[0]} to ${SIZES.at(-1)}: ${ratios.map((r) => r[k].toFixed(2)).join(' → ')} (${flat.toFixed(2)}× the smallest's; goal ≤ 1.25: flat) ${verdict(flat <= 1.25)}`);
}
{
  const growth = perContainerCpu.at(-1) / perContainerCpu[0];
  log(`watcher's own CPU per container from ${SIZES[0]} to ${SIZES.at(-1)}: ${perContainerCpu.map((x) => `${x.toFixed(0)} µs`).join(' → ')} (${growth.toFixed(2)}×; goal ≤ 1.25: no superlinear term) ${verdict(growth <= 1.25)}`);
  log(`raw client's CPU per container from ${SIZES[0]} to ${SIZES.at(-1)}: ${rawPerContainerCpu.map((x) => `${x.toFixed(0)} µs`).join(' → ')} (${(rawPerContainerCpu.at(-1) / rawPerContainerCpu[0]).toFixed(2)}×)`);
}
log(`heap per container held at ${SIZES.at(-1)}: ${(heaps.at(-1) / 1024).toFixed(2)} KB (goal ≤ 4 KB; the Kubernetes informer ~13 KB per pod) ${verdict(heaps.at(-1) <= 4096)}`);

// ------------------------------------------------------------------------------------------ 3 + 4: events, relist

/**
 * Best µs per event (wall and this process's CPU) over EVENT_ROUNDS after a warm-up round, fed by the
 * engine's event stream to `ww` (`consume` subscribed), from the first event applied to the last.
 */
async function perEvent(ww, consume, EVENTS = EVENTS_PER_ROUND, EVENT_ROUNDS = ROUNDS_OF_EVENTS) {
  const sub = consume(ww);
  const best = { wall: Infinity, cpu: Infinity };
  for (let r = 0; r < EVENT_ROUNDS + 1; r++) {
    fullGc();
    let seen = 0;
    let t0 = 0;
    let c0;
    const done = firstValueFrom(
      ww.lifecycle$.pipe(
        filter((e) => !e.synthetic && (e.type === 'paused' || e.type === 'unpaused')),
        filter(() => {
          if (seen++ === 0) {
            t0 = now();
            c0 = process.cpuUsage();
          }
          return seen === EVENTS;
        }),
      ),
    );
    await ask({ op: 'churn', k: EVENTS }, 'churned');
    await done;
    const c = process.cpuUsage(c0);
    const wall = ((now() - t0) * 1000) / (EVENTS - 1);
    const cpu = (c.user + c.system) / (EVENTS - 1);
    if (r > 0) {
      best.wall = Math.min(best.wall, wall);
      best.cpu = Math.min(best.cpu, cpu);
    }
  }
  sub?.unsubscribe();
  return best;
}

/** The Docker adapter with every list it makes timed, from subscribe to its value: the first sync, reconnects and periodic relists alike. */
function timedDockerAdapter(url) {
  const adapter = dockerAdapter({ host: url, resyncInterval: PERIODIC });
  const lists$ = new Subject();
  const timed = Object.create(adapter);
  timed.snapshot = (...args) =>
    defer(() => {
      const t0 = now();
      return adapter.snapshot(...args).pipe(tap(() => lists$.next(now() - t0)));
    });
  return { adapter: timed, lists$ };
}

/** Requests by kind made between two counts. */
const minus = (after, before) => Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - before[k]]));

/** A periodic relist (if the build has them), then a reconnect's, on a fresh watcher of the engine's `n` containers. */
async function measureRelists(url, n) {
  const out = [];
  const { adapter, lists$ } = timedDockerAdapter(url);
  const ww = watch(adapter, { retry: 1 });
  if (process.env.WW_BENCH_DEBUG) ww.status$.subscribe((s) => progress(`status ${s.state} ${s.error?.message ?? ""}`));
  try {
    await ww.ready;
    // periodic: the next list after the first sync, with nothing else going on
    let before = await requests();
    let timer;
    const listMs = await Promise.race([
      firstValueFrom(lists$),
      new Promise((resolve) => (timer = setTimeout(() => resolve(undefined), PERIODIC_WAIT))),
    ]).finally(() => clearTimeout(timer));
    if (listMs === undefined) out.push({ kind: 'periodic' });
    else out.push({ kind: `periodic, resyncInterval ${PERIODIC} ms`, ms: listMs, listMs, diff: minus(await requests(), before) });
    // the reconnect's: cut the event stream, until live again
    fullGc();
    before = await requests();
    const t0 = now();
    const degraded = firstValueFrom(ww.status$.pipe(filter((s) => s.state === 'degraded')));
    const listed = firstValueFrom(lists$);
    await ask({ op: 'cut' });
    await degraded;
    const reconnectListMs = await listed;
    await firstValueFrom(ww.status$.pipe(filter((s) => s.state === 'live')));
    const ms = now() - t0;
    out.push({ kind: 'reconnect: event stream cut → live again', ms, listMs: reconnectListMs, diff: minus(await requests(), before) });
    if (ww.portfolio.total !== n) throw new Error(`after the relists the watcher has ${ww.portfolio.total} containers, not ${n}`);
    return out;
  } finally {
    await ww.close();
  }
}

const consumers = {
  'no subscriber': () => undefined,
  'containers$': (ww) => ww.containers$.subscribe((cs) => (sink += cs.length)),
};
log();
log(`3. events absorbed (pause/unpause on the engine's event stream), best of ${ROUNDS_OF_EVENTS} rounds of ${EVENTS_PER_ROUND} after a warm-up round`);
log(['consumer', ...EVENT_SIZES.map((n) => `µs/event at ${n}`), ...EVENT_SIZES.map((n) => `cpu µs at ${n}`), ...EVENT_SIZES.map((n) => `events/s at ${n}`), `ratio ${EVENT_SIZES[1]}/${EVENT_SIZES[0]}`, 'cpu ratio', 'goal ≤ 2x'].join('\t'));
const eventCosts = Object.fromEntries(Object.keys(consumers).map((k) => [k, []]));
let relists;
for (const n of EVENT_SIZES) {
  const { url } = await ask({ op: 'fill', n }, 'filled');
  const ww = watchDocker({ host: url, resyncInterval: false }); // no periodic relist during the measure (where the build has them)
  await ww.ready;
  for (const [name, consume] of Object.entries(consumers)) {
    progress(`events at ${n}, ${name}`);
    eventCosts[name].push(await perEvent(ww, consume));
  }
  await ww.close();
  if (n === RELIST_AT) {
    progress(`relists at ${n}`);
    relists = await measureRelists(url, n);
  }
}
for (const [name, [small, big]] of Object.entries(eventCosts)) {
  const ratio = big.wall / small.wall;
  const cpuRatio = big.cpu / small.cpu;
  log([name, small.wall.toFixed(2), big.wall.toFixed(2), small.cpu.toFixed(2), big.cpu.toFixed(2), Math.round(1e6 / small.wall), Math.round(1e6 / big.wall), `${ratio.toFixed(2)}x`, `${cpuRatio.toFixed(2)}x`, verdict(cpuRatio <= 2)].join('\t'));
}
if (large !== undefined) {
  const f = (x) => `${x.wall.toFixed(1)} µs (cpu ${x.cpu.toFixed(1)})`;
  log(`diagnostic at ${large.n} (1 round of ${LARGE_EVENTS} after a warm-up round): no subscriber ${f(large.none)}, containers$ ${f(large.containers)} per event`);
}
log();
log(`4. relists at ${RELIST_AT}`);
for (const r of relists) {
  if (r.diff === undefined) {
    log(`relist (${r.kind}): none within ${PERIODIC_WAIT / 1000} s of the first sync (this build has no periodic relist)`);
    continue;
  }
  const total = Object.values(r.diff).reduce((a, b) => a + b, 0);
  log(`relist: ${total} requests, ${r.ms.toFixed(0)} ms — ${r.kind} (list ${r.diff.list}, inspections ${r.diff.inspect}, event streams ${r.diff.events}, other ${r.diff.other}; the list itself ${r.listMs.toFixed(0)} ms)`);
}

await ask({ op: 'close' }, 'never').catch(() => undefined);
if (sink === 0.5) log(sink);
