#!/usr/bin/env node
// Micro-benchmark: what one engine event costs a watcher with 100 and with 10,000 alive containers,
// with no subscriber, with a `containers$` subscriber, a `projects$` one, and one reading
// `project('').containers` (the unnamed project holds every container here) on each portfolio. The
// events are pause/unpause of random containers fed through a real `watch()` over an in-memory adapter,
// in synchronous runs (bursts) of BURST events, as one read of an engine's stream brings them, and each event
// alone (a microtask between events: containers$ and projects$ pass each at once; the await is in both sizes'
// figures alike). Prints µs per event and the ratio 10,000 / 100 (goal: within 2x).
// Build first (`npm run build:spec`), then `node scripts/bench/portfolio-arrays.mjs`.
import { Subject, of } from 'rxjs';
import { watch } from '../../build/lib/core/watcher.js';
import { newContainer } from '../../build/lib/model/container.js';
import { hexId, rng } from './micro.mjs';

const SIZES = [100, 10_000];
const EVENTS = 20_000;
/** Events per synchronous run in the burst mode. */
const BURST = 100;
const ROUNDS = 5;
let sink = 0;


const consumers = {
  'no subscriber': () => undefined,
  'containers$': (ww) => ww.containers$.subscribe((cs) => (sink += cs.length)),
  'projects$': (ww) => ww.projects$.subscribe((ps) => (sink += ps.length)),
  "project('').containers": (ww) => ww.portfolio$.subscribe((p) => (sink += p.project('')?.containers.length ?? 0)),
};

/** Best µs per event over ROUNDS after one warm-up round. */
async function perEvent(n, consume, alone) {
  const next = rng(n);
  const containers = Array.from({ length: n }, (_, i) => newContainer({ id: hexId(next), name: `svc${i}-1`, pid: i + 1 }));
  const events$ = new Subject();
  const adapter = {
    engine: 'bench',
    endpoint: 'memory://',
    events: () => events$,
    snapshot: () => of(containers),
    info: async () => ({ engine: 'bench', version: '0' }),
    dispose: () => undefined,
  };
  const ww = watch(adapter);
  events$.next({ type: 'listening' });
  await ww.ready;
  const sub = consume(ww);
  const paused = new Set();
  let best = Infinity;
  for (let r = 0; r < ROUNDS + 1; r++) {
    const targets = Array.from({ length: EVENTS }, () => containers[next() % n].id);
    const t0 = process.hrtime.bigint();
    let k = 0;
    for (const id of targets) {
      const type = paused.has(id) ? 'unpaused' : 'paused';
      if (type === 'paused') paused.add(id);
      else paused.delete(id);
      events$.next({ type, id, time: 0 });
      // the end of a synchronous run: what containers$ held back of it comes now
      if (alone || ++k % BURST === 0) await Promise.resolve();
    }
    const us = Number(process.hrtime.bigint() - t0) / 1000 / EVENTS;
    if (r >= 1 && us < best) best = us;
  }
  sub?.unsubscribe();
  await ww.close();
  return best;
}

console.log(`node ${process.version}; best of ${ROUNDS} rounds of ${EVENTS} events`);
console.log(['consumer', 'events', ...SIZES.map((n) => `µs/event at ${n}`), `ratio ${SIZES[1]}/${SIZES[0]}`].join('\t'));
for (const [name, consume] of Object.entries(consumers)) {
  for (const alone of [false, true]) {
    const [small, large] = [await perEvent(SIZES[0], consume, alone), await perEvent(SIZES[1], consume, alone)];
    console.log([name, alone ? 'each alone' : `bursts of ${BURST}`, small.toFixed(2), large.toFixed(2), `${(large / small).toFixed(1)}x`].join('\t'));
  }
}
if (sink === 0.5) console.log(sink);
