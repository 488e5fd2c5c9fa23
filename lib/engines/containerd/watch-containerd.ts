import { type WatchOptions, type Watcher, watch } from '../../core/watcher.js';
import { type ContainerdOptions, containerdAdapter } from './containerd-source.js';

/**
 * Watches a containerd daemon through its native gRPC API and keeps an
 * always-current picture of the alive containers (tasks with a process) of all
 * its namespaces but the ignored ones (default `moby` and `k8s.io`). Hot:
 * starts at once and runs until `close()`, which cancels the event stream and
 * every call in flight and closes the gRPC channel.
 *
 * The address defaults to `CONTAINERD_ADDRESS`, else
 * `/run/containerd/containerd.sock`. Ids outside namespace `default` read
 * `namespace/id`; names come from nerdctl's `nerdctl/name` label where present.
 *
 * @throws EngineError `config` when the address is unusable.
 *
 * @example
 * ```ts
 * import { watchContainerd } from 'whalewatcher';
 * const ww = watchContainerd({ address: 'unix:///run/containerd/containerd.sock' });
 * await ww.ready;
 * for (const c of ww.portfolio.containers) console.log(c.id, c.name, c.pid, c.paused);
 * await ww.close();
 * ```
 */
export function watchContainerd(options: ContainerdOptions & WatchOptions = {}): Watcher {
  return watch(containerdAdapter(options), options);
}
