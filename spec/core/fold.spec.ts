import { expect } from 'chai';
import { EngineError } from '../../lib/errors.js';
import type { EngineEvent } from '../../lib/core/engine.js';
import { type FoldInput, INITIAL_STATE, type LifecycleEvent, type WatchState, applyEvent, fold, reconcile } from '../../lib/core/fold.js';
import { run, summary } from '../helpers/fold-steps.js';
import { type Container, newContainer } from '../../lib/model/container.js';
import { Portfolio } from '../../lib/model/portfolio.js';

const c = (id: string, pid = 100, extra: Partial<Container> = {}): Container =>
  newContainer({ id, name: `n-${id}`, pid, labels: extra.labels ?? {}, paused: extra.paused ?? false, project: extra.project });
const started = (container: Container, time = 1): FoldInput => ({ type: 'event', event: { type: 'started', container, time } });
const exited = (id: string, time = 1): FoldInput => ({ type: 'event', event: { type: 'exited', id, time } });
const paused = (id: string, time = 1): FoldInput => ({ type: 'event', event: { type: 'paused', id, time } });
const unpaused = (id: string, time = 1): FoldInput => ({ type: 'event', event: { type: 'unpaused', id, time } });
const renamed = (id: string, name: string): FoldInput => ({ type: 'event', event: { type: 'renamed', id, name, time: 1 } });
const snapshot = (...containers: Container[]): FoldInput => ({ type: 'snapshot', containers, time: 5 });
const LISTENING: FoldInput = { type: 'listening' };
const CONNECTING: FoldInput = { type: 'connecting' };
const disconnected: FoldInput = { type: 'disconnected', error: new EngineError('test', 'unreachable', 'gone'), attempt: 1, retryIn: 500 };

const ids = (p: Portfolio) => p.containers.map((x) => x.id).sort();

describe('fold', () => {
  describe('initial synchronisation', () => {
    it('keeps the empty portfolio and says connecting, then syncing, then live', () => {
      let s = fold(INITIAL_STATE, CONNECTING).state;
      expect(s.status.state).to.equal('connecting');
      s = fold(s, LISTENING).state;
      expect(s.status.state).to.equal('syncing');
      expect(s.everSynced).to.equal(false);
      s = fold(s, snapshot(c('a'), c('b'))).state;
      expect(s.status.state).to.equal('live');
      expect(s.everSynced).to.equal(true);
      expect(ids(s.portfolio)).to.deep.equal(['a', 'b']);
    });

    it('everSynced turns true with the first list and stays so; listInFlight is true only between listening and its list', () => {
      const inputs: [string, FoldInput][] = [
        ['connecting', CONNECTING],
        ['listening', LISTENING],
        ['event', started(c('x'))],
        ['snapshot', snapshot(c('a'))],
        ['resync', LISTENING],
        ['resync list', snapshot(c('a'))],
        ['disconnected', disconnected],
        ['reconnecting', CONNECTING],
        ['listening again', LISTENING],
        ['stopped', { type: 'stopped' }],
      ];
      let s = INITIAL_STATE;
      const seen: string[] = [];
      for (const [name, input] of inputs) {
        s = fold(s, input).state;
        seen.push(`${name}: ${s.everSynced ? 'ever' : 'never'} ${s.listInFlight ? 'in flight' : '-'}`);
      }
      expect(seen).to.deep.equal([
        'connecting: never -',
        'listening: never in flight',
        'event: never in flight',
        'snapshot: ever -',
        'resync: ever in flight',
        'resync list: ever -',
        'disconnected: ever -',
        'reconnecting: ever -',
        'listening again: ever in flight',
        'stopped: ever -',
      ]);
    });

    it('reports the listed containers as synthetic starts', () => {
      const { changes } = run([CONNECTING, LISTENING, snapshot(c('a'), c('b'))]);
      expect(summary(changes).sort()).to.deep.equal(['started a*', 'started b*']);
    });

    it('does not show events before the list is in (make before break)', () => {
      const { state } = run([CONNECTING, LISTENING, started(c('x'))]);
      expect(state.portfolio.total).to.equal(0);
    });
  });

  describe('first synchronisation builds the portfolio once', () => {
    it('reconcile against an empty picture returns the truth object itself, one synthetic start per container', () => {
      const truth = Portfolio.of([c('a'), c('b', 7, { project: 'p' }), c('c', 9, { paused: true })]);
      for (const before of [Portfolio.EMPTY, Portfolio.of([c('z')]).withoutContainer('z')]) {
        const { portfolio, changes } = reconcile(before, truth, 5);
        expect(portfolio).to.equal(truth);
        expect(changes.map((ch) => [ch.type, ch.container, ch.time.getTime(), ch.synthetic])).to.deep.equal(
          truth.containers.map((x) => ['started', x, 5, true]),
        );
      }
    });

    it('gives the same changes as reconciling item by item (against a picture whose only container is gone)', () => {
      const truth = Portfolio.of([c('a'), c('b', 7, { project: 'p' }), c('c', 9, { paused: true })]);
      const fast = reconcile(Portfolio.EMPTY, truth, 5);
      const slow = reconcile(Portfolio.of([c('gone')]), truth, 5);
      expect(summary(slow.changes)).to.deep.equal(['exited gone*', ...summary(fast.changes)]);
      expect(slow.changes.slice(1).map((ch) => ch.container)).to.deep.equal(fast.changes.map((ch) => ch.container));
      expect(ids(slow.portfolio)).to.deep.equal(ids(fast.portfolio));
    });

    const table: { name: string; during: FoldInput[]; portfolio: string[]; changes: string[] }[] = [
      { name: 'a plain list', during: [], portfolio: ['a', 'b', 'c'], changes: ['started a*', 'started b*', 'started c*'] },
      { name: 'an exit during the list', during: [exited('b')], portfolio: ['a', 'c'], changes: ['started a*', 'started c*'] },
      { name: 'a start during the list', during: [started(c('d'))], portfolio: ['a', 'b', 'c', 'd'], changes: ['started a*', 'started b*', 'started c*', 'started d'] },
      { name: 'a restart during the list', during: [started(c('a', 555))], portfolio: ['a', 'b', 'c'], changes: ['started a', 'started b*', 'started c*'] },
    ];
    for (const row of table) {
      it(`with ${row.name}: the listed containers as they are, one synthetic start each, and a real one (at the event's time) for what only an event brought`, () => {
        const listed = [c('a'), c('b'), c('c')];
        const { state, changes } = run([CONNECTING, LISTENING, ...row.during, snapshot(...listed)]);
        expect(ids(state.portfolio)).to.deep.equal(row.portfolio);
        expect(summary(changes).sort()).to.deep.equal(row.changes);
        for (const ch of changes) expect(state.portfolio.byIdOnly(ch.container.id)).to.equal(ch.container);
        for (const x of listed) if (row.portfolio.includes(x.id) && x.id !== 'a') expect(state.portfolio.byIdOnly(x.id)).to.equal(x);
        expect(changes.every((ch) => ch.time.getTime() === (ch.synthetic ? 5 : 1))).to.equal(true);
      });
    }
  });

  describe('races during the list', () => {
    const cases: { name: string; inputs: FoldInput[]; alive: string[]; changes: string[]; paused?: string[] }[] = [
      {
        name: 'an exit seen during the list is not resurrected by it',
        inputs: [CONNECTING, LISTENING, exited('a'), snapshot(c('a'), c('b'))],
        alive: ['b'],
        changes: ['started b*'],
      },
      {
        name: 'a pause seen during the list is replayed on top of it',
        inputs: [CONNECTING, LISTENING, paused('a'), snapshot(c('a'))],
        alive: ['a'],
        paused: ['a'],
        changes: ['started a*'],
      },
      {
        name: 'pause then unpause during the list end unpaused, whatever the list saw',
        inputs: [CONNECTING, LISTENING, paused('a'), unpaused('a'), snapshot(c('a', 100, { paused: true }))],
        alive: ['a'],
        paused: [],
        changes: ['started a*'],
      },
      {
        name: 'a start seen by both the list and an event counts once',
        inputs: [CONNECTING, LISTENING, started(c('a')), snapshot(c('a'))],
        alive: ['a'],
        changes: ['started a*'],
      },
      {
        name: 'a start missing from the list is added from its event',
        inputs: [CONNECTING, LISTENING, started(c('n')), snapshot(c('a'))],
        alive: ['a', 'n'],
        changes: ['started a*', 'started n'],
      },
      {
        name: 'start then exit during the list leaves nothing, listed or not',
        inputs: [CONNECTING, LISTENING, started(c('n')), exited('n'), snapshot(c('n'))],
        alive: [],
        changes: [],
      },
      {
        name: 'exit then restart (new PID) during the list keeps the new process',
        inputs: [CONNECTING, LISTENING, exited('a'), started(c('a', 200)), snapshot(c('a', 100))],
        alive: ['a'],
        changes: ['started a'],
      },
      {
        name: 'a pause of a container that exited during the list is ignored',
        inputs: [CONNECTING, LISTENING, exited('a'), paused('a'), snapshot(c('a'))],
        alive: [],
        changes: [],
      },
    ];
    for (const t of cases) {
      it(t.name, () => {
        const { state, changes } = run(t.inputs);
        expect(ids(state.portfolio)).to.deep.equal(t.alive);
        expect(summary(changes).sort()).to.deep.equal(t.changes);
        if (t.paused) expect(state.portfolio.containers.filter((x) => x.paused).map((x) => x.id)).to.deep.equal(t.paused);
      });
    }

    it('keeps the PID from the replayed restart', () => {
      const { state } = run([CONNECTING, LISTENING, exited('a'), started(c('a', 200)), snapshot(c('a', 100))]);
      expect(state.portfolio.container('a')?.pid).to.equal(200);
    });
  });

  describe('when live', () => {
    const live = run([CONNECTING, LISTENING, snapshot(c('a'), c('b', 100, { project: 'p' }))]).state;

    it('adds a started container with one real (non-synthetic) change', () => {
      const { state, changes } = run([started(c('n', 7, { project: 'p' }), 9)], live);
      expect(ids(state.portfolio)).to.deep.equal(['a', 'b', 'n']);
      expect(summary(changes)).to.deep.equal(['started n']);
      expect(changes[0]?.time.getTime()).to.equal(9);
      expect(state.portfolio.project('p')?.containers.map((x) => x.id).sort()).to.deep.equal(['b', 'n']);
    });

    it('removes an exited container and drops its emptied project', () => {
      const { state, changes } = run([exited('b')], live);
      expect(ids(state.portfolio)).to.deep.equal(['a']);
      expect(state.portfolio.project('p')).to.equal(undefined);
      expect(state.portfolio.project('')?.total).to.equal(1);
      expect(summary(changes)).to.deep.equal(['exited b']);
      expect(changes[0]?.container.id).to.equal('b');
    });

    it('pauses and unpauses', () => {
      const p = run([paused('a')], live);
      expect(p.state.portfolio.container('a')?.paused).to.equal(true);
      expect(summary(p.changes)).to.deep.equal(['paused a']);
      const u = run([unpaused('a')], p.state);
      expect(u.state.portfolio.container('a')?.paused).to.equal(false);
      expect(summary(u.changes)).to.deep.equal(['unpaused a']);
    });

    it('finds a container by name with its current state, in the portfolio and its project', () => {
      const { state } = run([paused('b')], live);
      expect(state.portfolio.container('n-b')?.paused).to.equal(true);
      expect(state.portfolio.project('p')?.container('n-b')?.paused).to.equal(true);
      expect(state.portfolio.container('b')).to.equal(state.portfolio.container('n-b'));
    });

    it('renames with one real `renamed` change carrying the old name, and finds the container by its new name only', () => {
      const { state, changes } = run([renamed('a', 'fresh')], live);
      expect(changes).to.have.length(1);
      expect(changes[0]).to.include({ type: 'renamed', previousName: 'n-a', synthetic: false });
      expect(changes[0]!.container).to.equal(state.portfolio.container('fresh'));
      expect(state.portfolio.container('fresh')?.id).to.equal('a');
      expect(state.portfolio.container('n-a')).to.equal(undefined);
    });

    it('carries the exit details of an `exited` event onto its lifecycle change', () => {
      const exit = Object.freeze({ code: 137, time: new Date(7), oomKilled: true });
      const { changes } = run([{ type: 'event', event: { type: 'exited', id: 'a', time: 7, exit } }], live);
      expect(changes).to.have.length(1);
      expect(changes[0]).to.include({ type: 'exited', exit, synthetic: false });
      expect(run([exited('a')], live).changes[0]).not.to.have.property('exit');
    });

    it('tracks health: a change of health is a `health` change with the new state; the same health again is a no-op', () => {
      const health = (id: string, h: 'starting' | 'healthy' | 'unhealthy'): FoldInput => ({ type: 'event', event: { type: 'health', id, health: h, time: 3 } });
      const { state, changes } = run([health('a', 'starting'), health('a', 'healthy'), health('a', 'healthy'), health('zz', 'healthy')], live);
      expect(changes.map((ch) => `${ch.type} ${ch.container.id} ${ch.container.health}`)).to.deep.equal(['health a starting', 'health a healthy']);
      expect(state.portfolio.container('a')?.health).to.equal('healthy');
      const again = fold(state, health('a', 'healthy'));
      expect(again.state).to.equal(state);
    });

    it('reports a restart with a missed exit as exit plus start', () => {
      const { state, changes } = run([started(c('a', 555))], live);
      expect(summary(changes)).to.deep.equal(['exited a', 'started a']);
      expect(state.portfolio.container('a')?.pid).to.equal(555);
    });

    const noops: [string, FoldInput][] = [
      ['exit of an unknown container', exited('zz')],
      ['pause of an unknown container', paused('zz')],
      ['unpause of a running container', unpaused('a')],
      ['rename to the same name', renamed('a', 'n-a')],
      ['health of an unknown container', { type: 'event', event: { type: 'health', id: 'zz', health: 'healthy', time: 1 } }],
      ['start of a known container with the same PID and details', started(live.portfolio.container('a') as Container)],
    ];
    for (const [name, input] of noops) {
      it(`returns the very same state for a no-op: ${name}`, () => {
        const step = fold(live, input);
        expect(step.state).to.equal(live);
        expect(step.changes).to.have.length(0);
      });
    }

    it('shares structure: one event leaves other projects and containers untouched', () => {
      const next = run([started(c('n'))], live).state;
      expect(next.portfolio.project('p')).to.equal(live.portfolio.project('p'));
      expect(next.portfolio.container('a')).to.equal(live.portfolio.container('a'));
    });
  });

  describe('reconnect', () => {
    const live = run([CONNECTING, LISTENING, snapshot(c('a'), c('b'), c('c'))]).state;

    it('keeps the last good portfolio visible while degraded, and live to events while resyncing', () => {
      const waiting = run([disconnected, CONNECTING, LISTENING], live);
      expect(waiting.state.portfolio).to.equal(live.portfolio);
      expect(waiting.state.status.state).to.equal('syncing');
      const { state, changes } = run([exited('a')], waiting.state);
      expect(ids(state.portfolio)).to.deep.equal(['b', 'c']);
      expect(summary(changes)).to.deep.equal(['exited a']);
      expect(state.status.state).to.equal('syncing');
      const degraded = fold(live, disconnected).state;
      expect(degraded.status.state).to.equal('degraded');
      expect(fold(degraded, CONNECTING).state.status.state).to.equal('degraded');
    });

    it('emits only the true differences after the gap', () => {
      const { state, changes } = run(
        [disconnected, CONNECTING, LISTENING, snapshot(c('b', 100, { paused: true }), c('c', 300), c('d'))],
        live,
      );
      expect(ids(state.portfolio)).to.deep.equal(['b', 'c', 'd']);
      expect(summary(changes).sort()).to.deep.equal(['exited a*', 'exited c*', 'paused b*', 'started c*', 'started d*']);
    });

    it('keeps survivors identical and emits nothing when nothing changed', () => {
      const { state, changes } = run([disconnected, CONNECTING, LISTENING, snapshot(c('a'), c('b'), c('c'))], live);
      expect(changes).to.deep.equal([]);
      expect(state.portfolio).to.equal(live.portfolio);
    });

    it('reports a rename and a health change that happened while away as synthetic `renamed` and `health` changes', () => {
      const renamedWhileAway = newContainer({ id: 'a', name: 'moved', pid: 100 });
      const healthier = newContainer({ id: 'b', name: 'n-b', pid: 100, health: 'healthy' });
      const { state, changes } = run([disconnected, CONNECTING, LISTENING, snapshot(renamedWhileAway, healthier, c('c'))], live);
      expect(changes.map((ch) => `${ch.type} ${ch.container.id}${ch.synthetic ? '*' : ''} ${ch.previousName ?? ''}`).sort()).to.deep.equal(['health b* ', 'renamed a* n-a']);
      expect(state.portfolio.container('moved')?.id).to.equal('a');
      expect(state.portfolio.container('b')?.health).to.equal('healthy');
    });

    it('drops events buffered by a session that failed before its list', () => {
      const { state } = run([disconnected, CONNECTING, LISTENING, exited('a'), disconnected, CONNECTING, LISTENING, snapshot(c('a'), c('b'), c('c'))], live);
      expect(ids(state.portfolio)).to.deep.equal(['a', 'b', 'c']);
    });
  });

  describe('resync while live (an adapter relisting)', () => {
    const live = run([CONNECTING, LISTENING, snapshot(c('a'), c('b'))]).state;

    it('stays live, delivers events during the list at once (real) and reconciles only what no event explained (synthetic)', () => {
      const relisting = fold(live, LISTENING).state;
      expect(relisting.status.state).to.equal('live');
      const exit = fold(relisting, exited('a'));
      expect(summary(exit.changes)).to.deep.equal(['exited a']);
      expect(ids(exit.state.portfolio)).to.deep.equal(['b']);
      const { state, changes } = run([snapshot(c('a'), c('b'), c('m'))], exit.state);
      expect(ids(state.portfolio)).to.deep.equal(['b', 'm']);
      expect(summary(changes).sort()).to.deep.equal(['started m*']);
      expect(state.status.state).to.equal('live');
    });
  });

  describe('applyEvent', () => {
    it('never mutates its input portfolio', () => {
      const p = Portfolio.of([c('a')]);
      const before = p.containers;
      const events: EngineEvent[] = [
        { type: 'exited', id: 'a', time: 1 },
        { type: 'paused', id: 'a', time: 1 },
        { type: 'started', container: c('z'), time: 1 },
      ];
      for (const e of events) applyEvent(p, e);
      expect(p.containers).to.equal(before);
      expect(ids(p)).to.deep.equal(['a']);
    });
  });
});
