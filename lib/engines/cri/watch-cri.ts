import { type WatchOptions, type Watcher, watch } from '../../core/watcher.js';
import { type CriOptions, criAdapter } from './cri-source.js';

/**
 * Watches a CRI runtime (containerd 1.7+ with its CRI plugin, cri-o, …) and
 * keeps an always-current picture of its running containers and ready pod
 * sandboxes. Hot: starts at once and runs until `close()`, which cancels the
 * event stream, every call in flight and the periodic relist, and closes the
 * gRPC channel.
 *
 * The endpoint defaults to `CONTAINER_RUNTIME_ENDPOINT`, else the first
 * existing of containerd's, cri-o's and cri-dockerd's sockets. Names read
 * `<pod-namespace>/<pod-name>/<container-name>` (sandboxes:
 * `<pod-namespace>/<pod-name>`, labelled `io.kubernetes.sandbox`); pod name,
 * namespace and uid and the container name are labels too, annotations are
 * labels prefixed `io.kubernetes.annotation/`. CRI events are only hints, so the watcher
 * relists every `resyncInterval` ms (default 30 s) as well, with a status call
 * only for what its picture lacks. A runtime without
 * `GetContainerEvents` (containerd 1.6) leaves the watcher degraded with an
 * `EngineError` `unsupported`.
 *
 * @throws EngineError `config` when the endpoint is unusable.
 *
 * @example
 * ```ts
 * import { watchCri } from 'whalewatcher';
 * const ww = watchCri({ endpoint: 'unix:///run/containerd/containerd.sock' });
 * await ww.ready;
 * for (const c of ww.portfolio.containers) console.log(c.name, c.pid, c.labels['io.kubernetes.sandbox'] ?? '');
 * await ww.close();
 * ```
 */
export function watchCri(options: CriOptions & WatchOptions = {}): Watcher {
  return watch(criAdapter(options), options);
}
