// Pure: the candidate sockets of every source (environment, well-known paths,
// the /proc scan), and their merge into one entry per socket.

import type { DiscoveryApi } from './proc-parse.js';

/**
 * How discovery came upon an engine's socket.
 *
 * @example
 * ```ts
 * import { discoverEngines, type DiscoveryRoute } from 'whalewatcher';
 * const how = (r: DiscoveryRoute): string => (r.by === 'env' ? `$${r.variable}` : r.by === 'well-known' ? r.path : `${r.process} (PID ${r.pid}) at ${r.path}`);
 * for (const e of (await discoverEngines()).engines) console.log(e.endpoint, 'found by', e.routes.map(how).join(', '));
 * ```
 */
export type DiscoveryRoute =
  /** An environment variable (`DOCKER_HOST`, `CONTAINERD_ADDRESS`, `CONTAINER_RUNTIME_ENDPOINT`) named it. */
  | {
      /** Found through the environment. */
      readonly by: 'env';
      /** The variable, e.g. `DOCKER_HOST`. */
      readonly variable: string;
      /** What it named, as a watcher's endpoint. */
      readonly endpoint: string;
    }
  /** A well-known socket path (`/run/docker.sock`, …, or the `wellKnown` option) exists. */
  | {
      /** Found at a well-known path. */
      readonly by: 'well-known';
      /** The socket's path. */
      readonly path: string;
    }
  /**
   * The /proc scan: process `pid` named `process` listens on `path` (as that
   * process sees it, in its own mount namespace).
   */
  | {
      /** Found by the /proc scan. */
      readonly by: 'process';
      /** The engine process's PID. */
      readonly pid: number;
      /** The process name (`/proc/PID/comm`), e.g. `dockerd`. */
      readonly process: string;
      /** The socket's path as that process sees it. */
      readonly path: string;
    };

/** One way to one socket, before probing. @internal */
export interface Candidate {
  /** Endpoint to probe: `unix:///path` reachable from this process, or `tcp://host:port`. */
  readonly endpoint: string;
  /** Identity of the socket: `dev:ino` of the socket file, else the endpoint itself. */
  readonly key: string;
  readonly apis: readonly DiscoveryApi[];
  readonly route: DiscoveryRoute;
  readonly pid?: number;
}

/** Candidates that reach the same socket, merged. @internal */
export interface MergedCandidate {
  /** The first candidate's endpoint (sources come in order: environment, well-known, process scan). */
  readonly endpoint: string;
  readonly key: string;
  /** Union of the candidates' APIs, in the order docker, containerd, cri. */
  readonly apis: readonly DiscoveryApi[];
  readonly routes: readonly DiscoveryRoute[];
  readonly pid?: number;
}

const API_ORDER: readonly DiscoveryApi[] = ['docker', 'containerd', 'cri'];

/**
 * Merges candidates by socket identity (`key`), keeping first-seen order: the
 * same socket reached by several paths (`/run/docker.sock` and
 * `/var/run/docker.sock`, an environment variable and the /proc scan) is one
 * entry with every route and the first known PID.
 *
 * @internal
 */
export function mergeCandidates(candidates: readonly Candidate[]): MergedCandidate[] {
  const byKey = new Map<string, { endpoint: string; key: string; apis: Set<DiscoveryApi>; routes: DiscoveryRoute[]; pid: number | undefined }>();
  for (const c of candidates) {
    let m = byKey.get(c.key);
    if (m === undefined) {
      m = { endpoint: c.endpoint, key: c.key, apis: new Set(), routes: [], pid: undefined };
      byKey.set(c.key, m);
    }
    for (const api of c.apis) m.apis.add(api);
    m.routes.push(c.route);
    if (m.pid === undefined && c.pid !== undefined) m.pid = c.pid;
  }
  return [...byKey.values()].map((m) => ({
    endpoint: m.endpoint,
    key: m.key,
    apis: API_ORDER.filter((a) => m.apis.has(a)),
    routes: m.routes,
    ...(m.pid === undefined ? {} : { pid: m.pid }),
  }));
}

/** An endpoint the environment names, before it is checked on disk. @internal */
export interface EnvEndpoint {
  readonly variable: string;
  /** `unix:///path` or `tcp://host:port`. */
  readonly endpoint: string;
  /** Socket path when a unix socket. */
  readonly path?: string;
  readonly apis: readonly DiscoveryApi[];
}

const ENV_VARIABLES: readonly { readonly variable: string; readonly apis: readonly DiscoveryApi[] }[] = [
  { variable: 'DOCKER_HOST', apis: ['docker'] },
  { variable: 'CONTAINERD_ADDRESS', apis: ['containerd', 'cri'] },
  { variable: 'CONTAINER_RUNTIME_ENDPOINT', apis: ['cri'] },
];

/**
 * The endpoints `DOCKER_HOST`, `CONTAINERD_ADDRESS` and
 * `CONTAINER_RUNTIME_ENDPOINT` name (unset and empty ones left out): unix
 * sockets as `unix:///path` (containerd's bare paths too), tcp as given.
 *
 * @internal
 */
export function envEndpoints(env: Readonly<Record<string, string | undefined>>): EnvEndpoint[] {
  const found: EnvEndpoint[] = [];
  for (const { variable, apis } of ENV_VARIABLES) {
    const raw = env[variable]?.trim();
    if (raw === undefined || raw === '') continue;
    const path = /^unix:\/\//i.test(raw) ? raw.slice('unix://'.length) : /^unix:/i.test(raw) ? raw.slice('unix:'.length) : raw.startsWith('/') ? raw : undefined;
    if (path !== undefined) found.push({ variable, endpoint: `unix://${path}`, path, apis });
    else found.push({ variable, endpoint: /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `tcp://${raw}`, apis });
  }
  return found;
}

/** The system-wide well-known sockets, in the order they are tried. @internal */
export const SYSTEM_SOCKETS: readonly string[] = Object.freeze([
  '/run/docker.sock',
  '/var/run/docker.sock',
  '/run/containerd/containerd.sock',
  '/run/crio/crio.sock',
  '/run/podman/podman.sock',
]);

/** Sockets of one user's runtime folder (`$XDG_RUNTIME_DIR`, `/run/user/UID`). */
const USER_SOCKETS: readonly string[] = ['podman/podman.sock', 'docker.sock'];

/**
 * The well-known socket paths: {@link SYSTEM_SOCKETS}, then
 * `$XDG_RUNTIME_DIR/podman/podman.sock` and `…/docker.sock`, then the same
 * for every `/run/user/UID` folder in `userDirs`; each path once.
 *
 * @internal
 */
export function wellKnownSockets(env: Readonly<Record<string, string | undefined>>, userDirs: readonly string[]): string[] {
  const runtimeDirs = [env['XDG_RUNTIME_DIR'], ...userDirs].filter((d): d is string => d !== undefined && d.startsWith('/'));
  const paths = [...SYSTEM_SOCKETS, ...runtimeDirs.flatMap((dir) => USER_SOCKETS.map((s) => `${dir.replace(/\/+$/, '')}/${s}`))];
  return [...new Set(paths)];
}

