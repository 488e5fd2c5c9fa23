// I/O wiring of the host view: discoverEngines() for discovery, the engines'
// own adapters and watch() for each engine, /proc for a process's ancestry.
// Everything else is host-watcher.ts.

import { defer } from 'rxjs';
import type { EngineAdapter } from '../core/engine.js';
import { type WatchOptions, watch } from '../core/watcher.js';
import { type DiscoveredEngine, type DiscoveryOptions, discoverEngines } from '../discovery/discover-engines.js';
import { processAncestry } from '../discovery/proc-scan.js';
import type { AdapterOptions } from '../engines/common/adapter-options.js';
import { adapterIdentity } from '../engines/common/define-adapter.js';
import { type ContainerdOptions, containerdAdapter } from '../engines/containerd/containerd-source.js';
import { type CriOptions, criAdapter } from '../engines/cri/cri-source.js';
import { type DockerOptions, dockerAdapter } from '../engines/docker/docker-source.js';
import { type HostWatcher, hostWatcher } from './host-watcher.js';

/** Default of {@link HostWatchOptions.rediscoverInterval}. */
const DEFAULT_REDISCOVER_INTERVAL = 30_000;
/** Default of {@link HostWatchOptions.goneGrace}. */
const DEFAULT_GONE_GRACE = 10_000;

/**
 * Options of {@link watchHost}: those of every engine's watcher, given once
 * for all (the engine's endpoint and PID come from discovery), and the host
 * view's own.
 *
 * @example
 * ```ts
 * import { type HostWatchOptions, watchHost } from 'whalewatcher';
 * const options: HostWatchOptions = { labels: ['com.docker.compose.project'], rediscoverInterval: 60_000, goneGrace: 15_000, filter: (e) => e.type !== 'k8s.io/cri-api' };
 * const host = watchHost(options);
 * await host.ready;
 * await host.close();
 * ```
 */
export interface HostWatchOptions extends Omit<AdapterOptions, 'pid'>, WatchOptions {
  /** How to find the engines (default: environment, well-known sockets and the /proc scan, probes with a 2 s timeout). */
  readonly discovery?: Omit<DiscoveryOptions, 'scheduler'>;
  /** ms from one discovery to the next (default 30,000; 0 or Infinity: only at start, on {@link HostWatcher.rediscover}, and when an engine's watcher fails). */
  readonly rediscoverInterval?: number;
  /**
   * ms an engine may be missing from discovery before it is dropped (default
   * 10,000), unless its watcher is live then (a probe that was only slow).
   * Its containers then leave the picture with synthetic `exited` events.
   */
  readonly goneGrace?: number;
  /** Watch only the engines this accepts (default: all that discovery finds). */
  readonly filter?: (engine: DiscoveredEngine) => boolean;
  /** Options for Docker and Podman watchers only (`packer`, `eventReplayWindow`, `engineType`, …). */
  readonly docker?: Omit<DockerOptions, keyof AdapterOptions | 'host'>;
  /** Options for containerd watchers only (`namespaces`, `ignoreNamespaces`, `packer`, …). */
  readonly containerd?: Omit<ContainerdOptions, keyof AdapterOptions | 'address'>;
  /** Options for CRI watchers only (`resyncInterval`, …). */
  readonly cri?: Omit<CriOptions, keyof AdapterOptions | 'endpoint'>;
}

/**
 * Watches every container engine of the host at once: finds them with
 * `discoverEngines()`, starts the right watcher for each (Docker and Podman,
 * containerd, CRI; with the common options such as `labels` and `retry`, and
 * the PID discovery found), and keeps one merged, always-current picture of
 * all their alive containers, each carrying its `engine`. It rediscovers
 * periodically and at once when an engine's watcher fails (its process went
 * away); an engine missing from discovery for `goneGrace` ms is dropped, its
 * containers ending with synthetic `exited` events. An engine that runs in a
 * container of another watched engine shows it in `parent`, and its
 * containers carry the `turtlefinder/container/prefix` label. Hot from
 * creation; `close()` closes every watcher, socket and timer.
 *
 * @example
 * ```ts
 * import { watchHost } from 'whalewatcher';
 * const host = watchHost({ labels: ['com.docker.compose.project'] });
 * await host.ready;
 * for (const e of host.engines) console.log(e.info.type, e.info.product ?? '', e.info.api, e.status.state, e.parent?.container ?? '');
 * for (const c of host.containers) console.log(c.engine?.type, c.name, c.pid);
 * const sub = host.lifecycle$.subscribe((e) => console.log(e.engine?.api, e.type, e.container.name));
 * sub.unsubscribe();
 * await host.close();
 * ```
 */
export function watchHost(options: HostWatchOptions = {}): HostWatcher {
  const { discovery, rediscoverInterval, goneGrace, filter, docker, containerd, cri, ...common } = options;
  const scheduler = options.scheduler;
  const discoveryOptions: DiscoveryOptions = {
    ...(options.env === undefined ? {} : { env: options.env }),
    ...discovery,
    ...(scheduler === undefined ? {} : { scheduler }),
  };
  const procRoot = discovery?.procRoot ?? '/proc';
  return hostWatcher(
    {
      discover: () => defer(() => discoverEngines(discoveryOptions)),
      watch: (engine) => {
        const pid = engine.pid === undefined ? {} : { pid: engine.pid };
        let adapter: EngineAdapter;
        if (engine.type === 'docker.com') adapter = dockerAdapter({ ...common, ...docker, ...pid, host: engine.endpoint });
        else if (engine.type === 'containerd.io') adapter = containerdAdapter({ ...common, ...containerd, ...pid, address: engine.endpoint });
        else adapter = criAdapter({ ...common, ...cri, ...pid, endpoint: engine.endpoint });
        const identity = adapterIdentity(adapter);
        return { watcher: watch(adapter, common), identity: identity === undefined ? undefined : () => identity };
      },
      ancestry: (pid) => defer(() => processAncestry(pid, procRoot)),
    },
    {
      rediscoverInterval: rediscoverInterval ?? DEFAULT_REDISCOVER_INTERVAL,
      goneGrace: goneGrace ?? DEFAULT_GONE_GRACE,
      filter,
      scheduler,
    },
  );
}
