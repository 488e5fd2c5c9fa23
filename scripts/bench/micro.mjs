// Shared parts of the micro-benchmarks (persistent-map, portfolio-lookup, portfolio-arrays, first-sync):
// deterministic keys, so every run measures the same work.

/** Deterministic pseudo-random generator (xorshift32): `rng(seed)()` gives the next 32-bit value. */
export function rng(seed) {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
}

/** A 64-hex id like Docker's, from `next` (an {@link rng}). */
export const hexId = (next) => Array.from({ length: 8 }, () => next().toString(16).padStart(8, '0')).join('');

/** A flat copy that is a different string object with the same content (like an id just parsed from an event). */
export const copyOf = (s) => s.split('').join('');

/**
 * Best ns/op over `rounds` after two warm-up rounds: `setup()` is not timed, `pass(state)` runs the ops
 * and returns how many it ran; rounds repeat until `opsPerRound` ops were timed.
 */
export function measure(setup, pass, opsPerRound = 300_000, rounds = 5) {
  let best = Infinity;
  for (let r = 0; r < rounds + 2; r++) {
    let ops = 0;
    let elapsed = 0n;
    while (ops < opsPerRound) {
      const state = setup();
      const t0 = process.hrtime.bigint();
      ops += pass(state);
      elapsed += process.hrtime.bigint() - t0;
    }
    const ns = Number(elapsed) / ops;
    if (r >= 2 && ns < best) best = ns;
  }
  return best;
}
