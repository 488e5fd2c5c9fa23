#!/usr/bin/env node
// Benchmark: initial sync of the containerd (native gRPC) and CRI adapters against raw serial gRPC
// baselines measured in the same run, on one private containerd 1.7 that this script starts and stops.
//
//   node scripts/bench/containerd.mjs [containerd] [cri]        (as root; default: both parts)
//
// Build dist/ first (`npx tsc -p tsconfig.json`; `npm run bench` does it): the script imports the BUILT
// library. It opens an engine lab with containerd17 (scripts/engines/lab.mjs: install.sh, mk-images.sh, a
// fresh /tmp/ww-bench-ctd.*, start.sh) and ALWAYS stops it (also after a failure, SIGINT/SIGTERM/SIGHUP or
// the time limit: then the bench's own workload is removed first), then removes it (unless WW_KEEP_LAB=1).
//
// Prints, each as a ratio of medians with its goal and PASS/MISS (a MISS is a finding, not an error: exit
// code 0; exit code 1 means the benchmark could not run or the engine could not be cleaned up):
//   1. containerd: `watchContainerd({address})` → `ready` with N tasks (default 100, `ctr run -d` in three
//      namespaces), against raw gRPC with the generated clients, strictly serial: Namespaces.List, then per
//      namespace Containers.List, then one Tasks.Get per container. Goal ≤ 0.6. The tasks are killed and
//      deleted (with their containers) before part 2.
//   2. CRI: `watchCri({endpoint})` → `ready` with P pods (default 30, host network) × 2 containers = 3P
//      alive entries (sandboxes count), against raw CRI gRPC, strictly serial: ListContainers (running) +
//      ListPodSandbox, then ContainerStatus(verbose) / PodSandboxStatus(verbose) for each. Goal ≤ 0.3. The
//      pods are stopped and removed through CRI at the end.
// Every sample makes its own connection (the watcher its channel, the baseline its clients). Variants are
// interleaved with a rotating order, after warm-up rounds; medians over the rounds, plus the median of the
// per-round paired ratios as a cross-check. Context rows: the adapters at other `concurrency` settings and
// raw floors (the adapter's own calls without its event stream) show whether concurrency is the limit.
//
// Environment: WW_BENCH_TASKS (100), WW_BENCH_PODS (30), WW_BENCH_ROUNDS (7), WW_BENCH_WARMUP (2),
// WW_BENCH_LIMIT_S (900: the whole run, teardown included, is bounded), WW_KEEP_LAB=1 (keep the lab).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { Channel, Metadata, credentials } from '@grpc/grpc-js';
import { createLab, tail } from '../engines/lab.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const DIST = join(ROOT, 'dist');
const ENGINE = 'containerd17';
const PARTS = ['containerd', 'cri'];
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
for (const w of wanted) {
  if (!PARTS.includes(w)) {
    console.error(`usage: node scripts/bench/containerd.mjs [containerd] [cri]   (unknown part: ${w})`);
    process.exit(2);
  }
}
const SELECTED = wanted.length > 0 ? wanted : PARTS;

const N_TASKS = Number(process.env.WW_BENCH_TASKS ?? 100);
const N_PODS = Number(process.env.WW_BENCH_PODS ?? 30);
const ROUNDS = Number(process.env.WW_BENCH_ROUNDS ?? 7);
const WARMUP = Number(process.env.WW_BENCH_WARMUP ?? 2);
const LIMIT_S = Number(process.env.WW_BENCH_LIMIT_S ?? 900);
/** Goal per part: containerd's initial sync ≤ 0.6; CRI's ≤ 0.3 (issue 8: PIDs from containerd's task list, not a status call each). */
const GOALS = { containerd: 0.6, cri: 0.3 };
const NAMESPACES = ['ww-bench-a', 'ww-bench-b', 'ww-bench-c'];
const CTD_IMAGE = 'docker.io/library/busybox:lab';
const CRI_IMAGE = 'docker.io/library/busybox:lab';
const CRI_CONTAINERS = ['a', 'b'];
const BENCH_LABEL = 'whalewatcher.bench';
const RUN_ID = `${process.pid.toString(36)}${Date.now().toString(36).slice(-4)}`;
const ADAPTER_DEFAULT_CONCURRENCY = 16; // ContainerdOptions.concurrency / CriOptions.concurrency default
const CREATE_WIDTH = 8; // ctr runs / pods created at once

const log = (msg = '') => console.log(msg);
/** Progress goes to stderr, so stdout holds only the report. */
const progress = (msg) => console.error(`  … ${msg}`);
const warn = (msg) => console.error(`containerd.mjs: ${msg}`);
const sleep = (t) => new Promise((r) => setTimeout(r, t));
const fmtLoad = () => loadavg().map((l) => l.toFixed(2)).join(' ');
const fmtMs = (x) => `${x.toFixed(1)} ms`;
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const gc = globalThis.gc ?? (() => {});

/** Set by a signal or the time limit: no new work starts, teardown takes over. */
let aborting = false;
function notAborting() {
  if (aborting) throw new Error('aborted');
}
/** The engine work in flight (creating tasks or pods): teardown waits for it before cleaning up. */
let busy = Promise.resolve();

/** Fails a step that hangs instead of hanging the whole run. */
function bounded(promise, what, limitMs = 60_000) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no result after ${limitMs / 1000} s`)), limitMs);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * Runs `jobs` (functions returning promises) with at most `width` in flight; all settle, first error
 * rethrown. Once aborting, starts no more jobs (unless `cleanup`: teardown work always runs).
 */
async function pool(jobs, width, { cleanup = false } = {}) {
  const results = new Array(jobs.length);
  let next = 0;
  let failure;
  await Promise.all(
    Array.from({ length: Math.min(width, jobs.length) }, async () => {
      while (next < jobs.length && (cleanup || !aborting)) {
        const i = next++;
        try {
          results[i] = await jobs[i]();
        } catch (e) {
          failure ??= e;
        }
      }
    }),
  );
  if (failure) throw failure;
  if (!cleanup) notAborting();
  return results;
}

/** Runs a command; resolves { code, out, err } (never rejects). */
function exec(cmd, args, { env = process.env, timeoutMs = 60_000, echo = false } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => {
      out += d;
      if (echo) process.stderr.write(d);
    });
    child.stderr.on('data', (d) => {
      err += d;
      if (echo) process.stderr.write(d);
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: -1, out, err: `${err}${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), out, err });
    });
  });
}

// ----------------------------------------------------------------------------------------- engine (lab)

/** The engine lab (scripts/engines/lab.mjs), once created. */
let lab;
let teardownFailed = false;
let SOCK; // containerd socket path
let CTR = 'ctr';

/** Opens the lab with containerd17; resolves with the daemon's ready time in ms. */
async function startEngine() {
  if (process.getuid?.() !== 0) throw new Error('this benchmark starts a private containerd and needs root');
  lab = createLab({
    engines: [ENGINE],
    prefix: '/tmp/ww-bench-ctd.',
    log: progress,
    warn,
    output: 'stderr',
    // a signal or the time limit: the bench's own containers and pods go through the engine first
    beforeStop: () => {
      aborting = true;
      return cleanUpWorkload();
    },
    beforeStopLimitMs: 250_000,
  });
  await lab.open();
  const [started] = lab.results;
  if (!started.ok) throw new Error(`${ENGINE} did not start:\n${tail(started.output, 5)}\nlog ${join(lab.dir, `${ENGINE}.start.log`)}`);
  SOCK = started.endpoint;
  CTR = lab.cliEnv(ENGINE).WW_CTR_CLI ?? 'ctr';
  return started.readyMs;
}

const ctr = (args, timeoutMs = 60_000) => exec(CTR, ['--address', SOCK, ...args], { timeoutMs });

// ------------------------------------------------------------------------------------------- gRPC helpers

/** Promise form of a generated unary method, raw (no library code in the baselines). */
function unary(client, method, request, metadata = new Metadata()) {
  return new Promise((resolve, reject) => {
    client[method](request, metadata, (error, response) => (error ? reject(error) : resolve(response)));
  });
}
const isNotFound = (e) => e?.code === 5;
function nsMetadata(ns) {
  const md = new Metadata();
  md.set('containerd-namespace', ns);
  return md;
}
function pidOf(info) {
  try {
    return JSON.parse(info?.info ?? '{}').pid ?? 0;
  } catch {
    return 0;
  }
}

// the library and its generated clients (BUILT: dist/), loaded in main() so a missing build is reported first
let L;
async function loadLibrary() {
  const need = ['index.js', 'engines/cri/watch-cri.js', 'gen/cri/api.js'];
  for (const f of need) {
    if (!existsSync(join(DIST, f))) throw new Error(`dist/${f} is missing: build first (npx tsc -p tsconfig.json)`);
  }
  const imp = (p) => import(new URL(`../../dist/${p}`, import.meta.url).href);
  const index = await imp('index.js');
  // watchCri may not be exported from the package index yet: fall back to its module
  const watchCri = index.watchCri ?? (await imp('engines/cri/watch-cri.js')).watchCri;
  L = {
    watchContainerd: index.watchContainerd,
    watchCri,
    ignored: new Set(index.DEFAULT_IGNORED_NAMESPACES),
    ...(await imp('gen/containerd/services/namespaces/v1/namespace.js')),
    ...(await imp('gen/containerd/services/containers/v1/containers.js')),
    ...(await imp('gen/containerd/services/tasks/v1/tasks.js')),
    TaskStatus: (await imp('gen/containerd/types/task/task.js')).Status,
    cri: await imp('gen/cri/api.js'),
  };
}

// --------------------------------------------------------------------------------- interleaved rounds

/** Runs all variants per round (rotating the order), after WARMUP rounds; returns name → samples (ms). */
async function rounds(title, variants) {
  const samples = new Map(variants.map(([name]) => [name, []]));
  const t0 = performance.now();
  for (let r = 0; r < WARMUP + ROUNDS; r++) {
    for (let k = 0; k < variants.length; k++) {
      const [name, run] = variants[(k + r) % variants.length];
      notAborting();
      gc();
      const t = await run();
      if (r >= WARMUP) samples.get(name).push(t);
    }
    progress(`${title}: round ${r + 1}/${WARMUP + ROUNDS}${r < WARMUP ? ' (warm-up)' : ''} at ${((performance.now() - t0) / 1000).toFixed(1)} s, load ${fmtLoad()}`);
  }
  return { samples, seconds: (performance.now() - t0) / 1000 };
}

/** Prints the goal line and context rows of one figure. */
function report({ samples, seconds }, { subject, baseline, context, goal }) {
  const med = (name) => median(samples.get(name));
  const spread = (name) => `[${Math.min(...samples.get(name)).toFixed(1)}–${Math.max(...samples.get(name)).toFixed(1)}]`;
  const base = med(baseline);
  const paired = (name) => median(samples.get(name).map((x, i) => x / samples.get(baseline)[i]));
  const ratio = med(subject) / base;
  const width = Math.max(...[subject, baseline, ...context].map((n) => n.length));
  log(`   ${subject.padEnd(width)}  median ${fmtMs(med(subject)).padStart(9)} ${spread(subject)}`);
  log(`   ${baseline.padEnd(width)}  median ${fmtMs(base).padStart(9)} ${spread(baseline)}`);
  log(`   => ratio ${ratio.toFixed(3)} (paired per-round median ${paired(subject).toFixed(3)})   goal ≤ ${goal}   ${ratio <= goal ? 'PASS' : 'MISS'}`);
  if (context.length > 0) log('   context (same rounds):');
  for (const name of context) {
    log(`     ${name.padEnd(width)}  median ${fmtMs(med(name)).padStart(9)} ${spread(name)}  ratio ${(med(name) / base).toFixed(3)}`);
  }
  log(`   ${ROUNDS} rounds after ${WARMUP} warm-up, ${seconds.toFixed(1)} s; load average ${fmtLoad()}`);
  return ratio;
}

function check(found, expected, what) {
  if (found !== expected) throw new Error(`${what} saw ${found} alive containers, expected ${expected}: is the engine private?`);
}

// ------------------------------------------------------------------------------------ part 1: containerd

const made = []; // { ns, id } of every ctr container asked for

async function createTasks() {
  const t0 = performance.now();
  const imports = await Promise.all(NAMESPACES.map((ns) => ctr(['-n', ns, 'images', 'import', join(lab.dir, 'images', 'busybox.tar')], 120_000)));
  const badImport = imports.find((r) => r.code !== 0);
  if (badImport) throw new Error(`ctr images import failed: ${badImport.err.trim()}`);
  const jobs = Array.from({ length: N_TASKS }, (_, i) => {
    const ns = NAMESPACES[i % NAMESPACES.length];
    const id = `ww-bench-${RUN_ID}-${i}`;
    return async () => {
      made.push({ ns, id });
      const r = await ctr(['-n', ns, 'run', '-d', CTD_IMAGE, id, 'sleep', '100000']);
      if (r.code !== 0) throw new Error(`ctr -n ${ns} run -d … ${id} failed: ${r.err.trim()}`);
    };
  });
  await pool(jobs, CREATE_WIDTH);
  return performance.now() - t0;
}

let tasksCleaned;
function removeTasks() {
  tasksCleaned ??= (async () => {
    if (made.length === 0) return 0;
    const jobs = made.map(({ ns, id }) => async () => {
      await ctr(['-n', ns, 'tasks', 'kill', '-s', 'SIGKILL', id], 20_000);
      await ctr(['-n', ns, 'tasks', 'delete', '-f', id], 30_000);
      const r = await ctr(['-n', ns, 'containers', 'delete', id], 30_000);
      if (r.code !== 0 && !/not found/i.test(r.err)) throw new Error(`ctr -n ${ns} containers delete ${id}: ${r.err.trim()}`);
    });
    await pool(jobs, CREATE_WIDTH, { cleanup: true });
    let left = 0;
    for (const ns of NAMESPACES) {
      const t = await ctr(['-n', ns, 'tasks', 'ls', '-q']);
      const c = await ctr(['-n', ns, 'containers', 'ls', '-q']);
      left += (t.out + c.out).split(/\s+/).filter(Boolean).length;
    }
    if (left > 0) throw new Error(`${left} tasks/containers left in ${NAMESPACES.join(', ')} after cleanup`);
    return made.length;
  })();
  return tasksCleaned;
}

function ctdClients() {
  const channel = new Channel(`unix://${SOCK}`, credentials.createInsecure(), {});
  const shared = { channelOverride: channel };
  const creds = credentials.createInsecure();
  return {
    channel,
    namespaces: new L.NamespacesClient(`unix://${SOCK}`, creds, shared),
    containers: new L.ContainersClient(`unix://${SOCK}`, creds, shared),
    tasks: new L.TasksClient(`unix://${SOCK}`, creds, shared),
  };
}
const aliveStatus = (s) => s === L.TaskStatus.RUNNING || s === L.TaskStatus.PAUSED || s === L.TaskStatus.PAUSING;

/** Baseline: Namespaces.List, then per namespace Containers.List, then Tasks.Get per container; strictly serial. */
async function ctdSerial() {
  const t0 = performance.now();
  const c = ctdClients();
  try {
    let alive = 0;
    const { namespaces } = await unary(c.namespaces, 'list', { filter: '' });
    for (const { name } of namespaces) {
      if (L.ignored.has(name)) continue; // the namespaces the adapter watches
      const md = nsMetadata(name);
      const { containers } = await unary(c.containers, 'list', { filters: [] }, md);
      for (const container of containers) {
        try {
          const { process } = await unary(c.tasks, 'get', { containerId: container.id, execId: '' }, md);
          if (aliveStatus(process?.status)) alive++;
        } catch (e) {
          if (!isNotFound(e)) throw e; // a container without a task
        }
      }
    }
    const t = performance.now() - t0;
    check(alive, N_TASKS, 'raw serial (containerd)');
    return t;
  } finally {
    c.channel.close();
  }
}

/** Floor: the adapter's own list calls (Namespaces.List, per namespace Containers.List + Tasks.List), serial, no event stream. */
async function ctdListFloor() {
  const t0 = performance.now();
  const c = ctdClients();
  try {
    let alive = 0;
    const { namespaces } = await unary(c.namespaces, 'list', { filter: '' });
    for (const { name } of namespaces) {
      if (L.ignored.has(name)) continue;
      const md = nsMetadata(name);
      await unary(c.containers, 'list', { filters: [] }, md);
      const { tasks } = await unary(c.tasks, 'list', { filter: '' }, md);
      alive += tasks.filter((t) => aliveStatus(t.status)).length;
    }
    const t = performance.now() - t0;
    check(alive, N_TASKS, 'raw list floor (containerd)');
    return t;
  } finally {
    c.channel.close();
  }
}

function ctdWatcher(options = {}) {
  return async () => {
    const t0 = performance.now();
    const ww = L.watchContainerd({ address: SOCK, ...options });
    try {
      await bounded(ww.ready, 'watchContainerd ready');
      const t = performance.now() - t0;
      check(ww.portfolio.total, N_TASKS, 'watchContainerd');
      return t;
    } finally {
      await ww.close();
    }
  };
}

async function partContainerd() {
  progress(`containerd: importing the image into ${NAMESPACES.join(', ')} and creating ${N_TASKS} tasks (${CREATE_WIDTH} at a time)`);
  busy = createTasks();
  const createMs = await bounded(busy, 'creating the containerd tasks', 300_000);
  log(`1. containerd initial sync: ${N_TASKS} tasks in ${NAMESPACES.length} namespaces (${NAMESPACES.join(', ')}; created in ${(createMs / 1000).toFixed(1)} s), load average ${fmtLoad()}`);
  const SUBJECT = `watchContainerd → ready (default concurrency ${ADAPTER_DEFAULT_CONCURRENCY})`;
  const BASELINE = 'baseline: serial Namespaces.List → Containers.List → Tasks.Get ×N';
  const C1 = 'watchContainerd concurrency 1';
  const P10 = 'watchContainerd probeInterval 10 (default 100)';
  const FLOOR = 'raw floor: adapter list calls, serial, no event stream';
  const result = await rounds('containerd', [
    [BASELINE, ctdSerial],
    [SUBJECT, ctdWatcher()],
    [C1, ctdWatcher({ concurrency: 1 })],
    [P10, ctdWatcher({ probeInterval: 10 })],
    [FLOOR, ctdListFloor],
  ]);
  const ratio = report(result, { subject: SUBJECT, baseline: BASELINE, context: [C1, P10, FLOOR], goal: GOALS.containerd });
  progress('containerd: killing and deleting the tasks');
  const t0 = performance.now();
  const n = await bounded(removeTasks(), 'removing the containerd tasks', 300_000);
  progress(`containerd: ${n} tasks killed and deleted in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return ratio;
}

// ------------------------------------------------------------------------------------------- part 2: CRI

const podIds = new Set();
let criLogDir;

function criClient() {
  return new L.cri.RuntimeServiceClient(`unix://${SOCK}`, credentials.createInsecure());
}

async function createPods(client) {
  const t0 = performance.now();
  const { NamespaceMode, NamespaceOption, PodSandboxConfig, CreateContainerRequest } = L.cri;
  const hostNetwork = NamespaceOption.fromPartial({ network: NamespaceMode.NODE, pid: NamespaceMode.CONTAINER, ipc: NamespaceMode.POD });
  criLogDir = join(lab.dir, 'cri-bench-logs');
  mkdirSync(criLogDir, { recursive: true });
  const jobs = Array.from({ length: N_PODS }, (_, i) => async () => {
    // no hostname: host-network pods cannot set one
    const config = PodSandboxConfig.fromPartial({
      metadata: { name: `ww-bench-${i}`, uid: `ww-bench-${RUN_ID}-${i}`, namespace: 'ww-bench', attempt: 0 },
      logDirectory: criLogDir,
      labels: { [BENCH_LABEL]: RUN_ID },
      linux: { securityContext: { namespaceOptions: hostNetwork } },
    });
    const { podSandboxId } = await unary(client, 'runPodSandbox', { config, runtimeHandler: '' });
    podIds.add(podSandboxId);
    for (const name of CRI_CONTAINERS) {
      const request = CreateContainerRequest.fromPartial({
        podSandboxId,
        sandboxConfig: config,
        config: {
          metadata: { name, attempt: 0 },
          image: { image: CRI_IMAGE },
          command: ['/bin/sleep', '100000'],
          labels: { [BENCH_LABEL]: RUN_ID },
          logPath: `${name}.log`,
          linux: { securityContext: { namespaceOptions: hostNetwork } },
        },
      });
      const { containerId } = await unary(client, 'createContainer', request);
      await unary(client, 'startContainer', { containerId });
    }
  });
  await pool(jobs, CREATE_WIDTH);
  return performance.now() - t0;
}

/**
 * containerd 1.7 replays CRI events produced while nobody listened to the next subscriber: read that
 * backlog once (until 500 ms of quiet), so that no watcher sample gets it.
 */
async function drainCriEvents() {
  const client = criClient();
  try {
    const stream = client.getContainerEvents({});
    let n = 0;
    let last = performance.now();
    stream.on('data', () => {
      n++;
      last = performance.now();
    });
    stream.on('error', () => {}); // CANCELLED after our cancel()
    const t0 = performance.now();
    while (performance.now() - last < 500 && performance.now() - t0 < 15_000) await sleep(50);
    stream.cancel();
    return n;
  } finally {
    client.close();
  }
}

let podsCleaned;
function removePods() {
  podsCleaned ??= (async () => {
    const client = criClient();
    try {
      const listed = await unary(client, 'listPodSandbox', { filter: { id: '', labelSelector: { [BENCH_LABEL]: RUN_ID } } });
      const ids = new Set([...podIds, ...listed.items.map((p) => p.id)]);
      await pool(
        [...ids].map((id) => async () => {
          try {
            await unary(client, 'stopPodSandbox', { podSandboxId: id });
            await unary(client, 'removePodSandbox', { podSandboxId: id });
          } catch (e) {
            if (!isNotFound(e)) throw e;
          }
        }),
        4,
        { cleanup: true },
      );
      const pods = await unary(client, 'listPodSandbox', {});
      const containers = await unary(client, 'listContainers', {});
      const left = pods.items.length + containers.containers.length;
      if (left > 0) throw new Error(`${pods.items.length} pod sandboxes and ${containers.containers.length} containers left in CRI after cleanup`);
      if (criLogDir) rmSync(criLogDir, { recursive: true, force: true });
      return ids.size;
    } finally {
      client.close();
    }
  })();
  return podsCleaned;
}

const criRunningFilter = () => ({
  filter: { id: '', podSandboxId: '', labelSelector: {}, state: { state: L.cri.ContainerState.CONTAINER_RUNNING } },
});

/** Baseline: ListContainers + ListPodSandbox, then ContainerStatus(verbose) / PodSandboxStatus(verbose) each; strictly serial. */
async function criSerial() {
  const t0 = performance.now();
  const client = criClient();
  try {
    const listed = await unary(client, 'listContainers', criRunningFilter());
    const pods = await unary(client, 'listPodSandbox', {});
    const pids = [];
    for (const c of listed.containers) {
      const res = await unary(client, 'containerStatus', { containerId: c.id, verbose: true });
      if (res.status?.state === L.cri.ContainerState.CONTAINER_RUNNING) pids.push(pidOf(res.info));
    }
    for (const p of pods.items) {
      const res = await unary(client, 'podSandboxStatus', { podSandboxId: p.id, verbose: true });
      if (res.status?.state === L.cri.PodSandboxState.SANDBOX_READY) pids.push(pidOf(res.info));
    }
    const t = performance.now() - t0;
    check(pids.filter((p) => p > 0).length, N_PODS * (1 + CRI_CONTAINERS.length), 'raw serial (CRI)');
    return t;
  } finally {
    client.close();
  }
}

/** Floor: the adapter's own calls (both lists at once, then the verbose statuses `width` at a time), no event stream. */
function criParallelFloor(width, verbose = true) {
  return async () => {
    const t0 = performance.now();
    const client = criClient();
    try {
      const [listed, pods] = await Promise.all([unary(client, 'listContainers', criRunningFilter()), unary(client, 'listPodSandbox', {})]);
      const jobs = [
        ...pods.items.map((p) => async () => (await unary(client, 'podSandboxStatus', { podSandboxId: p.id, verbose })).info),
        ...listed.containers.map((c) => async () => (await unary(client, 'containerStatus', { containerId: c.id, verbose })).info),
      ];
      const infos = await pool(jobs, width);
      const t = performance.now() - t0;
      // without verbose there is no PID: count the answers instead
      check(verbose ? infos.map(pidOf).filter((p) => p > 0).length : infos.length, N_PODS * (1 + CRI_CONTAINERS.length), `raw floor c=${width} (CRI)`);
      return t;
    } finally {
      client.close();
    }
  };
}

function criWatcher(concurrency) {
  return async () => {
    const t0 = performance.now();
    const endpoint = `unix://${SOCK}`;
    const ww = L.watchCri(concurrency === undefined ? { endpoint } : { endpoint, concurrency });
    try {
      await bounded(ww.ready, 'watchCri ready');
      const t = performance.now() - t0;
      check(ww.portfolio.total, N_PODS * (1 + CRI_CONTAINERS.length), 'watchCri');
      return t;
    } finally {
      await ww.close();
    }
  };
}

async function partCri() {
  const client = criClient();
  let createMs;
  try {
    progress(`CRI: running ${N_PODS} host-network pods × ${CRI_CONTAINERS.length} containers (${CREATE_WIDTH} pods at a time)`);
    busy = createPods(client);
    createMs = await bounded(busy, 'creating the CRI pods', 300_000);
  } finally {
    client.close();
  }
  notAborting();
  const drained = await drainCriEvents();
  progress(`CRI: drained ${drained} replayed events`);
  const total = N_PODS * (1 + CRI_CONTAINERS.length);
  log(`2. CRI initial sync: ${N_PODS} pods × ${CRI_CONTAINERS.length} containers = ${total} alive (sandboxes included; created in ${(createMs / 1000).toFixed(1)} s), load average ${fmtLoad()}`);
  const SUBJECT = `watchCri → ready (default concurrency ${ADAPTER_DEFAULT_CONCURRENCY})`;
  const BASELINE = 'baseline: serial ListContainers + ListPodSandbox → verbose status ×N';
  const C1 = 'watchCri concurrency 1';
  const C64 = 'watchCri concurrency 64';
  const F16 = `raw floor: lists ∥, verbose statuses c=${ADAPTER_DEFAULT_CONCURRENCY}, no event stream`;
  const F64 = 'raw floor: lists ∥, verbose statuses c=64, no event stream';
  const F16Q = `raw floor: lists ∥, NON-verbose statuses c=${ADAPTER_DEFAULT_CONCURRENCY} (no PID), no event stream`;
  const result = await rounds('CRI', [
    [BASELINE, criSerial],
    [SUBJECT, criWatcher(undefined)],
    [C1, criWatcher(1)],
    [C64, criWatcher(64)],
    [F16, criParallelFloor(ADAPTER_DEFAULT_CONCURRENCY)],
    [F64, criParallelFloor(64)],
    [F16Q, criParallelFloor(ADAPTER_DEFAULT_CONCURRENCY, false)],
  ]);
  const ratio = report(result, { subject: SUBJECT, baseline: BASELINE, context: [C1, C64, F16, F64, F16Q], goal: GOALS.cri });
  progress('CRI: stopping and removing the pods');
  const t0 = performance.now();
  const n = await bounded(removePods(), 'removing the CRI pods', 300_000);
  progress(`CRI: ${n} pods stopped and removed in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  return ratio;
}

// ------------------------------------------------------------------------------------------------- main

let workloadCleaned;
/** Idempotent: the bench's containers and pods removed through the engine (bounded). */
function cleanUpWorkload() {
  workloadCleaned ??= (async () => {
    // calls already sent still make containers: let them settle (pools start no new ones once aborting)
    await bounded(busy.catch(() => {}), 'work in flight', 60_000).catch(() => {});
    if (SOCK !== undefined) {
      // (a cleanup the part already ran is only awaited, not repeated)
      if (made.length > 0) {
        const again = tasksCleaned !== undefined;
        await bounded(removeTasks(), 'removing the containerd tasks', 120_000).then((n) => again || progress(`teardown: ${n} containerd tasks killed and deleted`)).catch((e) => {
          teardownFailed = true;
          warn(`cleanup (containerd tasks): ${e.message}`);
        });
      }
      if (podIds.size > 0 || criLogDir) {
        const again = podsCleaned !== undefined;
        await bounded(removePods(), 'removing the CRI pods', 120_000).then((n) => again || progress(`teardown: ${n} CRI pods stopped and removed`)).catch((e) => {
          teardownFailed = true;
          warn(`cleanup (CRI pods): ${e.message}`);
        });
      }
    }
  })();
  return workloadCleaned;
}

/** The workload removed, then the lab stopped (stop.sh kills and deletes whatever is left) and removed. */
async function teardown() {
  await cleanUpWorkload();
  if (lab !== undefined && !lab.stop()) teardownFailed = true;
}

// signals (from createLab on) go through lab.abort: workload cleanup, stop, exit 128+n
setTimeout(() => {
  const why = `run exceeded WW_BENCH_LIMIT_S=${LIMIT_S} s`;
  aborting = true;
  if (lab !== undefined) void lab.abort(why, 1);
  else {
    warn(why);
    process.exit(1);
  }
}, LIMIT_S * 1000).unref();

async function main() {
  const t0 = performance.now();
  await loadLibrary();
  const loadStart = fmtLoad();
  const readyMs = await startEngine();
  const version = await ctr(['version']);
  const server = /Server:[\s\S]*?Version:\s*(\S+)/.exec(version.out)?.[1] ?? '?';
  log(`whalewatcher containerd/CRI bench: containerd ${server} (${ENGINE}, ready in ${readyMs} ms) at ${SOCK}`);
  log(`node ${process.version}, ${cpus().length} cores, load average ${loadStart} at start${globalThis.gc ? '' : ' (run with --expose-gc for a GC before each sample)'}`);
  log(`ratios: median(subject) / median(baseline), ${ROUNDS} interleaved rounds (rotating order) after ${WARMUP} warm-up; [min–max] in ms`);
  const ratios = {};
  if (SELECTED.includes('containerd')) ratios.containerd = await partContainerd();
  notAborting();
  if (SELECTED.includes('cri')) ratios.cri = await partCri();
  log(`summary: ${Object.entries(ratios).map(([k, r]) => `${k} ${r.toFixed(3)} ${r <= GOALS[k] ? 'PASS' : 'MISS'} (goal ≤ ${GOALS[k]})`).join(', ')}; load average ${fmtLoad()}; ${((performance.now() - t0) / 1000).toFixed(0)} s before teardown`);
}

let failed = false;
try {
  await main();
} catch (err) {
  failed = true;
  warn(aborting ? 'aborted' : `FAILED: ${err?.stack ?? err}`);
} finally {
  await teardown();
}
process.exitCode = failed || teardownFailed ? 1 : 0;
