import type { WatchOptions, Watcher } from '../core/watcher.js';
import { type Discovery, type DiscoveryOptions, discoverEngines } from '../discovery/discover-engines.js';
import type { AdapterOptions } from '../engines/common/adapter-options.js';
import { watchContainerd } from '../engines/containerd/watch-containerd.js';
import { watchCri } from '../engines/cri/watch-cri.js';
import { watchDocker } from '../engines/docker/watch-docker.js';

/** @internal An engine named on the command line. */
export interface EngineChoice {
  readonly kind: 'docker' | 'containerd' | 'cri';
  /** Endpoint; the engine's conventional default (environment, well-known socket) when absent. */
  readonly endpoint?: string;
  /** What to call it in tables and events (default: `kind`); discovery names Podman `podman`. */
  readonly label?: string;
  /** The engine's PID, when discovery found it. */
  readonly pid?: number;
}

/** @internal The environment variables that name an engine, by kind: with one set, the CLI watches what they name. */
export const ENGINE_VARIABLES = { docker: 'DOCKER_HOST', containerd: 'CONTAINERD_ADDRESS', cri: 'CONTAINER_RUNTIME_ENDPOINT' } as const;

/** @internal The engines to watch when none is named on the command line, and how they were chosen. */
export interface DefaultEngines {
  readonly choices: readonly EngineChoice[];
  /** `env`: the variables named them; `discovery`: found by {@link discoverEngines}; `fallback`: nothing found, the Docker default. */
  readonly by: 'env' | 'discovery' | 'fallback';
  readonly discovery?: Discovery;
}

/**
 * @internal With no engine on the command line: the engines the environment
 * variables name, else every engine {@link discoverEngines} finds, else
 * Docker at its default socket (whose error then says what is missing).
 */
export async function defaultEngines(env: Readonly<Record<string, string | undefined>>, discover: DiscoveryOptions = {}): Promise<DefaultEngines> {
  const named = (Object.keys(ENGINE_VARIABLES) as (keyof typeof ENGINE_VARIABLES)[]).filter((kind) => (env[ENGINE_VARIABLES[kind]] ?? '') !== '');
  if (named.length > 0) return { choices: named.map((kind) => ({ kind })), by: 'env' };
  const discovery = await discoverEngines({ timeout: 1_000, ...discover, env });
  if (discovery.engines.length === 0) return { choices: [{ kind: 'docker' }], by: 'fallback', discovery };
  const choices = discovery.engines.map((e): EngineChoice => {
    const kind = e.type === 'docker.com' ? 'docker' : e.type === 'containerd.io' ? 'containerd' : 'cri';
    const label = kind === 'docker' ? (e.product ?? 'docker') : kind;
    return { kind, endpoint: e.endpoint, label, ...(e.pid === undefined ? {} : { pid: e.pid }) };
  });
  return { choices, by: 'discovery', discovery };
}

/** @internal What the CLI asks of every watcher it starts: the watcher's options and the `labels` filter. */
export type CliWatchOptions = WatchOptions & Pick<AdapterOptions, 'labels'>;

/** @internal Starts a watcher for the chosen engine. */
export function openWatcher(choice: EngineChoice, cliOptions: CliWatchOptions): Watcher {
  const options = choice.pid === undefined ? cliOptions : { ...cliOptions, pid: choice.pid };
  switch (choice.kind) {
    case 'docker':
      return watchDocker({ ...options, ...(choice.endpoint === undefined ? {} : { host: choice.endpoint }) });
    case 'containerd':
      return watchContainerd({ ...options, ...(choice.endpoint === undefined ? {} : { address: choice.endpoint }) });
    case 'cri':
      return watchCri({ ...options, ...(choice.endpoint === undefined ? {} : { endpoint: choice.endpoint }) });
  }
}
