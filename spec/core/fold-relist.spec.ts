// Every interleaving of one engine change (its event or events) with a list, for the first sync, a
// relist after a reconnect and a periodic relist: events are delivered when they arrive, as real
// changes; the list repairs only what no event explained (synthetic); the picture ends as the truth.
import { expect } from 'chai';
import { EngineError } from '../../lib/errors.js';
import type { EngineEvent } from '../../lib/core/engine.js';
import { BEFORE, CHANGES, c, unexplained } from '../helpers/relist-cases.js';
import { type FoldInput, INITIAL_STATE, type LifecycleEvent, type WatchState, fold } from '../../lib/core/fold.js';
import type { Container } from '../../lib/model/container.js';
import type { Portfolio } from '../../lib/model/portfolio.js';
import { run } from '../helpers/fold-steps.js';

const ev = (event: EngineEvent): FoldInput => ({ type: 'event', event });
const snapshot = (containers: readonly Container[]): FoldInput => ({ type: 'snapshot', containers, time: 50 });
const LISTENING: FoldInput = { type: 'listening' };
const CONNECTING: FoldInput = { type: 'connecting' };
const DISCONNECTED: FoldInput = { type: 'disconnected', error: new EngineError('test', 'unreachable', 'gone'), attempt: 1, retryIn: 500 };

const view = (p: Portfolio | readonly Container[]) =>
  ('containers' in p ? p.containers : p)
    .map((x) => `${x.id}:${x.pid}:${x.name}${x.paused ? ':paused' : ''}`)
    .sort();

/** Where the list is taken and folded relative to the change's events: `k` events are in before the list is taken. */
type Placement = { readonly name: string; readonly beforeListening: number; readonly listSees: number; readonly beforeSnapshot: number };
function placements(n: number): Placement[] {
  const out: Placement[] = [{ name: 'before the list', beforeListening: n, listSees: n, beforeSnapshot: n }];
  for (let k = 0; k <= n; k++) {
    const name = k === 0 ? 'during the list, the list taken before it' : k === n ? 'during the list, the list taken after it' : `during the list, the list taken after ${k} of its ${n} events`;
    out.push({ name, beforeListening: 0, listSees: k, beforeSnapshot: n });
  }
  out.push({ name: 'after the list', beforeListening: 0, listSees: 0, beforeSnapshot: 0 });
  return out;
}

const live = run([CONNECTING, LISTENING, snapshot(BEFORE)]).state;
const SCENARIOS: readonly { readonly name: string; readonly open: readonly FoldInput[]; readonly from: WatchState; readonly relist: boolean }[] = [
  { name: 'first sync', open: [CONNECTING, LISTENING], from: INITIAL_STATE, relist: false },
  { name: 'relist after a reconnect', open: [DISCONNECTED, CONNECTING, LISTENING], from: live, relist: true },
  { name: 'periodic relist', open: [LISTENING], from: live, relist: true },
];

describe('fold: events and the list, every interleaving', () => {
  for (const scenario of SCENARIOS) {
    describe(scenario.name, () => {
      for (const change of CHANGES) {
        const n = change.steps.length;
        for (const at of placements(n)) {
          if (!scenario.relist && at.beforeListening > 0) continue; // before the first list there is no session
          it(`${change.name} ${at.name}`, () => {
            const world = (k: number) => (k === 0 ? BEFORE : change.steps[k - 1]!.after);
            const events = change.steps.map((s) => ev(s.event));
            const listed = unexplained(world(at.listSees));
            const inputs: FoldInput[] = [
              ...events.slice(0, at.beforeListening),
              ...scenario.open,
              ...events.slice(at.beforeListening, at.beforeSnapshot),
              snapshot(listed),
              ...events.slice(at.beforeSnapshot),
            ];
            const { state, steps } = run(inputs, scenario.from);
            const truth = unexplained(world(n));
            // the picture ends as the truth, live
            expect(view(state.portfolio)).to.deep.equal(view(truth));
            expect(state.status.state).to.equal('live');
            // each event's changes come when it arrives, real, unless the first sync holds them for the list
            const eventSteps = (i: number) => {
              const pos = i < at.beforeListening ? i : i < at.beforeSnapshot ? i + scenario.open.length : i + scenario.open.length + 1;
              return steps[pos]!;
            };
            const snapshotStep = steps[at.beforeSnapshot + scenario.open.length]!;
            for (let i = 0; i < n; i++) {
              const during = i >= at.beforeListening && i < at.beforeSnapshot;
              if (during && !scenario.relist) expect(eventSteps(i), `event ${i} during the first list waits`).to.deep.equal([]);
              else expect(eventSteps(i), `event ${i}`).to.deep.equal(change.steps[i]!.live);
            }
            if (scenario.relist) {
              // the list repairs exactly what no event told: g's exit and u's start
              expect(snapshotStep.sort()).to.deep.equal(['exited g*', 'started u*']);
            } else {
              // first sync: a start for everything alive, synthetic unless only an event during the list brought it
              const brought = new Set<string>();
              if (at.beforeSnapshot > 0) {
                const fromList = new Map(listed.map((x) => [x.id, x.pid]));
                for (const x of world(at.beforeSnapshot)) if (fromList.get(x.id) !== x.pid) brought.add(x.id);
              }
              const alive = unexplained(world(at.beforeSnapshot));
              expect(snapshotStep.sort()).to.deep.equal(alive.map((x) => `started ${x.id}${brought.has(x.id) ? '' : '*'}`).sort());
            }
          });
        }
      }
    });
  }

  it('a reconnect that missed a restart (same id, new PID, no event) reports it as a synthetic exit and start', () => {
    const { steps, state } = run([DISCONNECTED, CONNECTING, LISTENING, snapshot([c('a', 300), c('b', 100, { paused: true }), c('g')])], live);
    expect(steps.at(-1)).to.deep.equal(['exited a*', 'started a*']);
    expect(state.portfolio.byIdOnly('a')?.pid).to.equal(300);
  });

  it('an event that contradicts a list taken after it (a start, then a list without the container, then its exit) ends as the truth', () => {
    const { steps, state } = run([LISTENING, ev({ type: 'started', container: c('n', 7), time: 10 }), snapshot(BEFORE), ev({ type: 'exited', id: 'n', time: 12 })], live);
    expect(steps).to.deep.equal([[], ['started n'], [], ['exited n']]);
    expect(view(state.portfolio)).to.deep.equal(view(BEFORE));
  });
});
