#!/usr/bin/env node
// Micro-benchmark: the cost per event of the event replay's bookkeeping (lib/engines/common/event-replay.ts:
// `fresh` + `delivered` for every event a Docker event stream delivers), as a ratio against JSON.parse of
// one Docker event line, measured in the same run. Pure, no engine.
//
//   npx tsc -p tsconfig.spec.json && node scripts/bench/event-replay.mjs
//
// Two loads: events 10 ms apart (a busy engine: the memory holds the last second, about 100 events), and
// 100,000 events per second (a burst: the memory is at its cap, 4,096, and forgets one identity per event).
// Then a reopened stream's replay of 4,096 delivered events plus one new one: the drops cost the same.
import { EventReplay } from '../../build/lib/engines/common/event-replay.js';
import { measure } from './micro.mjs';

const T0 = 1_700_000_000_000;
const N = 100_000;
const LINE = JSON.stringify({
  Type: 'container',
  Action: 'pause',
  Actor: { ID: `${'c0ffee'.repeat(10)}abcd`, Attributes: { image: 'busybox:lab', name: 'web-1', 'com.docker.compose.project': 'shop' } },
  scope: 'local',
  time: 1_700_000_000,
  timeNano: 1_700_000_000_123_456_789,
});

const events = (spacingMs) => Array.from({ length: N }, (_, i) => Object.freeze({ type: i % 2 ? 'paused' : 'unpaused', id: `c${i % 5000}`, time: T0 + i * spacingMs }));
let sink = 0;

const parse = measure(
  () => null,
  () => {
    for (let i = 0; i < N; i++) sink += JSON.parse(LINE).time;
    return N;
  },
);
console.log(`baseline: JSON.parse of one Docker event line: ${parse.toFixed(0)} ns`);
for (const [name, spacing] of [
  ['10 ms apart', 10],
  ['100,000 per second (memory at its cap)', 0.01],
]) {
  const list = events(spacing);
  const ns = measure(
    () => {
      const lease = new EventReplay({ window: 300_000 }).open(0);
      lease.opened(T0);
      return lease;
    },
    (lease) => {
      for (const e of list) if (lease.fresh(e)) lease.delivered(e);
      return N;
    },
  );
  console.log(`bookkeeping per delivered event, ${name}: ${ns.toFixed(0)} ns, ratio to the parse ${(ns / parse).toFixed(2)}`);
}
const burst = events(0.01);
const replay = measure(
  () => {
    const memory = new EventReplay({ window: 300_000 });
    const first = memory.open(0);
    first.opened(T0);
    for (const e of burst) first.delivered(e);
    first.release(1);
    return memory.open(2);
  },
  (lease) => {
    let n = 0;
    for (let i = N - 4_096; i < N; i++) if (lease.fresh(burst[i])) n += 1;
    if (lease.fresh({ type: 'exited', id: 'c1', time: T0 + N })) n += 1;
    sink += n;
    return 4_097;
  },
  300_000,
  3,
);
console.log(`a reopened stream's check per replayed event (4,096 dropped, 1 new): ${replay.toFixed(0)} ns, ratio to the parse ${(replay / parse).toFixed(2)}`);
if (sink === 42) console.log('');
