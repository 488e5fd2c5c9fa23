import type { Observable } from 'rxjs';
import type { EngineAdapter, EngineFeed, EngineInfo } from '../../core/engine.js';
import type { Container } from '../../model/container.js';
import { resolveStarts } from './resolve-starts.js';
import type { RawFeed, StartHint } from './start-hint.js';

/**
 * The four parts of an engine adapter, plus its resources. Everything else
 * (order, concurrency, the start → inspect → `started` step) is the kit's.
 * @internal
 */
export interface AdapterParts<H extends StartHint> {
  /** Engine name for errors and logs: `docker`, `containerd`, `cri`. */
  readonly engine: string;
  /** The endpoint as a URL-ish string. */
  readonly endpoint: string;
  /** Most inspections in flight at once. */
  readonly concurrency: number;
  /** Raw events: `listening` once the engine accepted the subscription, then events and start hints in the engine's order. Cold. */
  rawEvents(): Observable<RawFeed<H>>;
  /** The list: the alive containers, emitted once. Cold. */
  list(): Observable<readonly Container[]>;
  /** Inspects one started container: the alive container, or `null` when it is gone or not alive. Cold. */
  inspect(hint: H): Observable<Container | null>;
  /** The engine's identity. */
  info(): Promise<EngineInfo>;
  /** Releases the adapter's clients. Idempotent. */
  dispose(): void;
}

/** An {@link EngineAdapter} from its four parts. @internal */
export function defineAdapter<H extends StartHint>(parts: AdapterParts<H>): EngineAdapter {
  const starts = resolveStarts<H>((hint) => parts.inspect(hint), parts.concurrency);
  return {
    engine: parts.engine,
    endpoint: parts.endpoint,
    events: (): Observable<EngineFeed> => parts.rawEvents().pipe(starts),
    snapshot: () => parts.list(),
    info: () => parts.info(),
    dispose: () => parts.dispose(),
  };
}
