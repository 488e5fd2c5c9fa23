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
 * failure (1-based). Pure.
 *
 * @internal
 */
export function backoffDelay(policy: Required<RetryPolicy>, attempt: number): number {
  const exp = Math.min(policy.maxDelay, policy.initialDelay * Math.pow(policy.factor, Math.max(0, attempt - 1)));
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  return Math.round(exp * (1 - jitter * policy.random()));
}
