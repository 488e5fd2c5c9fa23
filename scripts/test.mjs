#!/usr/bin/env node
// The project's test command (`npm test`; `npm test -- --unit` or `npm run test:unit` for specs that need
// no engine).
//
//   1. tsc -p tsconfig.json, then tsc -p tsconfig.spec.json into build/ (a compile error is reported and
//      counted as a failure; whatever compiled still runs)
//   2. unless --unit, as root, the engine lab (scripts/engines/lab.mjs: install.sh + mk-images.sh, a fresh
//      WW_LAB, the five private engines started in parallel by start.sh), their endpoints exported for the specs:
//        WW_LAB, WW_DOCKER20_HOST, WW_DOCKER26_HOST, WW_PODMAN_HOST (unix://…),
//        WW_CONTAINERD17_ADDRESS, WW_CONTAINERD16_ADDRESS (socket paths), WW_ENGINES_REQUIRED=1 in CI.
//      An engine that does not start aborts the run in CI (CI=true); elsewhere its specs skip.
//   3. mocha in-process: build/spec/**/*.spec.js (without build/spec/integration/ under --unit), with the
//      reporter, timeout and root hooks (`require`: build/spec/helpers/root-hooks.js, fails on leaked
//      handles) of .mocharc.yml, no --exit.
//   4. engines always stopped (also on SIGINT/SIGTERM/SIGHUP, exceptions, process.exit), then one last line
//      `N passed, N failed, N skipped`; exit code 1 on any failure. An unref'd watchdog reports and ends a
//      node process that is still alive after everything finished; a guard thread ends a run whose event
//      loop is blocked (a synchronous endless loop no mocha timeout can stop) or that runs too long, after
//      stopping the engines and printing the last line (exit by SIGKILL, 137).
//
// Options: --unit, --grep <regexp>, path substrings selecting spec files (`npm test -- integration/harness`).
// Environment: WW_ENGINES=docker20,podman (subset to start), WW_KEEP_LAB=1 (keep the lab folder and its logs
// after stopping), WW_CACHE (see scripts/engines/lib.sh), WW_BLOCKED_LIMIT_S (60), WW_RUN_LIMIT_MIN (60).
import { spawn } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import Mocha from 'mocha';
import { LabSetupError, STOP_SCRIPT, createLab, parseEngines } from './engines/lab.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const BUILD = join(ROOT, 'build');
const SPEC_DIR = join(BUILD, 'spec');
/** .mocharc.yml, read the way mocha's own CLI reads it (so `npx mocha` and `npm test` agree). */
const MOCHARC = createRequire(import.meta.url)('mocha/lib/cli/options').loadOptions(['--config', join(ROOT, '.mocharc.yml')]);
const ROOT_HOOK_FILES = [MOCHARC.require ?? []].flat().map((file) => join(ROOT, file));
const WATCHDOG_S = 15;
/** A spec that blocks the event loop this long (a synchronous endless loop) cannot be timed out by mocha. */
const BLOCKED_LIMIT_S = Number(process.env.WW_BLOCKED_LIMIT_S ?? 60);
/** Bound for the whole run (CI gives 90 min). */
const RUN_LIMIT_MIN = Number(process.env.WW_RUN_LIMIT_MIN ?? 60);

const args = process.argv.slice(2);
const UNIT = args.includes('--unit');
const grepAt = args.indexOf('--grep');
const GREP = grepAt >= 0 ? args[grepAt + 1] : undefined;
/** Other arguments select spec files by path substring (e.g. `npm test -- integration/harness`). */
const FILTERS = args.filter((a, i) => !a.startsWith('--') && !(grepAt >= 0 && i === grepAt + 1));
const CI = /^(true|1|yes)$/i.test(process.env.CI ?? '');
const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0;

const log = (msg) => console.log(`[test] ${msg}`);
const warn = (msg) => console.error(`[test] ${msg}`);
const since = (t0) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

/** Failures outside mocha (compile errors, engines, teardown); added to mocha's failures. */
const harnessFailures = [];
/** The engine lab (scripts/engines/lab.mjs), once created. */
let lab;
let finalPrinted = false;

// ---------------------------------------------------------------------------------------------- helpers

/** Run a command (tsc), its output passed through; resolves { code }. */
function run(command, argv, { timeoutMs }) {
  return new Promise((resolve) => {
    const child = spawn(command, argv, { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', (error) => warn(`${command}: ${error.message}`));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1) });
    });
  });
}

function listSpecFiles() {
  let entries;
  try {
    entries = readdirSync(SPEC_DIR, { recursive: true, withFileTypes: true });
  } catch {
    return [];
  }
  const integration = join(SPEC_DIR, 'integration') + sep;
  return entries
    .filter((e) => e.isFile() && e.name.endsWith('.spec.js'))
    .map((e) => join(e.parentPath ?? e.path, e.name))
    .filter((file) => !(UNIT && file.startsWith(integration)))
    .filter((file) => FILTERS.length === 0 || FILTERS.some((f) => relative(SPEC_DIR, file).includes(f)))
    .sort();
}

// ---------------------------------------------------------------------------------------------- guard

// A watchdog on its own thread, for what no timer on the main thread can catch: a spec stuck in a
// synchronous loop (mocha's timeouts never fire), or a run over its time limit. It stops the engines,
// prints the final line with the counts so far (plus one failure), and kills this process.
const GUARD_SOURCE = `
const { parentPort, workerData: w } = require('node:worker_threads');
const { spawnSync } = require('node:child_process');
const { writeSync } = require('node:fs');
const beat = new Int32Array(w.heartbeat);
const out = (fd, text) => { try { writeSync(fd, text + '\\n'); } catch {} };
let counts = { passes: 0, failures: 0, pending: 0, harness: 0 };
let current = '';
let lab;
let finishedAt;
parentPort.on('message', (m) => {
  if (m.counts) counts = m.counts;
  if (m.current !== undefined) current = m.current;
  if (m.lab) lab = m.lab;
  if (m.finished) finishedAt = Date.now();
});
setInterval(() => {
  const now = Date.now();
  const blockedS = Math.floor((now - w.t0) / 1000) - Atomics.load(beat, 0);
  let why;
  if (finishedAt !== undefined) {
    if (now - finishedAt > w.afterFinishMs) why = 'node is still alive after the run finished and its own watchdog did not end it';
  } else if (blockedS > w.blockedLimitS && Atomics.load(beat, 1) === 0) {
    why = 'the event loop has been blocked for ' + blockedS + ' s (a synchronous endless loop?)' + (current ? ' in: ' + current : '');
  } else if (now - w.t0 > w.runLimitMs) {
    why = 'the run exceeded ' + w.runLimitMs / 60000 + ' min' + (current ? ', last in: ' + current : '');
  }
  if (why === undefined) return;
  out(2, '[test] WATCHDOG: ' + why + '; stopping engines, killing the test process');
  if (lab && finishedAt === undefined) {
    const stop = spawnSync('bash', [w.stopScript], { env: { ...process.env, WW_LAB: lab }, stdio: ['ignore', 1, 2], timeout: 180000 });
    if (stop.status === 0 && !w.keepLab) require('node:fs').rmSync(lab, { recursive: true, force: true });
  }
  if (finishedAt === undefined) {
    out(1, counts.passes + ' passed, ' + (counts.failures + counts.harness + 1) + ' failed, ' + counts.pending + ' skipped');
  }
  process.kill(process.pid, 'SIGKILL');
}, 1000);
`;

const guard = (() => {
  const t0 = Date.now();
  // [0] seconds since t0 at the main thread's last tick, [1] > 0 while the main thread blocks on purpose
  const heartbeat = new SharedArrayBuffer(8);
  const beat = new Int32Array(heartbeat);
  const worker = new Worker(GUARD_SOURCE, {
    eval: true,
    workerData: {
      heartbeat,
      t0,
      blockedLimitS: BLOCKED_LIMIT_S,
      runLimitMs: RUN_LIMIT_MIN * 60_000,
      afterFinishMs: (WATCHDOG_S + 10) * 1000,
      stopScript: STOP_SCRIPT,
      keepLab: process.env.WW_KEEP_LAB === '1',
    },
  });
  worker.unref();
  const tick = () => Atomics.store(beat, 0, Math.floor((Date.now() - t0) / 1000));
  const ticker = setInterval(tick, 500);
  ticker.unref();
  return {
    /** Run fn, which blocks the main thread on purpose (spawnSync), without tripping the guard. */
    blocking(fn) {
      Atomics.add(beat, 1, 1);
      try {
        return fn();
      } finally {
        tick();
        Atomics.sub(beat, 1, 1);
      }
    },
    post: (message) => worker.postMessage(message),
    counts: { passes: 0, failures: 0, pending: 0, harness: 0 },
    update(change) {
      Object.assign(this.counts, change, { harness: harnessFailures.length });
      worker.postMessage({ counts: this.counts });
    },
    finished() {
      clearInterval(ticker);
      worker.postMessage({ finished: true });
    },
  };
})();

// ---------------------------------------------------------------------------------------------- steps

async function compile() {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  rmSync(BUILD, { recursive: true, force: true }); // no stale specs from deleted sources
  for (const project of ['tsconfig.json', 'tsconfig.spec.json']) {
    const t0 = Date.now();
    const result = await run(process.execPath, [tsc, '-p', project, '--pretty', 'false'], { timeoutMs: 600_000 });
    if (result.code === 0) {
      log(`tsc -p ${project}: ok (${since(t0)})`);
    } else {
      warn(`COMPILE ERROR: tsc -p ${project} failed (exit ${result.code}, errors above); running what was emitted anyway`);
      harnessFailures.push(`tsc -p ${project}`);
    }
  }
}

async function startEngines() {
  let wanted;
  try {
    wanted = parseEngines(process.env.WW_ENGINES);
  } catch (error) {
    throw new Error(`WW_ENGINES: ${error.message}`);
  }
  lab = createLab({
    engines: wanted,
    log,
    warn,
    onDir: (dir) => guard.post({ lab: dir }),
    blocking: (fn) => guard.blocking(fn),
    signals: false, // onSignal below stops the lab and still prints the last line
  });
  try {
    await lab.open();
  } catch (error) {
    if (error instanceof LabSetupError) return engineTrouble(error.message);
    throw error;
  }
  process.env.WW_LAB = lab.dir;
  for (const r of lab.results) {
    if (r.ok) process.env[r.variable] = r.endpoint;
    else delete process.env[r.variable];
  }
  if (lab.failed.length > 0) return engineTrouble(`engine(s) failed to start: ${lab.failed.join(', ')}`);
  return true;
}

/** In CI a missing engine aborts the run; elsewhere the affected specs skip. */
function engineTrouble(message) {
  if (CI) {
    warn(`ABORT (CI=true, engines are required): ${message}`);
    harnessFailures.push(message);
    return false;
  }
  warn(`${message}; continuing without (their specs will skip)`);
  return true;
}

function stopEngines() {
  if (lab === undefined || lab.stopped) return;
  if (!lab.stop()) harnessFailures.push('engine teardown');
}

function printFinal(stats) {
  if (finalPrinted) return;
  finalPrinted = true;
  const failed = stats.failures + harnessFailures.length;
  if (harnessFailures.length > 0) {
    log(`failures outside mocha (counted below): ${harnessFailures.join('; ')}`);
  }
  console.log(`${stats.passes} passed, ${failed} failed, ${stats.pending} skipped`);
  process.exitCode = failed > 0 ? 1 : 0;
}

async function runMocha() {
  const files = listSpecFiles();
  log(`mocha: ${files.length} spec file(s)${UNIT ? ' (--unit: integration specs left out)' : ''}`);
  const mocha = new Mocha({ reporter: MOCHARC.reporter ?? 'spec', timeout: MOCHARC.timeout ?? 20_000, color: Boolean(process.stdout.isTTY) });
  if (GREP) mocha.grep(GREP);
  if (ROOT_HOOK_FILES.length === 0) {
    warn('.mocharc.yml names no root hooks (require:): the leak check is missing');
    harnessFailures.push('root hooks (leak check) missing');
  }
  for (const file of ROOT_HOOK_FILES) {
    try {
      const { mochaHooks } = await import(pathToFileURL(file).href);
      mocha.rootHooks(mochaHooks);
    } catch (error) {
      warn(`root hooks ${relative(ROOT, file)} not loaded: ${error.message}`);
      harnessFailures.push('root hooks (leak check) missing');
    }
  }
  for (const file of files) mocha.addFile(file);
  try {
    await mocha.loadFilesAsync();
  } catch (error) {
    warn(`LOAD ERROR: a spec file failed to load:\n${error.stack ?? error}`);
    harnessFailures.push('spec load');
    mocha.dispose();
    return { passes: 0, failures: 0, pending: 0 };
  }
  const stats = await new Promise((resolve) => {
    const runner = mocha.run(() => resolve(runner.stats));
    const title = (runnable) => runnable.fullTitle?.() ?? runnable.title;
    runner.on('test', (test) => guard.post({ current: title(test) }));
    runner.on('hook', (hook) => guard.post({ current: title(hook) }));
    runner.on('pass', () => guard.update({ passes: runner.stats.passes }));
    runner.on('fail', () => guard.update({ failures: runner.stats.failures }));
    runner.on('pending', () => guard.update({ pending: runner.stats.pending }));
  });
  mocha.dispose();
  return { passes: stats.passes, failures: stats.failures, pending: stats.pending };
}

// ---------------------------------------------------------------------------------------------- main

function onSignal(signal) {
  warn(`${signal}: stopping engines`);
  harnessFailures.push(`interrupted by ${signal}`);
  stopEngines();
  printFinal(guard.counts);
  process.exit(signal === 'SIGINT' ? 130 : signal === 'SIGHUP' ? 129 : 143);
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.once(signal, onSignal);
// last resort: whoever ends the process (a spec calling process.exit, an uncaught error) still stops the engines
process.on('exit', (code) => {
  stopEngines();
  if (!finalPrinted) {
    // e.g. a spec awaiting a promise that never settles, with timeouts off: node ran out of work (exit 13)
    harnessFailures.push(`the process ended before the run finished (exit code ${code})`);
    printFinal(guard.counts);
    process.exitCode = 1;
  }
});

async function main() {
  const t0 = Date.now();
  await compile();
  let stats = { passes: 0, failures: 0, pending: 0 };
  let proceed = true;
  if (UNIT) {
    log('--unit: no engines');
  } else if (!IS_ROOT) {
    proceed = engineTrouble('not root: the private engines need root (run `sudo npm test`, or `npm test -- --unit`)');
  } else {
    if (CI && process.env.WW_ENGINES_REQUIRED === undefined) process.env.WW_ENGINES_REQUIRED = '1';
    proceed = await startEngines();
  }
  if (proceed) {
    const tm = Date.now();
    stats = await runMocha();
    log(`mocha finished in ${since(tm)}`);
  }
  stopEngines();
  log(`whole run ${since(t0)}`);
  return stats;
}

let stats = { passes: 0, failures: 0, pending: 0 };
try {
  stats = await main();
} catch (error) {
  warn(`HARNESS ERROR: ${error.stack ?? error}`);
  harnessFailures.push('harness error');
} finally {
  stopEngines();
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.removeListener(signal, onSignal);
  printFinal(stats);
  guard.finished();
  // Everything is done: node should exit now. If something still holds it open, say what and end it.
  setTimeout(() => {
    console.error(
      `[test] WATCHDOG: node still alive ${WATCHDOG_S} s after the run finished; active resources: ` +
        JSON.stringify(process.getActiveResourcesInfo()),
    );
    process.exit(1);
  }, WATCHDOG_S * 1000).unref();
}
