// The private engine lab's lifecycle, once, for `npm test` (scripts/test.mjs) and `npm run bench`
// (scripts/bench/run.mjs, scripts/bench/containerd.mjs): install, images, start, stop.
//
//   const lab = await openLab({ engines: ['docker20'], log, warn });   (= createLab(options).open())
//   lab.dir                          the fresh lab folder (WW_LAB of the scripts)
//   lab.results                      per engine: { name, ok, endpoint, variable, readyMs, totalMs, output }
//   lab.failed                       names of the engines that did not start
//   lab.endpoint('docker20')         `unix://…/docker.sock` (containerd: a socket path), or undefined
//   lab.cliEnv('docker20')           the engine's CLI environment ($WW_LAB/<engine>/env) as an object
//   lab.stop()                       synchronous and idempotent; true when everything was cleaned up
//   lab.abort(why, code)             what a signal does (beforeStop, stop, exit), e.g. for a time limit
//
// lab.open() runs, as root, scripts/engines/install.sh (packages), mkdtemp a lab, mk-images.sh (image
// tarballs into it), then start.sh <engine> for every engine in parallel (each waits, bounded, until its
// engine answers; its output goes to $WW_LAB/<engine>.start.log). An engine that does not start is in
// `failed`, not an exception: the caller decides (the test runner fails the run in CI and skips the
// engine's specs elsewhere; a benchmark gives up). When install.sh or mk-images.sh fail, open() stops
// what it made and rejects with a LabSetupError.
//
// Stopping (scripts/engines/stop.sh over every engine dir of the lab: containers removed, daemons
// stopped, leftovers killed, mounts unmounted; then the folder removed unless WW_KEEP_LAB=1) is
// guaranteed from createLab() on: by lab.stop() (call it in a `finally`), by the process 'exit' (uncaught
// exceptions, process.exit anywhere), and, unless `signals: false`, by SIGINT/SIGTERM/SIGHUP: then
// `beforeStop(signal)` (bounded, e.g. a benchmark removing its containers) runs first, the lab is stopped
// and the process exits with 128 + the signal's number. A caller that handles the signals itself (the
// test runner prints its last line in every mode; the bench runner forwards them to its benchmarks first)
// passes `signals: false` and calls lab.stop() from its handler. Scripts still running at stop time (a
// start.sh half-way) are killed first: they run in their own process groups, so a Ctrl-C reaches this
// process and not them.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ENGINE_SCRIPTS = join(ROOT, 'scripts', 'engines');
/** The script that stops a lab (the test runner's guard thread runs it on its own when the main thread hangs). */
export const STOP_SCRIPT = join(ENGINE_SCRIPTS, 'stop.sh');
/** Every engine the lab knows, in start order of the full test run. */
export const ENGINES = Object.freeze(['docker20', 'docker26', 'podman', 'containerd17', 'containerd16']);
/** The environment variable that carries each engine's endpoint to the specs (spec/helpers/engines.ts). */
export const ENDPOINT_VARS = Object.freeze({
  docker20: 'WW_DOCKER20_HOST',
  docker26: 'WW_DOCKER26_HOST',
  podman: 'WW_PODMAN_HOST',
  containerd17: 'WW_CONTAINERD17_ADDRESS',
  containerd16: 'WW_CONTAINERD16_ADDRESS',
});

const INSTALL_TIMEOUT_MS = 1_200_000;
const IMAGES_TIMEOUT_MS = 300_000;
const START_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 180_000;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/** The exit code of a process ended by `signal` (130 for SIGINT, 129 SIGHUP, 143 SIGTERM). */
export function signalExitCode(signal) {
  return signal === 'SIGINT' ? 130 : signal === 'SIGHUP' ? 129 : 143;
}

/** install.sh or mk-images.sh failed; the lab is already stopped. */
export class LabSetupError extends Error {}

const since = (t0) => `${((Date.now() - t0) / 1000).toFixed(1)} s`;

/** The last `lines` lines of `text`, indented (for failure messages). */
export function tail(text, lines = 20) {
  return text.trimEnd().split('\n').slice(-lines).map((l) => `    ${l}`).join('\n');
}

/** Names from a WW_ENGINES-style list (`docker20,podman`), checked; all engines when empty. */
export function parseEngines(list) {
  const wanted = list ? list.split(/[\s,]+/).filter(Boolean) : [...ENGINES];
  for (const name of wanted) {
    if (!ENGINES.includes(name)) throw new Error(`unknown engine ${name} (known: ${ENGINES.join(', ')})`);
  }
  return wanted;
}

/** `export NAME='value'` lines (start.sh's env files) as an object. */
function parseEnvFile(text) {
  const env = {};
  for (const line of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)='([^']*)'\s*$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
  return env;
}

const openLabs = new Set();
let exitHookInstalled = false;

/**
 * Install, make images, start `engines` in a fresh lab; resolves with the open lab (see the header).
 *
 * Options: `engines` (names, default all), `prefix` (mkdtemp prefix, default `/tmp/ww-lab.`), `log` and
 * `warn` (one message each; defaults console.log / console.error), `output` (`'stdout'` or `'stderr'`:
 * where the scripts' own output goes, prefixed with two spaces), `onDir(dir)` (called as soon as the
 * folder exists), `blocking(fn)` (wraps the synchronous stop, e.g. to tell a watchdog the main thread
 * blocks on purpose), `signals` (default true: stop on SIGINT/SIGTERM/SIGHUP and exit), `beforeStop(signal)`
 * (async work before a signal's or abort's stop, bounded by `beforeStopLimitMs`, default 90 s), `keep` (keep the folder; default WW_KEEP_LAB=1).
 */
export function openLab(options = {}) {
  return createLab(options).open();
}

/**
 * The lab, not yet opened: from here on it is stopped on 'exit' (and on the signals unless
 * `signals: false`), so a signal during the installation still cleans up. Options as {@link openLab}.
 */
export function createLab(options = {}) {
  return new Lab(options);
}

class Lab {
  dir = undefined;
  results = [];
  stopped = false;
  /** After stop(): whether everything was cleaned up. */
  stopOk = undefined;
  #o;
  #running = new Set();
  #aborting = false;
  #onSignal = (signal) => this.abort(signal, signalExitCode(signal));

  constructor(options) {
    const engines = options.engines ?? [...ENGINES];
    for (const name of engines) if (!ENGINES.includes(name)) throw new Error(`unknown engine ${name} (known: ${ENGINES.join(', ')})`);
    this.#o = {
      prefix: '/tmp/ww-lab.',
      log: (msg) => console.log(msg),
      warn: (msg) => console.error(msg),
      output: 'stdout',
      onDir: () => undefined,
      blocking: (fn) => fn(),
      signals: true,
      beforeStop: async () => undefined,
      beforeStopLimitMs: 90_000,
      keep: process.env.WW_KEEP_LAB === '1',
      ...options,
      engines,
    };
    if (process.getuid?.() !== 0) throw new LabSetupError('the private engines need root');
    openLabs.add(this);
    if (!exitHookInstalled) {
      exitHookInstalled = true;
      // last resort: whoever ends the process (an uncaught error, process.exit) still stops the engines
      process.on('exit', () => {
        for (const l of openLabs) l.stop();
      });
    }
    // `on`, not `once`: a second Ctrl-C while beforeStop runs must not kill the process before the stop
    if (this.#o.signals) for (const s of SIGNALS) process.on(s, this.#onSignal);
  }

  /** Names of the engines that did not start. */
  get failed() {
    return this.results.filter((r) => !r.ok).map((r) => r.name);
  }

  /** The endpoint of a started engine (`unix://…` for the Docker APIs, a socket path for containerd). */
  endpoint(name) {
    return this.results.find((r) => r.name === name && r.ok)?.endpoint;
  }

  /** The CLI environment start.sh wrote for `name` (DOCKER_HOST, DOCKER_CONFIG, WW_DOCKER_CLI, WW_CTR_CLI, …). */
  cliEnv(name) {
    return parseEnvFile(readFileSync(join(this.dir, name, 'env'), 'utf8'));
  }

  /** Install, images, start (see the header); resolves with the lab, rejects (stopped) with a LabSetupError. */
  async open() {
    try {
      await this.#setUp();
    } catch (error) {
      this.stop();
      throw error;
    }
    return this;
  }

  async #setUp() {
    const { log, engines } = this.#o;
    const t0 = Date.now();
    const install = await this.#run(['install.sh'], { timeoutMs: INSTALL_TIMEOUT_MS });
    if (install.code !== 0) throw new LabSetupError(`scripts/engines/install.sh failed (exit ${install.code})`);
    log(`engine packages checked/installed in ${since(t0)}`);

    this.dir = mkdtempSync(this.#o.prefix);
    this.#o.onDir(this.dir);
    const images = await this.#run(['mk-images.sh'], { timeoutMs: IMAGES_TIMEOUT_MS });
    if (images.code !== 0) throw new LabSetupError(`scripts/engines/mk-images.sh failed (exit ${images.code})`);

    const t1 = Date.now();
    this.results = await Promise.all(engines.map((name) => this.#start(name)));
    for (const r of this.results) {
      if (r.ok) {
        log(`engine ${r.name.padEnd(12)} ready in ${r.readyMs} ms (with images ${r.totalMs} ms)  ${r.variable}=${r.endpoint}`);
      } else {
        this.#o.warn(`engine ${r.name} FAILED to start; log ${join(this.dir, `${r.name}.start.log`)}:\n${tail(r.output)}`);
      }
    }
    log(`engines started in ${since(t1)} (setup total ${since(t0)}), lab ${this.dir}`);
  }

  async #start(name) {
    const t = Date.now();
    const r = await this.#run(['start.sh', name], { capture: true, timeoutMs: START_TIMEOUT_MS });
    if (existsSync(this.dir)) writeFileSync(join(this.dir, `${name}.start.log`), r.output);
    const ready = /^READY \S+ ready_ms=(\d+) endpoint=(\S+)$/m.exec(r.output);
    return {
      name,
      ok: r.code === 0 && ready !== null,
      variable: ENDPOINT_VARS[name],
      endpoint: ready?.[2],
      readyMs: ready === null ? undefined : Number(ready[1]),
      totalMs: Date.now() - t,
      output: r.output,
    };
  }

  /** Runs scripts/engines/<script> in its own process group; output captured, or streamed (prefixed) too. */
  #run([script, ...args], { capture = false, timeoutMs }) {
    return new Promise((resolve) => {
      const env = this.dir === undefined ? process.env : { ...process.env, WW_LAB: this.dir };
      const child = spawn('bash', [join(ENGINE_SCRIPTS, script), ...args], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
      this.#running.add(child);
      const echo = this.#o.output === 'stderr' ? (line) => console.error(`  ${line}`) : (line) => console.log(`  ${line}`);
      let output = '';
      let pending = '';
      const onData = (chunk) => {
        const text = chunk.toString();
        output += text;
        if (capture) return;
        pending += text;
        const lines = pending.split('\n');
        pending = lines.pop() ?? '';
        for (const line of lines) echo(line);
      };
      child.stdout.on('data', onData);
      child.stderr.on('data', onData);
      const timer = setTimeout(() => {
        output += `\n(timed out after ${timeoutMs / 1000} s)\n`;
        killGroup(child);
      }, timeoutMs);
      child.on('error', (error) => {
        output += `\n${error.message}\n`;
      });
      child.on('close', (code, signal) => {
        clearTimeout(timer);
        this.#running.delete(child);
        if (!capture && pending) echo(pending);
        resolve({ code: code ?? (signal ? 128 : 1), output });
      });
    });
  }

  /**
   * Stops every engine of the lab (stop.sh) and removes the folder (unless kept). Synchronous, so it also
   * works from an 'exit' handler; idempotent. False when something was left behind (the folder then stays).
   */
  stop() {
    if (this.stopped) return this.stopOk;
    this.stopped = true;
    openLabs.delete(this);
    for (const s of SIGNALS) process.removeListener(s, this.#onSignal);
    for (const child of this.#running) killGroup(child);
    this.stopOk = true;
    if (this.dir === undefined) return true;
    const { log, warn } = this.#o;
    const t0 = Date.now();
    const result = this.#o.blocking(() =>
      spawnSync('bash', [STOP_SCRIPT], {
        cwd: ROOT,
        env: { ...process.env, WW_LAB: this.dir },
        stdio: ['ignore', this.#o.output === 'stderr' ? 2 : 'inherit', 'inherit'],
        timeout: STOP_TIMEOUT_MS,
      }),
    );
    if (result.status !== 0) {
      const why = result.error ? result.error.message : `exit ${result.status ?? result.signal}`;
      warn(`TEARDOWN FAILED: scripts/engines/stop.sh (${why}); lab left at ${this.dir}`);
      this.stopOk = false;
      return false;
    }
    log(`engines stopped in ${since(t0)}`);
    if (this.#o.keep) log(`lab kept: ${this.dir}`);
    else rmSync(this.dir, { recursive: true, force: true, maxRetries: 3 });
    return true;
  }

  /** Runs `beforeStop(why)` (bounded), stops the lab and exits with `code`; what a signal does. */
  async abort(why, code) {
    if (this.#aborting) return;
    this.#aborting = true;
    this.#o.warn(`${why}: stopping the engines`);
    let timer;
    await Promise.race([
      Promise.resolve().then(() => this.#o.beforeStop(why)).catch((e) => this.#o.warn(`before stopping: ${e?.message ?? e}`)),
      new Promise((resolve) => (timer = setTimeout(resolve, this.#o.beforeStopLimitMs))),
    ]);
    clearTimeout(timer);
    this.stop();
    process.exit(code);
  }
}

function killGroup(child) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
