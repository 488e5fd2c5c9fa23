import type { WatchOptions, Watcher } from '../core/watcher.js';
import type { AdapterOptions } from '../engines/common/adapter-options.js';
import { watchContainerd } from '../engines/containerd/watch-containerd.js';
import { watchCri } from '../engines/cri/watch-cri.js';
import { watchDocker } from '../engines/docker/watch-docker.js';

/** @internal An engine named on the command line. */
export interface EngineChoice {
  readonly kind: 'docker' | 'containerd' | 'cri';
  /** Endpoint; the engine's conventional default (environment, well-known socket) when absent. */
  readonly endpoint?: string;
}

/** @internal The environment variables that name an engine, by kind: with one set, the CLI watches what they name. */
export const ENGINE_VARIABLES = { docker: 'DOCKER_HOST', containerd: 'CONTAINERD_ADDRESS', cri: 'CONTAINER_RUNTIME_ENDPOINT' } as const;

/**
 * @internal With no engine on the command line: the engines the environment
 * variables name, by kind; none set: Docker at its default socket (the CLI
 * first asks watchHost() for every engine of the host, and comes here when it
 * finds none, so that Docker's error says what is missing).
 */
export function defaultEngines(env: Readonly<Record<string, string | undefined>>): EngineChoice[] {
  const named = (Object.keys(ENGINE_VARIABLES) as (keyof typeof ENGINE_VARIABLES)[]).filter((kind) => (env[ENGINE_VARIABLES[kind]] ?? '') !== '');
  return named.length > 0 ? named.map((kind) => ({ kind })) : [{ kind: 'docker' }];
}

/** @internal What the CLI asks of every watcher it starts: the watcher's options and the `labels` filter. */
export type CliWatchOptions = WatchOptions & Pick<AdapterOptions, 'labels'>;

/** @internal Starts a watcher for the chosen engine. */
export function openWatcher(choice: EngineChoice, options: CliWatchOptions): Watcher {
  switch (choice.kind) {
    case 'docker':
      return watchDocker({ ...options, ...(choice.endpoint === undefined ? {} : { host: choice.endpoint }) });
    case 'containerd':
      return watchContainerd({ ...options, ...(choice.endpoint === undefined ? {} : { address: choice.endpoint }) });
    case 'cri':
      return watchCri({ ...options, ...(choice.endpoint === undefined ? {} : { endpoint: choice.endpoint }) });
  }
}
