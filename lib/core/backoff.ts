import { EngineError } from '../errors.js';

/**
 * Capped exponential backoff with jitter: how the watcher retries by default, each knob optional.
 *
 * @example
 * ```ts
 * import { watchDocker, type RetryPolicy } from 'whalewatcher';
 * // 1 s, 2 s, 4 s, … at most 10 s apart; give up after 20 consecutive failures
 * const retry: RetryPolicy = { initialDelay: 1_000, maxDelay: 10_000, maxAttempts: 20 };
 * const ww = watchDocker({ retry });
 * await ww.close();
 * ```
 */
export interface RetryPolicy {
  /** First delay in ms (default 500). */
  readonly initialDelay?: number;
  /** Cap of the delay in ms (default 30,000). */
  readonly maxDelay?: number;
  /** Growth per consecutive failure (default 2). */
  readonly factor?: number;
  /** Fraction of the delay that is randomised, 0…1 (default 0.5: delay in [d/2, d]). */
  readonly jitter?: number;
  /** After being live this long (ms), the next failure starts again at `initialDelay` (default 10,000). */
  readonly resetAfter?: number;
  /** Consecutive failed attempts before giving up (default `Infinity`: never give up). */
  readonly maxAttempts?: number;
  /** Random source in [0, 1) for the jitter (default `Math.random`); inject for tests. */
  readonly random?: () => number;
}

/**
 * The defaults of {@link RetryPolicy}.
 *
 * @example
 * ```ts
 * import { DEFAULT_RETRY, watchDocker } from 'whalewatcher';
 * console.log(DEFAULT_RETRY.initialDelay, DEFAULT_RETRY.maxDelay); // 500 30000
 * const ww = watchDocker({ retry: { maxDelay: DEFAULT_RETRY.maxDelay / 3 } }); // the defaults, but a 10 s cap
 * await ww.close();
 * ```
 */
export const DEFAULT_RETRY: Required<RetryPolicy> = Object.freeze({
  initialDelay: 500,
  maxDelay: 30_000,
  factor: 2,
  jitter: 0.5,
  resetAfter: 10_000,
  maxAttempts: Infinity,
  random: Math.random,
});

/**
 * A retry strategy of your own: given the count of consecutive failures
 * (`attempt`, 1-based; it starts again at 1 once a session had been live for
 * {@link DEFAULT_RETRY}`.resetAfter`, 10 s) and the failure, the delay in ms
 * before the next attempt, or `false` to give up (the watcher then stops with
 * that error and `ready` rejects with it if it was still pending). Called once per failure.
 *
 * A function that throws, or returns anything but `false` or a finite number
 * ≥ 0, is a bug in the caller's code: the watcher gives up at once (it cannot
 * make up a delay) and stops with an `EngineError` of code `config` that says
 * so, whose `cause` is what was thrown.
 *
 * @example
 * ```ts
 * import { watchDocker, type RetryFunction } from 'whalewatcher';
 * // 1 s, 2 s, 3 s, … then give up after the 10th consecutive failure; never wait on a permission error
 * const retry: RetryFunction = (attempt, error) => (attempt > 10 || error.code === 'permission' ? false : attempt * 1000);
 * const ww = watchDocker({ retry });
 * await ww.close();
 * ```
 */
export type RetryFunction = (attempt: number, error: EngineError) => number | false;

/**
 * What the `retry` option takes: a {@link RetryPolicy} (capped exponential
 * backoff with jitter; `{}` or omitted for the defaults), a constant delay in
 * ms (a plain number: retry forever, that long after each failure), a
 * {@link RetryFunction}, or `false` to give up at the first failure.
 *
 * @example
 * ```ts
 * import { watchDocker, type RetryOption } from 'whalewatcher';
 * const retry: RetryOption = process.env['CI'] ? false : 2_000; // fail fast in CI, else every 2 s forever
 * const ww = watchDocker({ retry });
 * await ww.close();
 * ```
 */
export type RetryOption = RetryPolicy | RetryFunction | number | false;

/**
 * @internal A resolved retry option: when a failure starts the count afresh,
 * and the delay (or `false`: give up) for the `attempt`-th consecutive failure.
 * `delay` may be the caller's own function: it may throw or return garbage.
 */
export interface RetryStrategy {
  readonly resetAfter: number;
  readonly delay: (attempt: number, error: EngineError) => unknown;
}

/** @internal Resolves any form of the `retry` option into a {@link RetryStrategy}. */
export function retryStrategy(option: RetryOption | undefined): RetryStrategy {
  if (typeof option === 'function') return Object.freeze({ resetAfter: DEFAULT_RETRY.resetAfter, delay: option });
  if (typeof option === 'number') return Object.freeze({ resetAfter: DEFAULT_RETRY.resetAfter, delay: () => option });
  const policy = retryPolicy(option);
  return Object.freeze({
    resetAfter: policy.resetAfter,
    delay: (attempt: number) => (attempt > policy.maxAttempts ? false : backoffDelay(policy, attempt)),
  });
}

/** @internal Resolves a partial policy (or `false`: never retry) against the defaults. */
export function retryPolicy(policy: RetryPolicy | false | undefined): Required<RetryPolicy> {
  if (policy === false) return { ...DEFAULT_RETRY, maxAttempts: 0 };
  return { ...DEFAULT_RETRY, ...(policy ?? {}) };
}

/**
 * Capped exponential backoff with jitter for the `attempt`-th consecutive
 * failure (1-based): `min(maxDelay, initialDelay · factor^(attempt−1))`, of
 * which the fraction `jitter` is randomised downwards. Pure but for the
 * policy's `random`.
 *
 * @internal
 */
export function backoffDelay(policy: Required<RetryPolicy>, attempt: number): number {
  const exp = Math.min(policy.maxDelay, policy.initialDelay * Math.pow(policy.factor, Math.max(0, attempt - 1)));
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  return Math.round(exp * (1 - jitter * policy.random()));
}

/**
 * @internal The retry bookkeeping of one watcher, as one immutable value.
 *
 * It answers two questions the watcher asks across sessions: how many
 * consecutive failures count towards the policy (the backoff grows with them
 * and `maxAttempts` bounds them), and whether the session that just failed had
 * been live long enough (`resetAfter`) to start counting afresh. Transitions
 * return a new state; none reads a clock (the caller passes `now`, its
 * scheduler's time) or keeps a timer.
 */
export interface BackoffState {
  /** The resolved retry option this state is counted against. */
  readonly strategy: RetryStrategy;
  /** Consecutive failures since the last reset; 0 before the first one. */
  readonly failures: number;
  /** When the current session's latest list arrived, in the caller's ms; `undefined` while not live. */
  readonly liveSince: number | undefined;
  /** True once the policy gave up; a watcher stops for good then. */
  readonly gaveUp: boolean;
}

/**
 * @internal What {@link backoffOnFailure} decided: retry after `delayMs`, or
 * give up. `attempt` is the number of consecutive failures including this one.
 * `error` is what the watcher stops with: the failure, or a `config` error when
 * the caller's retry function threw or returned no valid delay.
 */
export type BackoffDecision =
  | { readonly giveUp: false; readonly state: BackoffState; readonly attempt: number; readonly delayMs: number }
  | { readonly giveUp: true; readonly state: BackoffState; readonly attempt: number; readonly error: EngineError };

/** @internal The bookkeeping before anything failed. `false` never retries. */
export function initialBackoff(option: RetryOption | undefined): BackoffState {
  return Object.freeze({ strategy: retryStrategy(option), failures: 0, liveSince: undefined, gaveUp: false });
}

/**
 * @internal A list arrived at `now`: the session is live. A later failure
 * resets the count if it comes `resetAfter` ms or more after the latest list
 * (a resync while live moves this time on).
 */
export function backoffOnLive(state: BackoffState, now: number): BackoffState {
  if (state.liveSince === now || state.gaveUp) return state;
  return Object.freeze({ ...state, liveSince: now });
}

/**
 * @internal The session failed at `now` with `error`: counts the failure
 * (afresh from 1 if its latest list is `resetAfter` ms or more old) and asks
 * the strategy for the delay. `false` gives up (for a policy: `maxAttempts`
 * failures behind it, 0 for `retry: false`); so does a strategy that throws or
 * answers anything but a finite number ≥ 0, with a `config` error instead.
 */
export function backoffOnFailure(state: BackoffState, now: number, error: EngineError): BackoffDecision {
  const { strategy } = state;
  const healthy = state.liveSince !== undefined && now - state.liveSince >= strategy.resetAfter;
  const attempt = (healthy ? 0 : state.failures) + 1;
  const giveUp = (stopWith: EngineError): BackoffDecision => ({
    giveUp: true,
    attempt,
    error: stopWith,
    state: Object.freeze({ ...state, failures: attempt, liveSince: undefined, gaveUp: true }),
  });
  if (state.gaveUp) return giveUp(error);
  let delay: unknown;
  try {
    delay = strategy.delay(attempt, error);
  } catch (err) {
    return giveUp(strategyFailed(error, `threw (${describe(err)})`, err));
  }
  if (delay === false) return giveUp(error);
  if (typeof delay !== 'number' || !Number.isFinite(delay) || delay < 0) {
    return giveUp(strategyFailed(error, `returned ${describe(delay)}, neither false nor a finite delay in ms ≥ 0`, undefined));
  }
  const next: BackoffState = Object.freeze({ ...state, failures: attempt, liveSince: undefined });
  return { giveUp: false, attempt, delayMs: delay, state: next };
}

/** The `config` error a watcher stops with when its retry strategy failed on `failure`. */
function strategyFailed(failure: EngineError, what: string, cause: unknown): EngineError {
  const options: { cause?: unknown; endpoint?: string } = { cause: cause === undefined ? failure : cause };
  if (failure.endpoint !== undefined) options.endpoint = failure.endpoint;
  return new EngineError(
    failure.engine,
    'config',
    `the retry option ${what} on failure: ${failure.message}; the watcher gave up (a bug in the retry function given to whalewatcher)`,
    options,
  );
}

/** Anything as a short string, without ever throwing. */
function describe(value: unknown): string {
  try {
    if (value instanceof Error) return `${value.name}: ${value.message}`;
    return typeof value === 'string' ? JSON.stringify(value) : String(value);
  } catch {
    return 'an unprintable value';
  }
}
