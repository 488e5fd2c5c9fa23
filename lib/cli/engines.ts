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
