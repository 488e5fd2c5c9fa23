// The live view's source over watchHost(): every engine the host view finds
// (also those found later), each with a stable label, its status, identity and
// portfolio; the merged lifecycle labelled by engine. RxJS only.

import { type Observable, type SchedulerLike, combineLatest, map, of, switchMap, tap } from 'rxjs';
import type { EngineInfo } from '../core/engine.js';
import type { WatcherStatus } from '../core/fold.js';
import type { HostEngine, HostWatcher } from '../host/host-watcher.js';
import type { ViewEngine, ViewEvent } from './live-view.js';
import type { ViewSource } from './view-frames.js';

/** The label of an engine by its type and product: `docker`, `podman`, `containerd`, `cri`. */
function baseLabel(info: EngineInfo): string {
  if (info.type === 'docker.com') return info.product ?? 'docker';
  if (info.type === 'containerd.io') return 'containerd';
  if (info.type === 'k8s.io/cri-api') return 'cri';
  return info.product ?? String(info.type);
}

/**
 * @internal The live view's source over a host view: labels are given in the
 * order engines are found and kept for the engine's life (`docker`,
 * `podman`, `docker#2`, …); `statusSince` is the scheduler's time when an
 * engine's status last changed.
 */
export function hostSource(host: HostWatcher, scheduler: SchedulerLike): ViewSource {
  // Label per engine key, and how many engines got each base label so far (labels are never reused).
  const labels = new Map<string, string>();
  const counts = new Map<string, number>();
  // Per engine key: the status last seen and when it was first seen.
  const statuses = new Map<string, { readonly status: WatcherStatus; readonly since: number }>();
  // The current engines' identities, to label lifecycle events.
  let byInfo = new Map<EngineInfo, string>();

  const labelOf = (e: HostEngine): string => {
    let label = labels.get(e.key);
    if (label === undefined) {
      const base = baseLabel(e.info);
      const n = (counts.get(base) ?? 0) + 1;
      counts.set(base, n);
      label = n === 1 ? base : `${base}#${n}`;
      labels.set(e.key, label);
    }
    return label;
  };
  const sinceOf = (e: HostEngine): number => {
    const seen = statuses.get(e.key);
    if (seen !== undefined && seen.status === e.status) return seen.since;
    const since = scheduler.now();
    statuses.set(e.key, { status: e.status, since });
    return since;
  };

  const engines$: Observable<readonly ViewEngine[]> = host.engines$.pipe(
    tap((engines) => {
      byInfo = new Map(engines.map((e) => [e.info, labelOf(e)]));
    }),
    switchMap((engines) =>
      engines.length === 0
        ? of([])
        : combineLatest(
            engines.map((e) => {
              const label = labelOf(e);
              const statusSince = sinceOf(e);
              return e.watcher.portfolio$.pipe(map((portfolio): ViewEngine => ({ label, status: e.status, statusSince, info: e.info, portfolio })));
            }),
          ),
    ),
  );
  const lifecycle$: Observable<ViewEvent> = host.lifecycle$.pipe(
    map((event): ViewEvent => {
      const info = event.engine ?? event.container.engine;
      const label = info === undefined ? '?' : (byInfo.get(info) ?? [...byInfo].find(([i]) => i.type === info.type && i.api === info.api)?.[1] ?? baseLabel(info));
      return { engine: label, event };
    }),
  );
  return { engines$, lifecycle$ };
}
