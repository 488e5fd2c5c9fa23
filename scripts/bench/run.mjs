#!/usr/bin/env node
// The project's benchmark command (`npm run bench`). Benchmarks print ratios against a baseline measured in
// the same run; a MISS is a finding to read, not a failed test (exit code 1 only when a benchmark could
// not run, or the engine could not be stopped).
//
//   1. tsc -p tsconfig.json (dist/, imported by docker.mjs) and tsc -p tsconfig.spec.json (build/, imported
//      by persistent-map.mjs)
//   2. persistent-map.mjs (pure, no engine)
//   3. as root: scripts/engines/install.sh + mk-images.sh, a fresh WW_LAB, a private Docker 20.10
//      (scripts/engines/start.sh docker20), then docker.mjs against it (200 containers, created and removed
//      by docker.mjs); the engine is stopped with scripts/engines/stop.sh docker20 always (also on
//      SIGINT/SIGTERM/SIGHUP and errors), and the lab removed.
//   4. containerd.mjs (as root; starts and stops its own containerd 1.7)
//
// Options: names of benchmarks to run (`npm run bench -- docker`, `npm run bench -- persistent-map docker`);
// default all. WW_BENCH_DOCKER_HOST=unix://… runs docker.mjs against that (private, empty) engine instead
// of starting one. WW_KEEP_LAB=1 keeps the lab folder. See docker.mjs for WW_BENCH_* knobs.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const BENCH = join(ROOT, 'scripts', 'bench');
const ENGINE_SCRIPTS = join(ROOT, 'scripts', 'engines');
const ENGINE = 'docker20';
const ALL = ['persistent-map', 'docker', 'containerd'];
const wanted = process.argv.slice(2).filter((a) => !a.startsWith('-'));
for (const w of wanted) if (!ALL.includes(w)) die(`unknown benchmark ${w} (known: ${ALL.join(', ')})`);
const selected = wanted.length > 0 ? wanted : ALL;

const log = (msg) => console.log(`[bench] ${msg}`);
const warn = (msg) => console.error(`[bench] ${msg}`);
function die(msg) {
  console.error(`[bench] ${msg}`);
  process.exit(1);
}

let lab;
let engineStarted = false;
let stopped = false;
const children = new Set();
let failures = 0;

/** Runs a command, output passed through; resolves with exit code (and captured stdout when asked). */
function run(cmd, args, { env = process.env, capture = false, timeoutMs = 600_000 } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, env, stdio: ['ignore', capture ? 'pipe' : 'inherit', 'inherit'] });
    children.add(child);
    let out = '';
    if (capture) child.stdout.on('data', (d) => { out += d; process.stdout.write(d); });
    const timer = setTimeout(() => {
      warn(`${cmd} ${args.join(' ')}: no end after ${timeoutMs / 1000} s, stopping it`);
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 20_000).unref();
    }, timeoutMs);
    child.on('error', (e) => warn(`${cmd}: ${e.message}`));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      children.delete(child);
      resolve({ code: code ?? (signal ? 128 : 1), out });
    });
  });
}

function stopEngine() {
  if (!lab || stopped) return;
  stopped = true;
  if (engineStarted || existsSync(join(lab, ENGINE))) {
    const t0 = Date.now();
    const r = spawnSync('bash', [join(ENGINE_SCRIPTS, 'stop.sh'), ENGINE], {
      cwd: ROOT,
      env: { ...process.env, WW_LAB: lab },
      stdio: ['ignore', 'inherit', 'inherit'],
      timeout: 180_000,
    });
    if (r.status !== 0) {
      warn(`TEARDOWN FAILED: scripts/engines/stop.sh ${ENGINE} (${r.error?.message ?? `exit ${r.status ?? r.signal}`}); lab left at ${lab}`);
      failures += 1;
      return;
    }
    log(`engine stopped in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  if (process.env.WW_KEEP_LAB === '1') log(`lab kept: ${lab}`);
  else rmSync(lab, { recursive: true, force: true, maxRetries: 3 });
}

for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
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
process.on('exit', () => stopEngine());

async function main() {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  const projects = ['tsconfig.json', ...(selected.includes('persistent-map') ? ['tsconfig.spec.json'] : [])];
  for (const project of projects) {
    const t0 = Date.now();
    const r = await run(process.execPath, [tsc, '-p', project, '--pretty', 'false']);
    if (r.code !== 0) {
      // whatever compiled is still emitted; a bench whose module is missing fails below
      warn(`tsc -p ${project} failed (exit ${r.code}, errors above); running what was emitted`);
    } else log(`tsc -p ${project}: ok (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  }

  if (selected.includes('persistent-map')) {
    log('persistent-map.mjs');
    const r = await run(process.execPath, [join(BENCH, 'persistent-map.mjs')], { timeoutMs: 300_000 });
    if (r.code !== 0) { warn(`persistent-map.mjs failed (exit ${r.code})`); failures += 1; }
  }

  if (selected.includes('docker')) {
    let host = process.env.WW_BENCH_DOCKER_HOST;
    let env = { ...process.env };
    if (!host) {
      if (process.getuid?.() !== 0) throw new Error('the docker bench starts a private engine and needs root (or set WW_BENCH_DOCKER_HOST)');
      const install = await run('bash', [join(ENGINE_SCRIPTS, 'install.sh')], { timeoutMs: 1_200_000 });
      if (install.code !== 0) throw new Error(`scripts/engines/install.sh failed (exit ${install.code})`);
      lab = mkdtempSync('/tmp/ww-bench-lab.');
      env = { ...env, WW_LAB: lab };
      const images = await run('bash', [join(ENGINE_SCRIPTS, 'mk-images.sh')], { env, timeoutMs: 300_000 });
      if (images.code !== 0) throw new Error(`scripts/engines/mk-images.sh failed (exit ${images.code})`);
      engineStarted = true; // from here on, stop.sh runs whatever happens
      const start = await run('bash', [join(ENGINE_SCRIPTS, 'start.sh'), ENGINE], { env, capture: true, timeoutMs: 180_000 });
      const ready = /^READY \S+ ready_ms=\d+ endpoint=(\S+)$/m.exec(start.out);
      if (start.code !== 0 || !ready) throw new Error(`scripts/engines/start.sh ${ENGINE} failed (exit ${start.code}); log in ${join(lab, ENGINE, 'daemon.log')}`);
      host = ready[1];
      env = { ...env, DOCKER_CONFIG: join(lab, ENGINE, 'docker-config') };
      const cli = /WW_DOCKER_CLI='([^']+)'/.exec(spawnSync('cat', [join(lab, ENGINE, 'env')], { encoding: 'utf8' }).stdout ?? '');
      if (cli) env.WW_DOCKER_CLI = cli[1];
    }
    log(`docker.mjs against ${host}`);
    const r = await run(process.execPath, ['--expose-gc', join(BENCH, 'docker.mjs'), '--host', host], { env, timeoutMs: 900_000 });
    if (r.code !== 0) { warn(`docker.mjs failed (exit ${r.code})`); failures += 1; }
    stopEngine(); // before the next benchmark, so engines do not compete
  }

  if (selected.includes('containerd')) {
    // self-contained: starts and stops its own containerd 1.7 (see its header)
    log('containerd.mjs');
    const r = await run(process.execPath, [join(BENCH, 'containerd.mjs')], { timeoutMs: 1_000_000 });
    if (r.code !== 0) { warn(`containerd.mjs failed (exit ${r.code})`); failures += 1; }
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
