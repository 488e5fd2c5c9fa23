import { expect } from 'chai';
import fc from 'fast-check';
import {
  type BackoffState,
  DEFAULT_RETRY,
  type RetryFunction,
  type RetryOption,
  backoffDelay,
  backoffOnFailure,
  backoffOnLive,
  initialBackoff,
  retryPolicy,
} from '../../lib/core/backoff.js';
import { EngineError } from '../../lib/errors.js';

/** One thing that happens to a watcher at scheduler time `at`: a failure (with its error), or a list arriving (live). */
type Step = { readonly fail: number; readonly error?: EngineError } | { readonly live: number };
const gone = new EngineError('fake', 'unreachable', 'fake engine gone', { endpoint: 'unix:///fake.sock' });

/**
 * Runs the steps through the backoff and writes down what each failure decided:
 * `attempt:delay`, or `giveUp#attempt`. Lists decide nothing and write nothing.
 */
function decisions(policy: RetryOption, steps: readonly Step[]): string[] {
  let state = initialBackoff(policy);
  const out: string[] = [];
  for (const step of steps) {
    if ('live' in step) {
      state = backoffOnLive(state, step.live);
      continue;
    }
    const error = step.error ?? gone;
    const d = backoffOnFailure(state, step.fail, error);
    out.push(d.giveUp ? `giveUp#${d.attempt}${d.error === error ? '' : `:${d.error.code}`}` : `${d.attempt}:${d.delayMs}`);
    state = d.state;
  }
  return out;
}

const fails = (...times: number[]): Step[] => times.map((t) => ({ fail: t }));
const noJitter = { random: () => 0 } as const;

describe('backoff', () => {
  describe('what each failure decides', () => {
    const tenths: RetryFunction = (attempt) => (attempt > 3 ? false : attempt * 10);
    const cases: { name: string; policy: RetryOption; steps: Step[]; expected: string[] }[] = [
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
      // a constant delay: a plain number of ms
      { name: 'a constant delay retries forever, that long each time', policy: 250, steps: fails(0, 1, 2, 3), expected: ['1:250', '2:250', '3:250', '4:250'] },
      { name: 'a constant delay of 0 retries at once', policy: 0, steps: fails(0, 1), expected: ['1:0', '2:0'] },
      { name: 'a constant delay that is no delay (NaN) gives up with a config error', policy: NaN, steps: fails(0), expected: ['giveUp#1:config'] },
      { name: 'a negative constant delay gives up with a config error', policy: -5, steps: fails(0), expected: ['giveUp#1:config'] },
      // a function
      { name: 'a function: its delay for each attempt, until it says false', policy: tenths, steps: fails(0, 1, 2, 3), expected: ['1:10', '2:20', '3:30', 'giveUp#4'] },
      {
        name: 'a function sees each failure: it can give up on one kind of error',
        policy: (attempt, error) => (error.code === 'permission' ? false : attempt),
        steps: [{ fail: 0 }, { fail: 1, error: new EngineError('fake', 'permission', 'EACCES') }],
        expected: ['1:1', 'giveUp#2'],
      },
      {
        name: 'a function: attempt starts again at 1 after a session live for the default resetAfter (10 s)',
        policy: tenths,
        steps: [...fails(0, 100), { live: 300 }, ...fails(10_300, 10_400)],
        expected: ['1:10', '2:20', '1:10', '2:20'],
      },
      {
        name: 'a function: attempt keeps counting after a session live for less than 10 s',
        policy: tenths,
        steps: [...fails(0, 100), { live: 300 }, ...fails(10_299)],
        expected: ['1:10', '2:20', '3:30'],
      },
      {
        name: 'a function that throws gives up at once with a config error',
        policy: () => {
          throw new TypeError('oops');
        },
        steps: fails(0, 1),
        expected: ['giveUp#1:config', 'giveUp#2'],
      },
      ...[NaN, -1, Infinity, '100', undefined, null, true].map((bad) => ({
        name: `a function that returns ${String(bad)} gives up with a config error`,
        policy: (() => bad) as unknown as RetryFunction,
        steps: fails(0),
        expected: ['giveUp#1:config'],
      })),
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
        const d = backoffOnFailure(initialBackoff({ initialDelay: 1000, jitter, random: () => random }), 0, gone);
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
      expect(s.strategy.resetAfter).to.equal(DEFAULT_RETRY.resetAfter);
      expect(s.strategy.delay(1, gone)).to.be.within(DEFAULT_RETRY.initialDelay / 2, DEFAULT_RETRY.initialDelay);
      expect(initialBackoff(false).strategy.delay(1, gone)).to.equal(false);
    });

    it('calls a function once per failure with the attempt and the error, and never again once it gave up', () => {
      const calls: string[] = [];
      const fn: RetryFunction = (attempt, error) => {
        calls.push(`${attempt} ${error.message}`);
        return attempt < 2 ? 5 : false;
      };
      let s = initialBackoff(fn);
      for (const t of [0, 5, 10, 20]) s = backoffOnFailure(s, t, gone).state;
      expect(calls).to.deep.equal(['1 fake engine gone', '2 fake engine gone']);
      expect(s.gaveUp).to.equal(true);
    });

    it('the config error of a failed strategy names the failure, keeps its engine and endpoint, and has what was thrown as cause', () => {
      const thrown = new RangeError('bad');
      const d = backoffOnFailure(initialBackoff(() => { throw thrown; }), 0, gone);
      expect(d.giveUp).to.equal(true);
      if (!d.giveUp) return;
      expect(d.error).to.be.instanceOf(EngineError);
      expect(d.error).to.include({ engine: 'fake', code: 'config', endpoint: 'unix:///fake.sock', cause: thrown });
      expect(d.error.message).to.contain('threw (RangeError: bad)').and.to.contain('fake engine gone');
      const returned = backoffOnFailure(initialBackoff((() => -3) as RetryFunction), 0, gone);
      expect(returned.giveUp && returned.error.message).to.contain('returned -3');
      expect(returned.giveUp && returned.error.cause).to.equal(gone);
    });

    it('is frozen and never changed by a transition', () => {
      const s0 = initialBackoff({ ...noJitter });
      const copy = { ...s0 };
      const d = backoffOnFailure(s0, 5, gone);
      const s2 = backoffOnLive(d.state, 7);
      expect(s0).to.deep.equal(copy);
      for (const s of [s0, d.state, s2]) expect(Object.isFrozen(s)).to.equal(true);
      expect(d.state.failures).to.equal(1);
      expect(s2.liveSince).to.equal(7);
    });

    it('returns the same state for a list at the time already recorded, and after giving up', () => {
      const live = backoffOnLive(initialBackoff(undefined), 3);
      expect(backoffOnLive(live, 3)).to.equal(live);
      const stopped: BackoffState = backoffOnFailure(initialBackoff(false), 0, gone).state;
      expect(backoffOnLive(stopped, 4)).to.equal(stopped);
    });
  });
});
