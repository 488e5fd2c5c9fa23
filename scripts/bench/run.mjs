#!/usr/bin/env node
// The project's benchmark command (`npm run bench`). Benchmarks print ratios against a baseline measured in
// the same run; a MISS is a finding to read, not a failed test (exit code 1 only when a benchmark could
// not run, or the engine could not be stopped).
//
//   1. tsc -p tsconfig.json (dist/, imported by docker.mjs) and tsc -p tsconfig.spec.json (build/, imported
//      by persistent-map.mjs)
//   2. persistent-map.mjs, first-sync.mjs, portfolio-arrays.mjs, live-view.mjs (pure, no engine), scale.mjs (a fake
//      Docker 26 with 1,000-30,000 containers in a child process; no root, no engine)
//   3. as root: an engine lab with a private Docker 20.10 (scripts/engines/lab.mjs: install.sh, mk-images.sh,
//      a fresh WW_LAB, start.sh docker20), then docker.mjs against it (200 containers, created and removed
//      by docker.mjs); the lab is stopped (stop.sh) and removed always (also on SIGINT/SIGTERM/SIGHUP,
//      after the benchmarks got them, and on errors).
//   4. containerd.mjs (as root; its own lab with a containerd 1.7, through scripts/engines/lab.mjs too)
//   5. discovery.mjs (as root; its own lab of four engines and a containerd in a mount namespace of its own)
//
// Options: names of benchmarks to run (`npm run bench -- docker`, `npm run bench -- persistent-map docker`);
// default all. WW_BENCH_DOCKER_HOST=unix://… runs docker.mjs against that (private, empty) engine instead
// of starting one. WW_KEEP_LAB=1 keeps the lab folder. See docker.mjs for WW_BENCH_* knobs.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openLab } from '../engines/lab.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BENCH = join(ROOT, 'scripts', 'bench');
const ENGINE = 'docker20';
const ALL = ['persistent-map', 'first-sync', 'portfolio-arrays', 'live-view', 'docker', 'containerd', 'discovery'];
/** Pure benchmarks of build/ (tsconfig.spec.json), no engine. */
const PURE = ['persistent-map', 'first-sync', 'portfolio-arrays', 'live-view'];
// scale.mjs runs with the pure ones (built by tsconfig.spec.json, no engine: the specs' fake Docker)
ALL.splice(ALL.indexOf('docker'), 0, 'scale');
PURE.push('scale');
/** Benchmarks that measure the heap (node --expose-gc). */
const GC = ['scale'];
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
for (const w of wanted) if (!ALL.includes(w)) die(`unknown benchmark ${w} (known: ${ALL.join(', ')})`);
const selected = wanted.length > 0 ? wanted : ALL;

const log = (msg) => console.log(`[bench] ${msg}`);
const warn = (msg) => console.error(`[bench] ${msg}`);
function die(msg) {
  console.error(`[bench] ${msg}`);
  process.exit(1);
}

/** The engine lab of the docker bench, while it is open. */
let lab;
const children = new Set();
let failures = 0;

/** Runs a command, output passed through; resolves with its exit code. */
function run(cmd, args, { env = process.env, timeoutMs = 600_000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', 'inherit', 'inherit'] });
    children.add(child);
    const timer = setTimeout(() => {
      warn(`${cmd} ${args.join(' ')}: no end after ${timeoutMs / 1000} s, stopping it`);
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 20_000).unref();
    }, timeoutMs);
    child.on('error', (e) => warn(`${cmd}: ${e.message}`));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code: code ?? (signal ? 128 : 1) });
    });
  });
}

function stopEngine() {
  if (lab !== undefined && !lab.stopped && !lab.stop()) failures += 1;
}

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  // `on`, not `once`: a second Ctrl-C while the benchmarks clean up must not end this process before the lab stops
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    warn(`${sig}: stopping`);
    // the benchmarks clean up after themselves on SIGTERM (containers, their own engines): give them time
    for (const c of children) c.kill('SIGTERM');
    const t0 = Date.now();
    const poll = setInterval(() => {
      if (children.size > 0 && Date.now() - t0 < 90_000) return;
      clearInterval(poll);
      for (const c of children) c.kill('SIGKILL');
      stopEngine();
      process.exit(130);
    }, 200);
  });
}

async function main() {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const projects = ['tsconfig.json', ...(selected.some((b) => PURE.includes(b) || b === 'discovery') ? ['tsconfig.spec.json'] : [])];
  for (const project of projects) {
    const t0 = Date.now();
    const r = await run(process.execPath, [tsc, '-p', project, '--pretty', 'false']);
    if (r.code !== 0) {
      // whatever compiled is still emitted; a bench whose module is missing fails below
      warn(`tsc -p ${project} failed (exit ${r.code}, errors above); running what was emitted`);
    } else log(`tsc -p ${project}: ok (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }

  for (const name of PURE) {
    if (!selected.includes(name) || interrupted) continue;
    log(`${name}.mjs`);
    const r = await run(process.execPath, [...(GC.includes(name) ? ['--expose-gc'] : []), join(BENCH, `${name}.mjs`)], { timeoutMs: 600_000 });
    if (r.code !== 0) { warn(`${name}.mjs failed (exit ${r.code})`); failures += 1; }
  }

  if (selected.includes('docker') && !interrupted) {
    let host = process.env.WW_BENCH_DOCKER_HOST;
    let env = { ...process.env };
    if (!host) {
      if (process.getuid?.() !== 0) throw new Error('the docker bench starts a private engine and needs root (or set WW_BENCH_DOCKER_HOST)');
      // signals: false: the handler above forwards them to the benchmark first, then stops the lab
      lab = await openLab({ engines: [ENGINE], prefix: '/tmp/ww-bench-lab.', log, warn, signals: false });
      if (lab.failed.length > 0) throw new Error(`${ENGINE} did not start (log in ${join(lab.dir, `${ENGINE}.start.log`)})`);
      host = lab.endpoint(ENGINE);
      const cli = lab.cliEnv(ENGINE);
      env = { ...env, WW_LAB: lab.dir, DOCKER_CONFIG: cli.DOCKER_CONFIG, ...(cli.WW_DOCKER_CLI ? { WW_DOCKER_CLI: cli.WW_DOCKER_CLI } : {}) };
    }
    log(`docker.mjs against ${host}`);
    const r = await run(process.execPath, ['--expose-gc', join(BENCH, 'docker.mjs'), '--host', host], { env, timeoutMs: 900_000 });
    if (r.code !== 0) { warn(`docker.mjs failed (exit ${r.code})`); failures += 1; }
    stopEngine(); // before the next benchmark, so engines do not compete
  }

  if (selected.includes('containerd') && !interrupted) {
    // self-contained: starts and stops its own containerd 1.7 (see its header)
    log('containerd.mjs');
    const r = await run(process.execPath, [join(BENCH, 'containerd.mjs')], { timeoutMs: 1_000_000 });
    if (r.code !== 0) { warn(`containerd.mjs failed (exit ${r.code})`); failures += 1; }
  }

  if (selected.includes('discovery') && !interrupted) {
    // self-contained: its own lab of four engines and a containerd in a mount namespace of its own (see its header)
    log('discovery.mjs');
    const r = await run(process.execPath, [join(BENCH, 'discovery.mjs')], { timeoutMs: 600_000 });
    if (r.code !== 0) { warn(`discovery.mjs failed (exit ${r.code})`); failures += 1; }
  }
}

try {
  await main();
} catch (err) {
  warn(`FAILED: ${err?.message ?? err}`);
  failures += 1;
} finally {
  stopEngine();
}
process.exitCode = failures > 0 ? 1 : 0;
