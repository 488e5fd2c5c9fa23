// I/O: finds the engines on this host. Gathers candidate sockets from the
// environment, the well-known paths and the /proc scan, merges those that
// reach the same socket (by the socket file's device and inode), and probes
// each with the adapters' own info() calls under a short timeout.

import { readdir, stat } from 'node:fs/promises';
import type { SchedulerLike } from 'rxjs';
import type { EngineAdapter, EngineType } from '../core/engine.js';
import { isEngineError } from '../errors.js';
import { containerdAdapter } from '../engines/containerd/containerd-source.js';
import { criAdapter } from '../engines/cri/cri-source.js';
import { probeDocker } from './docker-probe.js';
import { type Candidate, type DiscoveryRoute, type MergedCandidate, envEndpoints, mergeCandidates, wellKnownSockets } from './discovery-merge.js';
import { type DiscoveryApi, apisByName } from './proc-parse.js';
import { type DiscoveryUnreadable, fsReason, scanProc } from './proc-scan.js';

/** Default longest wait in ms for one probe's answer. */
const DEFAULT_PROBE_TIMEOUT = 2_000;

/**
 * Options of {@link discoverEngines}.
 *
 * @example
 * ```ts
 * import { discoverEngines, type DiscoveryOptions } from 'whalewatcher';
 * // only what the environment names and the usual sockets: no /proc scan, a short probe
 * const options: DiscoveryOptions = { scan: false, timeout: 500 };
 * console.log((await discoverEngines(options)).engines.length);
 * ```
 */
export interface DiscoveryOptions {
  /** Environment to read `DOCKER_HOST`, `CONTAINERD_ADDRESS`, `CONTAINER_RUNTIME_ENDPOINT` and `XDG_RUNTIME_DIR` from; default `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Socket paths to look for instead of the well-known ones (default:
   * `/run/docker.sock`, `/var/run/docker.sock`, `/run/containerd/containerd.sock`,
   * `/run/crio/crio.sock`, `/run/podman/podman.sock`, then `podman/podman.sock`
   * and `docker.sock` under `$XDG_RUNTIME_DIR` and every `/run/user/UID`); `[]`: none.
   */
  readonly wellKnown?: readonly string[];
  /** Scan the processes for engines and their sockets (default true). */
  readonly scan?: boolean;
  /** Where the proc file system is (default `/proc`): a test can scan a fixture tree. */
  readonly procRoot?: string;
  /** Longest wait in ms for a probe's answer (default 2,000). */
  readonly timeout?: number;
  /** Scheduler for the probes' timeouts (default: RxJS's async scheduler). */
  readonly scheduler?: SchedulerLike;
}

/**
 * An engine that answered, and how it was found.
 *
 * @example
 * ```ts
 * import { discoverEngines, watchDocker, type DiscoveredEngine } from 'whalewatcher';
 * const { engines } = await discoverEngines();
 * const docker: DiscoveredEngine | undefined = engines.find((e) => e.type === 'docker.com' && e.product !== 'podman');
 * if (docker !== undefined) {
 *   const ww = watchDocker({ host: docker.endpoint });
 *   await ww.close();
 * }
 * ```
 */
export interface DiscoveredEngine {
  /** The API it answered on. A containerd socket yields two engines: `containerd.io` and (with its CRI plugin) `k8s.io/cri-api`. */
  readonly type: EngineType;
  /** `docker`, `podman`, `containerd`, `cri-o`, … (for CRI the runtime's name). */
  readonly product?: string;
  /**
   * Where to reach it from this process, in the form the watchers take:
   * `unix:///path` (give it to `watchDocker({ host })`, `watchContainerd({ address })`,
   * `watchCri({ endpoint })`). An engine in a mount namespace of its own is
   * reached under `/proc/PID/root/…`.
   */
  readonly endpoint: string;
  /** The engine process's PID, when the /proc scan found its socket. */
  readonly pid?: number;
  /**
   * The engine's identity as in `EngineInfo.id`, where the probe learnt it
   * (containerd's UUID, the CRI runtime's name); not for Docker and Podman,
   * whose `/info` would cost Podman seconds (the watcher's `info()` has it).
   */
  readonly id?: string;
  /** The engine's version, as in `EngineInfo.version`. */
  readonly version: string;
  /** Every way discovery reached this socket (environment, well-known path, process scan). */
  readonly routes: readonly DiscoveryRoute[];
}

/**
 * A socket that was found but where no engine answered.
 *
 * @example
 * ```ts
 * import { discoverEngines, type DiscoveryUnanswered } from 'whalewatcher';
 * const silent: readonly DiscoveryUnanswered[] = (await discoverEngines()).unanswered;
 * for (const u of silent) console.warn(`${u.endpoint}: no ${u.tried.join('/')} engine answered (${u.reason})`);
 * ```
 */
export interface DiscoveryUnanswered {
  /** The socket, as a watcher's endpoint (`unix:///path`). */
  readonly endpoint: string;
  /** The APIs that were tried. */
  readonly tried: readonly ('docker' | 'containerd' | 'cri')[];
  /** The probes' errors. */
  readonly reason: string;
  /** Every way discovery reached this socket. */
  readonly routes: readonly DiscoveryRoute[];
}

/**
 * What {@link discoverEngines} found.
 *
 * @example
 * ```ts
 * import { discoverEngines, type Discovery } from 'whalewatcher';
 * const found: Discovery = await discoverEngines();
 * console.log(`${found.engines.length} engines, ${found.unanswered.length} silent sockets, ${found.unreadable.length} unreadable`);
 * ```
 */
export interface Discovery {
  /** The engines that answered, one per socket and API (same socket reached by several routes: once). */
  readonly engines: readonly DiscoveredEngine[];
  /** What could not be read (permissions: another user's processes and sockets without root). */
  readonly unreadable: readonly DiscoveryUnreadable[];
  /** Sockets that were found, or named by the environment, but did not answer as an engine. */
  readonly unanswered: readonly DiscoveryUnanswered[];
}

/**
 * Finds the container engines on this host: the endpoints the environment
 * names, the well-known sockets, and a scan of the processes (`dockerd`,
 * `containerd`, `crio`, `podman`) for the unix sockets they listen on,
 * resolved inside each process's root so that an engine in a mount namespace
 * of its own is reachable. Every socket found is probed once (Docker
 * `/_ping` + `/version`, containerd `Version` through the containerd adapter,
 * CRI `Version` through the CRI adapter, by what the socket is expected to
 * be) with `timeout`; the same socket reached by several paths counts once.
 * One-shot: every connection is closed when the promise settles.
 *
 * Never rejects for what it cannot see: without root, the result lists what
 * could not be read in `unreadable`, and sockets that did not answer in
 * `unanswered`. The result is an object rather than the bare array, so that
 * those two lists travel with the engines.
 *
 * @example
 * ```ts
 * import { discoverEngines, watchContainerd, watchCri, watchDocker } from 'whalewatcher';
 * const { engines, unreadable } = await discoverEngines({ timeout: 1_000 });
 * for (const e of engines) console.log(e.type, e.product ?? '', e.version, e.endpoint, e.pid ?? '?');
 * for (const u of unreadable) console.warn(`could not read ${u.path}: ${u.reason}`);
 * const first = engines[0];
 * if (first !== undefined) {
 *   const pid = first.pid === undefined ? {} : { pid: first.pid };
 *   const ww =
 *     first.type === 'docker.com' ? watchDocker({ host: first.endpoint, ...pid })
 *     : first.type === 'containerd.io' ? watchContainerd({ address: first.endpoint, ...pid })
 *     : watchCri({ endpoint: first.endpoint, ...pid });
 *   await ww.ready;
 *   console.log(ww.portfolio.total);
 *   await ww.close();
 * }
 * ```
 */
export async function discoverEngines(options: DiscoveryOptions = {}): Promise<Discovery> {
  const env = options.env ?? process.env;
  const unreadable: DiscoveryUnreadable[] = [];
  const unanswered: DiscoveryUnanswered[] = [];
  const candidates: Candidate[] = [];

  // the environment: a name that is not there is worth saying
  for (const e of envEndpoints(env)) {
    const route: DiscoveryRoute = { by: 'env', variable: e.variable, endpoint: e.endpoint };
    if (e.path === undefined) {
      candidates.push({ endpoint: e.endpoint, key: e.endpoint, apis: e.apis, route });
      continue;
    }
    const key = await socketKey(e.path);
    if (typeof key === 'string') candidates.push({ endpoint: e.endpoint, key, apis: e.apis, route });
    else if (key.permission) unreadable.push({ path: e.path, reason: key.reason });
    else unanswered.push({ endpoint: e.endpoint, tried: [], reason: key.reason, routes: [route] });
  }

  // the well-known sockets: silent when absent
  const wellKnown = options.wellKnown ?? wellKnownSockets(env, await userRuntimeDirs(unreadable));
  for (const path of wellKnown) {
    const key = await socketKey(path);
    if (typeof key === 'string') candidates.push({ endpoint: `unix://${path}`, key, apis: apisByName(path), route: { by: 'well-known', path } });
    else if (key.permission) unreadable.push({ path, reason: key.reason });
  }

  // the process scan
  if (options.scan !== false) {
    const scan = await scanProc(options.procRoot ?? '/proc');
    unreadable.push(...scan.unreadable);
    for (const s of scan.sockets) {
      const key = await socketKey(s.reachable);
      const route: DiscoveryRoute = { by: 'process', pid: s.pid, process: s.process, path: s.path };
      if (typeof key === 'string') candidates.push({ endpoint: `unix://${s.reachable}`, key, apis: s.apis, route, pid: s.pid });
      else unreadable.push({ path: s.reachable, reason: key.reason });
    }
  }

  const timeout = options.timeout ?? DEFAULT_PROBE_TIMEOUT;
  const probed = await Promise.all(
    mergeCandidates(candidates).map((m) => probeSocket(m, { env, requestTimeout: timeout, ...(options.scheduler === undefined ? {} : { scheduler: options.scheduler }) })),
  );
  const engines: DiscoveredEngine[] = [];
  for (const p of probed) {
    if (p.kind === 'engines') engines.push(...p.engines);
    else if (p.kind === 'permission') unreadable.push({ path: p.endpoint.replace(/^unix:\/\//, ''), reason: p.reason });
    else unanswered.push({ endpoint: p.endpoint, tried: p.tried, reason: p.reason, routes: p.routes });
  }
  return Object.freeze({ engines: Object.freeze(engines), unreadable: Object.freeze(unreadable), unanswered: Object.freeze(unanswered) });
}

/** `dev:ino` of a unix socket file, or why not (missing, not a socket, not allowed). */
async function socketKey(path: string): Promise<string | { readonly permission: boolean; readonly reason: string }> {
  try {
    const st = await stat(path);
    if (!st.isSocket()) return { permission: false, reason: `${path} is not a socket` };
    return `${st.dev}:${st.ino}`;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { permission: code === 'EACCES' || code === 'EPERM', reason: fsReason(err) };
  }
}

/** The `/run/user/UID` folders (none when `/run/user` is missing). */
async function userRuntimeDirs(unreadable: DiscoveryUnreadable[]): Promise<string[]> {
  try {
    return (await readdir('/run/user')).filter((n) => /^\d+$/.test(n)).map((n) => `/run/user/${n}`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') unreadable.push({ path: '/run/user', reason: fsReason(err) });
    return [];
  }
}

type ProbeSettings = { readonly env: Readonly<Record<string, string | undefined>>; readonly requestTimeout: number; readonly scheduler?: SchedulerLike };

type ProbeOutcome =
  | { readonly kind: 'engines'; readonly engines: readonly DiscoveredEngine[] }
  | { readonly kind: 'permission'; readonly endpoint: string; readonly reason: string }
  | { readonly kind: 'none'; readonly endpoint: string; readonly tried: readonly DiscoveryApi[]; readonly reason: string; readonly routes: readonly DiscoveryRoute[] };

/** What one probe learnt. */
interface ProbeAnswer {
  readonly type: EngineType;
  readonly product?: string | undefined;
  readonly version: string;
  readonly id?: string | undefined;
}

/** Asks one API who the engine is; the gRPC adapters' info(), disposed either way. */
async function probe(api: DiscoveryApi, endpoint: string, settings: ProbeSettings): Promise<ProbeAnswer> {
  if (api === 'docker') return { type: 'docker.com', ...(await probeDocker(endpoint, settings)) };
  const adapter: EngineAdapter = api === 'containerd' ? containerdAdapter({ address: endpoint, ...settings }) : criAdapter({ endpoint, ...settings });
  try {
    return await adapter.info();
  } finally {
    adapter.dispose();
  }
}

/** Probes every API expected on one socket, in parallel. */
async function probeSocket(m: MergedCandidate, settings: ProbeSettings): Promise<ProbeOutcome> {
  const outcomes = await Promise.allSettled(m.apis.map((api) => probe(api, m.endpoint, settings)));
  const engines: DiscoveredEngine[] = [];
  const errors: unknown[] = [];
  for (const o of outcomes) {
    if (o.status === 'rejected') {
      errors.push(o.reason);
      continue;
    }
    const info = o.value;
    engines.push(
      Object.freeze({
        type: info.type,
        ...(info.product === undefined ? {} : { product: info.product }),
        endpoint: m.endpoint,
        ...(m.pid === undefined ? {} : { pid: m.pid }),
        ...(info.id === undefined || info.id === '' ? {} : { id: info.id }),
        version: info.version,
        routes: Object.freeze([...m.routes]),
      }),
    );
  }
  // a containerd without its CRI plugin is still containerd: only a socket where nothing answered is reported
  if (engines.length > 0) return { kind: 'engines', engines };
  const reason = errors.map((e) => (e as Error)?.message ?? String(e)).join('; ');
  if (errors.some((e) => (isEngineError(e) && e.code === 'permission') || (e as NodeJS.ErrnoException)?.code === 'EACCES')) return { kind: 'permission', endpoint: m.endpoint, reason };
  return { kind: 'none', endpoint: m.endpoint, tried: m.apis, reason, routes: m.routes };
}
