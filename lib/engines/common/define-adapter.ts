import { type Observable, ReplaySubject, concatMap, defer, finalize, firstValueFrom, map, of, share, take } from 'rxjs';
import type { EngineAdapter, EngineFeed, EngineInfo, ExitDetails } from '../../core/engine.js';
import type { EngineError } from '../../errors.js';
import { type Container, withEngine } from '../../model/container.js';
import { type AdapterOptions, type AdapterSettings, adapterSettings } from './adapter-options.js';
import { type EngineCalls, engineCalls } from './engine-call.js';
import { type EngineErrors, type EngineTerms, engineErrors } from './engine-error.js';
import { matchesLabels } from './label-selector.js';
import { resolveStarts } from './resolve-starts.js';
import type { RawFeed, StartHint } from './start-hint.js';

/** What every adapter's client has: where, how, the kit's errors and calls. An engine's client adds its own transports. @internal */
export interface AdapterBase {
  /** Engine name for errors and logs: `docker`, `containerd`, `cri`. */
  readonly engine: string;
  /** The endpoint as a URL-ish string. */
  readonly endpoint: string;
  readonly settings: AdapterSettings;
  readonly errors: EngineErrors;
  readonly calls: EngineCalls;
  /** The engine's PID, when the caller told it. */
  readonly pid: number | undefined;
}

/** How an engine's adapter base is made. @internal */
export interface AdapterBaseSpec {
  readonly terms: EngineTerms;
  /** The resolved endpoint. */
  readonly endpoint: string;
  /** The engine's default of `concurrency`. */
  readonly concurrency: number;
  /** The engine's error mapper. */
  readonly toError: (err: unknown, endpoint: string, what: string) => EngineError;
  /** True when a call failed because its container is gone. */
  readonly isNotFound: (err: unknown) => boolean;
}

/** The settings, errors and calls of one adapter, made the same way for every engine. @internal */
export function adapterBase(options: AdapterOptions, spec: AdapterBaseSpec): AdapterBase {
  const settings = adapterSettings(options, { concurrency: spec.concurrency, engine: spec.terms.engine });
  const { endpoint, toError } = spec;
  const errors = engineErrors(spec.terms, endpoint);
  const calls = engineCalls({
    errors,
    scheduler: settings.scheduler,
    requestTimeout: settings.requestTimeout,
    toError: (err, what) => toError(err, endpoint, what),
    isNotFound: spec.isNotFound,
  });
  return { engine: spec.terms.engine, endpoint, settings, errors, calls, pid: options.pid };
}

/**
 * The four parts of an engine adapter, each a function of the engine's
 * client. Everything else (order, concurrency, the start → inspect →
 * `started` step, the adapter's shape) is the kit's.
 * @internal
 */
export interface AdapterParts<C extends AdapterBase, H extends StartHint> {
  /** Raw events: `listening` once the engine accepted the subscription, then events and start hints in the engine's order. Cold. */
  rawEvents(client: C): Observable<RawFeed<H>>;
  /** The list: the alive containers, emitted once. Cold. */
  list(client: C): Observable<readonly Container[]>;
  /** Inspects one started container: the alive container, or `null` when it is gone or not alive. Cold. */
  inspect(client: C, hint: H): Observable<Container | null>;
  /** The engine's identity: cold, one answer; unsubscribing cancels the calls. */
  info(client: C): Observable<EngineInfo>;
  /** Optional: how a container that is gone ended, asked after the fact (`null`: the engine no longer knows). Cold. */
  exit?(client: C, id: string): Observable<ExitDetails | null>;
}

/**
 * An {@link EngineAdapter} from an engine's client (whose `dispose` releases
 * it) and its four parts. Every container it lists or inspects carries the
 * engine's `EngineInfo` (`Container.engine`): asked once per event stream (an
 * engine restarted meanwhile may have another version), in parallel with the
 * stream and the list, so the first list waits for the slower of the two, not
 * for both; one new object per container entering the picture, none per event.
 *
 * @internal
 */
export function defineAdapter<C extends AdapterBase & { dispose(): void }, H extends StartHint>(client: C, parts: AdapterParts<C, H>): EngineAdapter {
  const selectors = client.settings.labels;
  // The engine's identity for the current event stream: asked when the stream opens, shared by
  // the list and the inspections of that session (an error is not kept: the next ask retries).
  let identity$: Observable<EngineInfo> | undefined;
  const freshIdentity = (): Observable<EngineInfo> =>
    (identity$ = defer(() => parts.info(client)).pipe(share({ connector: () => new ReplaySubject<EngineInfo>(1), resetOnError: true, resetOnComplete: false, resetOnRefCountZero: true })));
  const stamp = (c: Container): Observable<Container> => (identity$ ?? freshIdentity()).pipe(map((info) => withEngine(c, info)));
  const stampAll = (all: readonly Container[]): Observable<readonly Container[]> =>
    all.length === 0 ? of(all) : (identity$ ?? freshIdentity()).pipe(map((info) => Object.freeze(all.map((c) => withEngine(c, info)))));
  // what the engine could not filter itself is filtered here: a start of a container that does not match yields nothing
  const inspectRaw =
    selectors.length === 0
      ? (hint: H) => parts.inspect(client, hint)
      : (hint: H) => parts.inspect(client, hint).pipe(map((c) => (c !== null && matchesLabels(c.labels, selectors) ? c : null)));
  const inspect = (hint: H) => inspectRaw(hint).pipe(concatMap((c) => (c === null ? of(null) : stamp(c))));
  const listRaw =
    selectors.length === 0
      ? () => parts.list(client)
      : () => parts.list(client).pipe(map((all) => Object.freeze(all.filter((c) => matchesLabels(c.labels, selectors)))));
  const list = () => listRaw().pipe(concatMap(stampAll));
  const starts = resolveStarts<H>(inspect, client.settings.concurrency);
  const exit = parts.exit;
  const adapter: EngineAdapter = {
    engine: client.engine,
    endpoint: client.endpoint,
    events: (): Observable<EngineFeed> =>
      defer(() => {
        // asked at once, so that it runs while the stream opens and the list is made, and held while
        // the stream is open (closing it cancels a call still in flight); its failure shows where it is used
        const early = freshIdentity().subscribe({ error: () => undefined });
        return parts.rawEvents(client).pipe(
          starts,
          finalize(() => early.unsubscribe()),
        );
      }),
    snapshot: list,
    info: () => firstValueFrom(defer(() => parts.info(client))),
    ...(exit === undefined ? {} : { exitDetails: (id: string) => exit(client, id) }),
    dispose: () => client.dispose(),
  };
  IDENTITIES.set(adapter, () => identity$ ?? freshIdentity());
  return adapter;
}

/** The identity of each adapter made by {@link defineAdapter}: its current event stream's, shared. */
const IDENTITIES = new WeakMap<EngineAdapter, () => Observable<EngineInfo>>();

/**
 * The engine's `EngineInfo` as the containers of an adapter made by
 * {@link defineAdapter} carry it: the answer its current event stream asked
 * for (no round trip of its own once that is in), or a new ask when no
 * stream is open. Cold, one value; undefined for other adapters.
 *
 * @internal
 */
export function adapterIdentity(adapter: EngineAdapter): Observable<EngineInfo> | undefined {
  const identity = IDENTITIES.get(adapter);
  return identity === undefined ? undefined : defer(identity).pipe(take(1));
}
