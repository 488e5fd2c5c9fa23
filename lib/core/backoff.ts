/** How the watcher retries after the engine or its stream failed. */
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

/** The defaults of {@link RetryPolicy}. */
export const DEFAULT_RETRY: Required<RetryPolicy> = Object.freeze({
  initialDelay: 500,
  maxDelay: 30_000,
  factor: 2,
  jitter: 0.5,
  resetAfter: 10_000,
  maxAttempts: Infinity,
  random: Math.random,
});

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
  /** The resolved policy this state is counted against. */
  readonly policy: Required<RetryPolicy>;
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
 */
export type BackoffDecision =
  | { readonly giveUp: false; readonly state: BackoffState; readonly attempt: number; readonly delayMs: number }
  | { readonly giveUp: true; readonly state: BackoffState; readonly attempt: number };

/** @internal The bookkeeping before anything failed. `false` never retries. */
export function initialBackoff(policy: RetryPolicy | false | undefined): BackoffState {
  return Object.freeze({ policy: retryPolicy(policy), failures: 0, liveSince: undefined, gaveUp: false });
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
 * @internal The session failed at `now`: counts the failure (afresh from 1 if
 * its latest list is `resetAfter` ms or more old) and decides. With
 * `maxAttempts` failures behind it (0 for `retry: false`), the next one gives
 * up; otherwise it retries after {@link backoffDelay} of the count.
 */
export function backoffOnFailure(state: BackoffState, now: number): BackoffDecision {
  const { policy } = state;
  const healthy = state.liveSince !== undefined && now - state.liveSince >= policy.resetAfter;
  const attempt = (healthy ? 0 : state.failures) + 1;
  if (state.gaveUp || attempt > policy.maxAttempts) {
    return { giveUp: true, attempt, state: Object.freeze({ ...state, failures: attempt, liveSince: undefined, gaveUp: true }) };
  }
  const next: BackoffState = Object.freeze({ ...state, failures: attempt, liveSince: undefined });
  return { giveUp: false, attempt, delayMs: backoffDelay(policy, attempt), state: next };
}
