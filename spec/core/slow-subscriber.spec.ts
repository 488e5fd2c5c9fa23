/**
 * Slow subscribers (issue 8, item 7; README "Slow subscribers"): RxJS delivers synchronously, so a
 * subscriber that works hard per event holds up the fold, the other subscribers and the engine's
 * stream; `observeOn(asyncScheduler)` decouples it, and `watcher.portfolio` stays current while the
 * subscriber catches up. Nothing is timed: each spec records, at the moment the slow subscriber
 * starts its n-th callback, how many starts the engine made and what the portfolio shows.
 */
import { expect } from 'chai';
import { asyncScheduler, filter, observeOn } from 'rxjs';
import type { LifecycleEvent } from '../../lib/core/fold.js';
import { watch } from '../../lib/core/watcher.js';
import { fakeEngine } from '../../lib/testing/fake-engine.js';

/** Starts made in one burst. */
const BURST = 2_000;

/** Heavy work per event, deterministic (no clock): a few thousand hash-like steps. */
function heavy(seed: string): number {
  let h = 0;
  for (let i = 0; i < 20_000; i += 1) h = (Math.imul(h ^ seed.charCodeAt(i % seed.length), 0x9e3779b1) + i) | 0;
  return h;
}

/** What was true when the slow subscriber began one callback. */
interface Moment {
  /** Starts the engine had made (returned from `fake.start`) by then. */
  readonly made: number;
  /** Containers `watcher.portfolio` showed by then. */
  readonly shown: number;
}

describe('slow subscribers', function () {
  this.timeout(60_000);

  async function burst(decouple: boolean): Promise<{ moments: Moment[]; madeAtEnd: number; shownAtEnd: number }> {
    const fake = fakeEngine();
    const ww = watch(fake.adapter);
    try {
      await ww.ready;
      let made = 0;
      const moments: Moment[] = [];
      const live$ = ww.lifecycle$.pipe(filter((e: LifecycleEvent) => !e.synthetic && e.type === 'started'));
      let done!: () => void;
      const all = new Promise<void>((resolve) => (done = resolve));
      const sub = (decouple ? live$.pipe(observeOn(asyncScheduler)) : live$).subscribe((e) => {
        moments.push({ made, shown: ww.portfolio.total });
        heavy(e.container.id);
        if (moments.length === BURST) done();
      });
      // the engine reports BURST starts as fast as it can
      for (let i = 0; i < BURST; i += 1) {
        fake.start({ id: `c${i}`, name: `c${i}`, pid: 10_000 + i });
        made += 1;
      }
      const madeAtEnd = made;
      const shownAtEnd = ww.portfolio.total;
      await all;
      sub.unsubscribe();
      return { moments, madeAtEnd, shownAtEnd };
    } finally {
      await ww.close();
    }
  }

  it('subscribed directly, a slow subscriber holds the engine’s stream back: start n reaches the fold only after callback n−1 ended', async () => {
    const { moments } = await burst(false);
    expect(moments).to.have.length(BURST);
    // at its n-th callback (0-based) the engine has made exactly n starts before this one: it waited for every callback
    moments.forEach((m, n) => expect(m, `callback ${n}`).to.deep.equal({ made: n, shown: n + 1 }));
  });

  it('decoupled with observeOn(asyncScheduler), the portfolio is current while the subscriber catches up', async () => {
    const { moments, madeAtEnd, shownAtEnd } = await burst(true);
    expect(moments).to.have.length(BURST);
    // the whole burst went through the fold before the slow subscriber's first callback …
    expect({ madeAtEnd, shownAtEnd }).to.deep.equal({ madeAtEnd: BURST, shownAtEnd: BURST });
    // … and at every one of its callbacks, `watcher.portfolio` shows all of it
    moments.forEach((m, n) => expect(m, `callback ${n}`).to.deep.equal({ made: BURST, shown: BURST }));
  });
});
