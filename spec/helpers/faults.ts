/**
 * The harness of the fault corpus (spec/faults/): one fake engine per case, started before and closed
 * after it; the watchers of the case closed first; nothing may escape to the process (an unhandled
 * rejection or an uncaught exception fails the case); and the endings every case checks: `status$` said
 * what happened with a typed error, the picture equals the fake's truth, the changes are exact.
 */
import { expect } from 'chai';
import type { EngineErrorCode } from '../../lib/errors.js';
import type { WatcherStatus } from '../../lib/core/fold.js';
import type { Watcher } from '../../lib/core/watcher.js';
import { type Recording, eventually, record } from './observe.js';
import { type Change, Watchers } from './picture.js';

/** One watcher of a case: the watcher, its status history and its lifecycle changes (from the first replay on). */
export interface Watched<W extends Watcher = Watcher> {
  readonly ww: W;
  readonly statuses: Recording<WatcherStatus>;
  readonly changes: Change[];
}

/** What {@link faultHarness} gives a describe block. */
export interface FaultHarness<Fake> {
  /** The fake of the running case. */
  readonly fake: Fake;
  /** Adds a watcher to the case (closed after it) and records its status and changes. */
  watch<W extends Watcher>(ww: W): Watched<W>;
  /** Runs `close` after the case, once its watchers are closed and before its fake is (a proxy in front of the fake). */
  closeAfter(close: () => Promise<void>): void;
}

/**
 * Registers, in the calling `describe`, the hooks of a fault case: before each, a fresh fake (`start`)
 * and the escape traps (`unhandledRejection`, `uncaughtExceptionMonitor`); after each, every watcher
 * closed, what `closeAfter` was given closed, the fake closed (`close`), the traps removed, and nothing
 * escaped.
 */
export function faultHarness<Fake>(start: () => Promise<Fake>, close: (fake: Fake) => Promise<void>): FaultHarness<Fake> {
  let fake: Fake | undefined;
  const watchers = new Watchers();
  // What closeAfter() was given in this case.
  const closers: (() => Promise<void>)[] = [];
  // What escaped to the process: must stay empty in every case.
  const escaped: unknown[] = [];
  const onEscape = (reason: unknown) => escaped.push(reason);

  beforeEach(async () => {
    escaped.length = 0;
    process.on('unhandledRejection', onEscape);
    process.on('uncaughtExceptionMonitor', onEscape);
    fake = await start();
  });
  afterEach(async () => {
    await watchers.close();
    for (const closeIt of closers.splice(0).reverse()) await closeIt();
    if (fake !== undefined) await close(fake);
    fake = undefined;
    process.off('unhandledRejection', onEscape);
    process.off('uncaughtExceptionMonitor', onEscape);
    expect(escaped, 'unhandled rejections or exceptions').to.deep.equal([]);
  });

  return {
    get fake(): Fake {
      if (fake === undefined) throw new Error('no fake outside a case');
      return fake;
    },
    watch<W extends Watcher>(ww: W): Watched<W> {
      watchers.add(ww);
      return { ww, statuses: record(ww.status$), changes: watchers.changesOf(ww) };
    },
    closeAfter(closeIt) {
      closers.push(closeIt);
    },
  };
}

/** The errors `status$` reported: those of `degraded` and those of `live` with `incomplete`. */
export function errorsSaid(statuses: Recording<WatcherStatus>): { readonly code: EngineErrorCode; readonly message: string }[] {
  return statuses.values.flatMap((s) => (s.state === 'degraded' ? [s.error] : s.state === 'live' && s.incomplete ? [s.incomplete.error] : []));
}

/** Fails unless `status$` reported an error with this code whose message matches. */
export function sawError(statuses: Recording<WatcherStatus>, code: EngineErrorCode, message: RegExp): void {
  const errors = errorsSaid(statuses);
  expect(
    errors.some((e) => e.code === code && message.test(e.message)),
    `status$ to say ${code} ${String(message)}; it said: ${errors.map((e) => `${e.code} ${e.message}`).join(' | ')}`,
  ).to.equal(true);
}

/** The watcher's picture as `id:pid`, sorted (what the gRPC fakes' truth gives). */
export function idPids(ww: Watcher): string[] {
  return ww.portfolio.containers.map((c) => `${c.id}:${c.pid}`).sort();
}

/** The changes as `type:id`. */
export function shown(changes: readonly Change[]): string[] {
  return changes.map((c) => `${c.type}:${c.id}`);
}

/**
 * Waits until the watcher is live, complete, and its `picture` equals the fake's `truth` (both read anew
 * on every poll), then checks it once more with a diff on failure.
 */
export async function settled(ww: Watcher, picture: (ww: Watcher) => readonly string[], truth: () => readonly string[], what: string): Promise<void> {
  await eventually(() => ww.status.state === 'live' && ww.status.incomplete === undefined && JSON.stringify(picture(ww)) === JSON.stringify(truth()), `${what}: live, complete and equal to the truth`);
  expect(picture(ww)).to.deep.equal(truth());
}
