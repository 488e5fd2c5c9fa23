/**
 * Typed access to the private test engines started by `scripts/test.mjs` (see scripts/engines/).
 *
 * The runner exports, for each engine that started:
 *   WW_DOCKER20_HOST, WW_DOCKER26_HOST, WW_PODMAN_HOST   `unix:///…/docker.sock` (podman: its Docker-compatible socket)
 *   WW_CONTAINERD17_ADDRESS, WW_CONTAINERD16_ADDRESS     plain socket path `/…/containerd.sock` (native API and CRI)
 * plus WW_LAB (the lab folder; `$WW_LAB/<engine>/env` holds the CLI environment) and, in CI,
 * WW_ENGINES_REQUIRED=1 (a missing engine fails the spec instead of skipping it).
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';

export const ENGINE_NAMES = ['docker20', 'docker26', 'podman', 'containerd17', 'containerd16'] as const;
export type EngineName = (typeof ENGINE_NAMES)[number];
/** `docker` and `podman` speak the Docker API; `containerd` the native gRPC API and CRI on one socket. */
export type EngineKind = 'docker' | 'podman' | 'containerd';

const ENDPOINT_VARS: Readonly<Record<EngineName, string>> = {
  docker20: 'WW_DOCKER20_HOST',
  docker26: 'WW_DOCKER26_HOST',
  podman: 'WW_PODMAN_HOST',
  containerd17: 'WW_CONTAINERD17_ADDRESS',
  containerd16: 'WW_CONTAINERD16_ADDRESS',
};

/** Image every engine has loaded, under the name that engine resolves. */
const IMAGES: Readonly<Record<EngineKind, string>> = {
  docker: 'busybox:lab',
  podman: 'localhost/busybox:lab',
  containerd: 'docker.io/library/busybox:lab',
};
/** What discovery must find each lab engine as: [type, product] per API on its socket. */
export const ENGINE_APIS: Readonly<Record<EngineName, readonly (readonly [string, string])[]>> = {
  docker20: [['docker.com', 'docker']],
  docker26: [['docker.com', 'docker']],
  podman: [['docker.com', 'podman']],
  containerd17: [
    ['containerd.io', 'containerd'],
    ['k8s.io/cri-api', 'containerd'],
  ],
  containerd16: [
    ['containerd.io', 'containerd'],
    ['k8s.io/cri-api', 'containerd'],
  ],
};

/** CRI sandbox image, present in containerd's `k8s.io` namespace. */
export const PAUSE_IMAGE = 'docker.io/library/pause:lab';

const SCRIPTS = resolve(dirname(fileURLToPath(import.meta.url)), '../../../scripts/engines');

export function engineKind(name: EngineName): EngineKind {
  return name === 'podman' ? 'podman' : name.startsWith('docker') ? 'docker' : 'containerd';
}

/** Name of the environment variable that carries the engine's endpoint. */
export function engineEndpointVar(name: EngineName): string {
  return ENDPOINT_VARS[name];
}

/** The engine's endpoint (`unix://…` for Docker APIs, a socket path for containerd), or undefined if it is not running. */
export function engineEndpoint(name: EngineName): string | undefined {
  const value = process.env[ENDPOINT_VARS[name]];
  return value === undefined || value === '' ? undefined : value;
}

/** The engine's unix socket path (endpoint without `unix://`). */
export function engineSocketPath(name: EngineName): string | undefined {
  return engineEndpoint(name)?.replace(/^unix:\/\//, '');
}

export function enginesRequired(): boolean {
  return process.env['WW_ENGINES_REQUIRED'] === '1';
}

export function labImage(name: EngineName): string {
  return IMAGES[engineKind(name)];
}

function labDir(name: EngineName): string | undefined {
  const lab = process.env['WW_LAB'];
  return lab ? join(lab, name) : undefined;
}

/** Why an engine is not available (for messages). */
export function engineUnavailableReason(name: EngineName): string {
  const lab = process.env['WW_LAB'];
  if (!lab) {
    return `${ENDPOINT_VARS[name]} unset and no WW_LAB: engines are started by \`npm test\` run as root`;
  }
  const log = join(lab, `${name}.start.log`);
  if (existsSync(log)) {
    return `it failed to start, see ${log}`;
  }
  return `${ENDPOINT_VARS[name]} unset: not started in ${lab}`;
}

const announced = new Set<string>();

/**
 * The endpoint of a running engine, for a spec or hook (`function () {…}`, not an arrow: it needs mocha's
 * `this`). When the engine is missing: skips the runnable after printing one `SKIP:` line, or throws when
 * WW_ENGINES_REQUIRED=1 (CI), so a missing engine can never pass silently there.
 */
export function useEngine(ctx: Mocha.Context, name: EngineName): string {
  const endpoint = engineEndpoint(name);
  if (endpoint !== undefined) {
    return endpoint;
  }
  const why = engineUnavailableReason(name);
  if (enginesRequired()) {
    throw new Error(`engine ${name} is required (WW_ENGINES_REQUIRED=1) but not available: ${why}`);
  }
  const line = `SKIP: ${name} not available (${why})`;
  if (!announced.has(line)) {
    announced.add(line);
    console.log(line);
  }
  return ctx.skip();
}

function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(raw);
    if (!m || m[1] === undefined || m[2] === undefined) {
      continue;
    }
    let value = m[2].trim();
    if (value.length >= 2 && (value[0] === "'" || value[0] === '"') && value.endsWith(value[0])) {
      value = value.slice(1, -1);
    }
    env[m[1]] = value;
  }
  return env;
}

/**
 * Environment for the engine's CLI, from `$WW_LAB/<engine>/env`: DOCKER_HOST + DOCKER_CONFIG (docker, with
 * `docker compose` v2), CONTAINERS_CONF + CONTAINERS_STORAGE_CONF + DOCKER_HOST (podman), CONTAINERD_ADDRESS +
 * CONTAINERD_NAMESPACE + CONTAINER_RUNTIME_ENDPOINT (containerd), and WW_DOCKER_CLI / WW_PODMAN_CLI / WW_CTR_CLI
 * (the binary to use). Only these variables: merge with `process.env` yourself. Throws if the engine is not running.
 */
export function engineEnv(name: EngineName): Readonly<Record<string, string>> {
  const dir = labDir(name);
  const file = dir ? join(dir, 'env') : undefined;
  if (engineEndpoint(name) === undefined || file === undefined || !existsSync(file)) {
    throw new Error(`engine ${name} is not available: ${engineUnavailableReason(name)}`);
  }
  return Object.freeze(parseEnvFile(readFileSync(file, 'utf8')));
}

export interface EngineCli {
  /** Executable (absolute path where known). */
  readonly command: string;
  /** Leading arguments that select the engine (`-H …`, `--address …`). */
  readonly args: readonly string[];
  /** `process.env` plus {@link engineEnv}. */
  readonly env: NodeJS.ProcessEnv;
}

/**
 * How to run the engine's own CLI: `docker -H <sock>` (bookworm's /usr/bin/docker when it works), `podman`
 * on the lab's private storage, `ctr --address <sock>` of the matching containerd version.
 */
export function engineCli(name: EngineName): EngineCli {
  const vars = engineEnv(name);
  const env = { ...process.env, ...vars };
  switch (engineKind(name)) {
    case 'docker':
      return { command: vars['WW_DOCKER_CLI'] ?? 'docker', args: ['-H', vars['DOCKER_HOST'] ?? ''], env };
    case 'podman':
      return { command: vars['WW_PODMAN_CLI'] ?? 'podman', args: [], env };
    case 'containerd':
      return { command: vars['WW_CTR_CLI'] ?? 'ctr', args: ['--address', vars['CONTAINERD_ADDRESS'] ?? ''], env };
  }
}

/** Run the engine's CLI (see {@link engineCli}); resolves with stdout, rejects with stderr in the message. */
export function runEngineCli(name: EngineName, args: readonly string[], timeoutMs = 30_000): Promise<string> {
  const cli = engineCli(name);
  return new Promise((resolvePromise, reject) => {
    execFile(cli.command, [...cli.args, ...args], { env: cli.env, timeout: timeoutMs }, (error, stdout, stderr) => {
      if (error) {
        reject(new Error(`${cli.command} ${[...cli.args, ...args].join(' ')} failed: ${error.message}\n${stderr}`));
      } else {
        resolvePromise(stdout);
      }
    });
  });
}

/** PID of the engine's daemon (dockerd, podman system service, containerd), if it is running. */
export function enginePid(name: EngineName): number | undefined {
  const dir = labDir(name);
  if (dir === undefined) {
    return undefined;
  }
  try {
    const pid = Number.parseInt(readFileSync(join(dir, 'daemon.pid'), 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 && processAlive(pid) ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** True while `pid` runs (a zombie waiting to be reaped counts as gone). */
export function processAlive(pid: number): boolean {
  try {
    // field 3 of /proc/<pid>/stat, after the parenthesised command name: Z/X = exited
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/**
 * Kill the engine's daemon (default SIGKILL) and wait until it is gone (at most 10 s). Containers stay
 * where the engine keeps them (containerd tasks and podman containers survive; docker's die with dockerd).
 * Bring it back with {@link restartEngine}.
 */
export async function killEngine(name: EngineName, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  const pid = enginePid(name);
  if (pid === undefined) {
    throw new Error(`engine ${name} has no running daemon`);
  }
  process.kill(pid, signal);
  for (let i = 0; i < 200 && processAlive(pid); i++) {
    await sleep(50);
  }
  if (processAlive(pid)) {
    throw new Error(`engine ${name} daemon pid ${pid} still alive 10 s after ${signal}`);
  }
}

/**
 * (Re)start the engine's daemon on the same dirs and socket (`scripts/engines/restart.sh`), e.g. after
 * {@link killEngine}; resolves when it answers again, with the daemon's ready time in ms.
 */
export function restartEngine(name: EngineName, timeoutMs = 90_000): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    execFile(join(SCRIPTS, 'restart.sh'), [name], { timeout: timeoutMs }, (error, stdout, stderr) => {
      const ready = /^READY \S+ ready_ms=(\d+)/m.exec(stdout);
      if (error || !ready?.[1]) {
        reject(new Error(`restart.sh ${name} failed: ${error?.message ?? 'no READY line'}\n${stdout}${stderr}`));
      } else {
        resolvePromise(Number(ready[1]));
      }
    });
  });
}
