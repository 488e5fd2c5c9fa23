#!/usr/bin/env node
// `npm run demo`: whalewatcher's live view on a private Docker engine, with a short scripted workload.
//
// As root on Debian: starts a private Docker 20.10 with the project's own engine lab (scripts/engines/lab.mjs:
// install.sh installs the Debian packages when missing, mk-images.sh builds the busybox image locally, no
// registry), runs `whalewatcher watch` against it in this terminal, and plays the workload with the docker
// CLI: a compose-labelled project `demo` coming up (three containers), a pause and unpause, an exec, a
// container that crashes with exit code 3, a restart, the project going down. Then it waits for `q` (the
// view's own key) and stops the lab: containers removed, daemon stopped, folder removed. Ctrl-C at any time
// quits the view and cleans up the same way.
//
//   npm run demo                the workload at a watchable pace (about 30 s), then the view until q
//   node scripts/demo.mjs --short   the workload quickly, then the view is closed (for the test suite)
//
// Without root it says what it needs and exits 2. Docker 20.10 because it is ready in a fraction of a
// second here (Docker 26 in about 1.2 s) and the workload needs nothing newer.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { LabSetupError, ROOT, createLab } from './engines/lab.mjs';

const ENGINE = 'docker20';
const IMAGE = 'busybox:lab';
const CLI = join(ROOT, 'dist', 'cli', 'main.js');
const args = process.argv.slice(2);
const SHORT = args.includes('--short');
/** Pause between the workload's steps, in ms: long enough to see each change on screen. */
const STEP_MS = SHORT ? 300 : 2_500;

const say = (msg) => console.error(`[demo] ${msg}`);

if (args.some((a) => a !== '--short')) {
  console.error('usage: npm run demo [-- --short]');
  process.exit(2);
}
if (process.getuid?.() !== 0) {
  console.error(
    [
      'npm run demo starts a private Docker engine of its own, and that needs root',
      '(dockerd, containerd and runc from Debian packages, which it installs when missing):',
      '  sudo npm run demo',
      'To watch the engines you already have, no root needed when your user may use them:',
      '  npx whalewatcher watch',
    ].join('\n'),
  );
  process.exit(2);
}
if (!existsSync(CLI)) {
  console.error(`${CLI} is missing: build first (npm ci builds it; else npm run build)`);
  process.exit(2);
}

// The lab stops itself on SIGINT/SIGTERM/SIGHUP and on exit; the view (in raw mode) reads Ctrl-C as a key
// and ends with 130, which ends the demo below.
const lab = createLab({ engines: [ENGINE], prefix: '/tmp/ww-demo.', output: 'stderr', log: say, warn: say });
let status = 0;
try {
  try {
    await lab.open();
  } catch (e) {
    if (e instanceof LabSetupError) {
      say(`cannot set up the engine: ${e.message}`);
      process.exit(1);
    }
    throw e;
  }
  if (lab.failed.length > 0) {
    say(`the private ${ENGINE} did not start (its log is above)`);
    status = 1;
  } else {
    status = await run(lab.cliEnv(ENGINE));
  }
} finally {
  const clean = lab.stop();
  say(clean ? 'engine stopped, nothing left behind' : 'the engine could not be cleaned up completely (see above)');
  if (!clean && status === 0) status = 1;
}
process.exitCode = status;

/** Runs the view and the workload; resolves with the demo's exit status. */
async function run(engineEnv) {
  const env = { ...process.env, ...engineEnv };
  delete env.CONTAINERD_ADDRESS;
  delete env.CONTAINER_RUNTIME_ENDPOINT;
  const docker = (...dockerArgs) => {
    const r = spawnSync(engineEnv.WW_DOCKER_CLI ?? 'docker', dockerArgs, { env, encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) throw new Error(`docker ${dockerArgs.join(' ')}: ${(r.stderr || r.error?.message || `exit ${r.status}`).trim()}`);
    return r.stdout.trim();
  };

  const view = spawn(process.execPath, [CLI, 'watch'], { env, stdio: 'inherit' });
  let viewExit;
  const viewExited = new Promise((resolve) =>
    view.on('exit', (code, signal) => {
      viewExit = code ?? 128;
      resolve({ code, signal });
    }),
  );
  const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
  /** One step, unless the view is gone already (q or Ctrl-C during the workload). */
  const step = async (fn) => {
    if (viewExit !== undefined) return;
    fn();
    await pause(STEP_MS);
  };
  const label = ['--label', 'com.docker.compose.project=demo'];
  const service = (name) => ['--label', `com.docker.compose.service=${name}`];
  try {
    await pause(SHORT ? 500 : 1_500); // the view connects and draws its first frame
    for (const name of ['web', 'worker', 'db']) {
      await step(() => docker('run', '-d', '--name', `demo-${name}-1`, ...label, ...service(name), IMAGE, 'sleep', '3600'));
    }
    await step(() => docker('pause', 'demo-db-1'));
    await step(() => docker('unpause', 'demo-db-1'));
    await step(() => docker('exec', 'demo-web-1', 'true'));
    await step(() => docker('run', '-d', '--name', 'crashy', IMAGE, 'sh', '-c', 'sleep 1; exit 3'));
    await step(() => docker('wait', 'crashy'));
    await step(() => docker('restart', '-t', '0', 'demo-worker-1'));
    await step(() => docker('rm', '-f', 'demo-web-1', 'demo-worker-1', 'demo-db-1'));
  } catch (e) {
    if (viewExit === undefined) view.kill('SIGTERM');
    await viewExited;
    say(`the workload failed: ${e.message}`);
    return 1;
  }
  // interactive: the view stays until q (its title line says so)
  if ((SHORT || !process.stdout.isTTY) && viewExit === undefined) view.kill('SIGTERM');
  const { code, signal } = await viewExited;
  // the view ended by us (SIGTERM → 143), by q (0) or without a terminal (0): the demo went well
  if (code === 0 || code === 143 || signal === 'SIGTERM') return 0;
  return code ?? 1;
}
