/**
 * What the integration specs of every engine compare: the watcher's picture of its portfolio against the
 * engine's truth (read independently of the adapter, through the engine's own CLI or API, by that
 * engine's lab), the lifecycle changes a watcher emitted and the feeds an adapter emitted, per container.
 * One set for Docker/Podman, containerd and CRI; each lab says which parts of a container it can check
 * (its {@link Truthful.seen} view), and the picture is taken through that same view.
 */
import type { ExitDetails } from '../../lib/core/engine.js';
import { expect } from 'chai';
import type { Subscription } from 'rxjs';
import type { EngineAdapter, EngineFeed } from '../../lib/core/engine.js';
import type { LifecycleEvent } from '../../lib/core/fold.js';
import type { Watcher } from '../../lib/core/watcher.js';
import type { Container } from '../../lib/model/container.js';
import { type Recording, eventually, record } from './observe.js';

/** Retry settings for watchers under test: reconnects within half a second, no jitter. */
export const FAST_RETRY = { initialDelay: 50, maxDelay: 500, jitter: 0 } as const;

/** Sorted by id, for set-like comparison. */
export function byId<T extends { readonly id: string }>(list: readonly T[]): T[] {
  return [...list].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** A lab that knows its engine's truth, and which parts of a container that truth covers. */
export interface Truthful<T extends { readonly id: string }> {
  /** Every alive container as the engine itself reports it, sorted by id. */
  truth(): Promise<T[]>;
  /** The same parts of one container of a portfolio (or of an adapter's snapshot). */
  seen(c: Container): T;
}

/** The watcher's picture, through the lab's view, sorted by id. */
export function pictureOf<T extends { readonly id: string }>(ww: Watcher, lab: Truthful<T>): T[] {
  return byId(ww.portfolio.containers.map((c) => lab.seen(c)));
}

/**
 * Waits until the watcher's picture deep-equals the engine's truth (both read anew on each poll, every
 * `interval` ms, at most 60 s); resolves with that truth. On giving up, the message has both sides.
 */
export async function matchesTruth<T extends { readonly id: string }>(ww: Watcher, lab: Truthful<T>, what: string, interval = 50): Promise<T[]> {
  let last = '';
  let truth: T[] = [];
  await eventually(
    async () => {
      truth = await lab.truth();
      const picture = pictureOf(ww, lab);
      last = `picture ${JSON.stringify(picture)} vs truth ${JSON.stringify(truth)}`;
      return JSON.stringify(picture) === JSON.stringify(truth);
    },
    `${what}: the portfolio to equal the engine's truth`,
    60_000,
    interval,
  ).catch((e: Error) => {
    throw new Error(`${e.message}\n${last}`);
  });
  return truth;
}

/** One lifecycle change of a watcher, as the specs compare it. */
export interface Change {
  readonly type: LifecycleEvent['type'];
  readonly id: string;
  readonly pid: number;
  readonly synthetic: boolean;
  /** The exit details of an `exited` change, when it had any. */
  readonly exit?: ExitDetails;
}

/** The changes about one container, compactly (`started:<pid>`, `exited:<pid>` …), optionally only the (non-)synthetic ones. */
export function changesAbout(changes: readonly Change[], id: string, synthetic?: boolean): string[] {
  return changes.filter((c) => c.id === id && (synthetic === undefined || c.synthetic === synthetic)).map((c) => `${c.type}:${c.pid}`);
}

/**
 * What a new `lifecycle$` subscriber gets first: the current picture, as exactly one synthetic `started`
 * per container of `truth`, with its PID, and nothing else.
 */
export function expectReplayOf(changes: readonly Change[], truth: readonly { readonly id: string; readonly pid: number }[]): void {
  expect(changes.length).to.equal(truth.length);
  expect(changes.every((c) => c.type === 'started' && c.synthetic)).to.equal(true);
  for (const t of truth) expect(changesAbout(changes, t.id), t.id).to.deep.equal([`started:${t.pid}`]);
}

/**
 * The watchers of a spec and their recorders: {@link Watchers.add} a watcher, {@link Watchers.changesOf}
 * it, and {@link Watchers.close} in `afterEach` (unsubscribes every recorder, closes every watcher).
 */
export class Watchers {
  private readonly watchers: Watcher[] = [];
  private readonly subscriptions: Subscription[] = [];

  add<W extends Watcher>(ww: W): W {
    this.watchers.push(ww);
    return ww;
  }

  /** Records the watcher's lifecycle changes from now on (the synthetic starts of its current picture first). */
  changesOf(ww: Watcher): Change[] {
    const changes: Change[] = [];
    this.subscriptions.push(
      ww.lifecycle$.subscribe((e) => changes.push({ type: e.type, id: e.container.id, pid: e.container.pid, synthetic: e.synthetic, ...(e.exit === undefined ? {} : { exit: e.exit }) })),
    );
    return changes;
  }

  async close(): Promise<void> {
    for (const s of this.subscriptions.splice(0)) s.unsubscribe();
    for (const ww of this.watchers.splice(0)) await ww.close();
  }
}

/** The feeds of an adapter about one container, compactly: `started:<pid>`, `exited`, `renamed:<name>` … */
export function feedsAbout(rec: Recording<EngineFeed>, id: string): string[] {
  const out: string[] = [];
  for (const f of rec.values) {
    if (f.type === 'listening') continue;
    if (f.type === 'started') {
      if (f.container.id === id) out.push(`started:${f.container.pid}`);
    } else if (f.id === id) {
      out.push(f.type === 'renamed' ? `renamed:${f.name}` : f.type);
    }
  }
  return out;
}

/**
 * Subscribes to the adapter's events, keeps the recording in `recordings` (for the spec's `afterEach` to
 * unsubscribe) and waits until the first feed is in: it must be `listening`, without an error.
 */
export async function listen(adapter: EngineAdapter, recordings: Recording<unknown>[], interval = 20): Promise<Recording<EngineFeed>> {
  const rec = record(adapter.events());
  recordings.push(rec as Recording<unknown>);
  await eventually(() => rec.values.length > 0 || rec.error !== undefined, 'listening', 20_000, interval);
  expect(rec.error).to.equal(undefined);
  expect(rec.values[0]).to.deep.equal({ type: 'listening' });
  return rec;
}
