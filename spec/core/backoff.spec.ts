import { expect } from 'chai';
import fc from 'fast-check';
import {
  type BackoffState,
  DEFAULT_RETRY,
  type RetryPolicy,
  backoffDelay,
  backoffOnFailure,
  backoffOnLive,
  initialBackoff,
  retryPolicy,
} from '../../lib/core/backoff.js';

/** One thing that happens to a watcher at scheduler time `at`: a failure, or a list arriving (live). */
type Step = { readonly fail: number } | { readonly live: number };

/**
 * Runs the steps through the backoff and writes down what each failure decided:
 * `attempt:delay`, or `giveUp#attempt`. Lists decide nothing and write nothing.
 */
function decisions(policy: RetryPolicy | false, steps: readonly Step[]): string[] {
  let state = initialBackoff(policy);
  const out: string[] = [];
  for (const step of steps) {
    if ('live' in step) {
      state = backoffOnLive(state, step.live);
      continue;
    }
    const d = backoffOnFailure(state, step.fail);
    out.push(d.giveUp ? `giveUp#${d.attempt}` : `${d.attempt}:${d.delayMs}`);
    state = d.state;
  }
  return out;
}

const fails = (...times: number[]): Step[] => times.map((t) => ({ fail: t }));
const noJitter = { random: () => 0 } as const;

describe('backoff', () => {
  describe('what each failure decides', () => {
    const cases: { name: string; policy: RetryPolicy | false; steps: Step[]; expected: string[] }[] = [
      {
        name: 'grows by factor from initialDelay',
        policy: { ...noJitter, initialDelay: 100 },
        steps: fails(0, 1, 2, 3),
        expected: ['1:100', '2:200', '3:400', '4:800'],
      },
      {
        name: 'uses the policy factor',
        policy: { ...noJitter, initialDelay: 10, factor: 3 },
        steps: fails(0, 1, 2),
        expected: ['1:10', '2:30', '3:90'],
      },
      {
        name: 'caps at maxDelay',
        policy: { ...noJitter, initialDelay: 100, maxDelay: 250 },
        steps: fails(0, 1, 2, 3, 4),
        expected: ['1:100', '2:200', '3:250', '4:250', '5:250'],
      },
      {
        name: 'caps at the default 30 s with the default policy and no jitter',
        policy: noJitter,
        steps: fails(...Array.from({ length: 10 }, (_, i) => i)),
        expected: ['1:500', '2:1000', '3:2000', '4:4000', '5:8000', '6:16000', '7:30000', '8:30000', '9:30000', '10:30000'],
      },
      {
        name: 'starts afresh when the failing session had been live for resetAfter',
        policy: { ...noJitter, initialDelay: 100, resetAfter: 1000 },
        steps: [...fails(0, 100), { live: 300 }, ...fails(1300, 1400)],
        expected: ['1:100', '2:200', '1:100', '2:200'],
      },
      {
        name: 'keeps counting when the session was live for less than resetAfter',
        policy: { ...noJitter, initialDelay: 100, resetAfter: 1000 },
        steps: [...fails(0, 100), { live: 300 }, ...fails(1299)],
        expected: ['1:100', '2:200', '3:400'],
      },
      {
        name: 'measures resetAfter from the latest list (a resync while live moves it on)',
        policy: { ...noJitter, initialDelay: 100, resetAfter: 1000 },
        steps: [...fails(0), { live: 100 }, { live: 900 }, ...fails(1500)],
        expected: ['1:100', '2:200'],
      },
      {
        name: 'forgets being live once a session failed (the next failure without a list keeps counting)',
        policy: { ...noJitter, initialDelay: 100, resetAfter: 1000 },
        steps: [...fails(0), { live: 100 }, ...fails(5000, 9000)],
        expected: ['1:100', '1:100', '2:200'],
      },
      {
        name: 'gives up after maxAttempts consecutive failures',
        policy: { ...noJitter, initialDelay: 10, maxAttempts: 2 },
        steps: fails(0, 10, 30),
        expected: ['1:10', '2:20', 'giveUp#3'],
      },
      {
        name: 'maxAttempts counts consecutive failures: a healthy session in between starts the count again',
        policy: { ...noJitter, initialDelay: 10, maxAttempts: 2, resetAfter: 100 },
        steps: [...fails(0, 10), { live: 30 }, ...fails(130, 140, 160)],
        expected: ['1:10', '2:20', '1:10', '2:20', 'giveUp#3'],
      },
      {
        name: 'stays given up, even after a list',
        policy: { ...noJitter, maxAttempts: 0 },
        steps: [...fails(0), { live: 1 }, ...fails(100_000)],
        expected: ['giveUp#1', 'giveUp#2'],
      },
      {
        name: 'retry: false gives up at the first failure',
        policy: false,
        steps: fails(0),
        expected: ['giveUp#1'],
      },
      {
        name: 'maxAttempts: Infinity never gives up',
        policy: { ...noJitter, initialDelay: 1, maxDelay: 1 },
        steps: fails(...Array.from({ length: 1000 }, (_, i) => i)),
        expected: Array.from({ length: 1000 }, (_, i) => `${i + 1}:1`),
      },
    ];
    for (const { name, policy, steps, expected } of cases) {
      it(name, () => {
        expect(decisions(policy, steps)).to.deep.equal(expected);
      });
    }
  });

  describe('jitter with an injected random', () => {
    const cases: { jitter: number; random: number; expected: number }[] = [
      { jitter: 0.5, random: 0, expected: 1000 }, // the top of [d/2, d]
      { jitter: 0.5, random: 0.5, expected: 750 },
      { jitter: 0.5, random: 0.9, expected: 550 },
      { jitter: 0.5, random: 0.999_999, expected: 500 }, // the bottom, rounded
      { jitter: 0, random: 0.9, expected: 1000 }, // no jitter: random has no say
      { jitter: 1, random: 0.25, expected: 750 }, // full jitter: [0, d]
      { jitter: 1.5, random: 0.25, expected: 750 }, // clamped to 1
      { jitter: -1, random: 0.9, expected: 1000 }, // clamped to 0
    ];
    for (const { jitter, random, expected } of cases) {
      it(`jitter ${jitter}, random ${random} → ${expected} ms of 1000`, () => {
        const d = backoffOnFailure(initialBackoff({ initialDelay: 1000, jitter, random: () => random }), 0);
        expect(d.giveUp ? 'giveUp' : d.delayMs).to.equal(expected);
      });
    }

    it('keeps every delay within [d·(1−jitter), d] and at most maxDelay, for any random in [0, 1)', () => {
      fc.assert(
        fc.property(
          fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
          fc.double({ min: 0, max: 1, noNaN: true }),
          fc.integer({ min: 1, max: 40 }),
          (r, jitter, attempt) => {
            const policy = retryPolicy({ initialDelay: 100, maxDelay: 5000, jitter, random: () => r });
            const d = Math.min(5000, 100 * 2 ** (attempt - 1));
            const delay = backoffDelay(policy, attempt);
            expect(delay).to.be.at.most(d);
            expect(delay).to.be.at.least(Math.floor(d * (1 - jitter)));
          },
        ),
      );
    });
  });

  describe('the state', () => {
    it('starts with no failures against the defaults; retry: false allows no attempt', () => {
      const s = initialBackoff(undefined);
      expect(s).to.deep.include({ failures: 0, liveSince: undefined, gaveUp: false });
      expect(s.policy).to.deep.equal(DEFAULT_RETRY);
      expect(initialBackoff(false).policy.maxAttempts).to.equal(0);
    });

    it('is frozen and never changed by a transition', () => {
      const s0 = initialBackoff({ ...noJitter });
      const copy = { ...s0 };
      const d = backoffOnFailure(s0, 5);
      const s2 = backoffOnLive(d.state, 7);
      expect(s0).to.deep.equal(copy);
      for (const s of [s0, d.state, s2]) expect(Object.isFrozen(s)).to.equal(true);
      expect(d.state.failures).to.equal(1);
      expect(s2.liveSince).to.equal(7);
    });

    it('returns the same state for a list at the time already recorded, and after giving up', () => {
      const live = backoffOnLive(initialBackoff(undefined), 3);
      expect(backoffOnLive(live, 3)).to.equal(live);
      const gone: BackoffState = backoffOnFailure(initialBackoff(false), 0).state;
      expect(backoffOnLive(gone, 4)).to.equal(gone);
    });
  });
});
