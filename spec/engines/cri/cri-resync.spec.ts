import { expect } from 'chai';
import { TestScheduler } from 'rxjs/testing';
import { criResync } from '../../../lib/engines/cri/cri-resync.js';

// L = the marker (`listening`: the watcher relists), a/b/c = CRI events
describe('criResync (resync timing of the CRI event feed)', () => {
  let ts: TestScheduler;
  beforeEach(() => {
    ts = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    });
  });

  it('marks at once without a gate and again right after the first event (it proves the stream is registered); no periodic marks (those are the watcher\'s)', () => {
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const events = hot('-----a------b-----------------c-----');
      const sub = '       ^-----------------------------------!';
      const out = events.pipe(criResync({ marker: 'L' }));
      expectObservable(out, sub).toBe('L----(aL)---b-----------------c-----');
      expectSubscriptions(events.subscriptions).toBe(sub);
    });
  });

  it('the first mark waits for the gate (the Version round trip); events before it follow it and need no extra mark', () => {
    ts.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const events = hot('-a-c-----b------');
      const gate = cold('----(v|)');
      const sub = '       ^--------------!';
      const out = events.pipe(criResync({ marker: 'L', gate$: gate }));
      expectObservable(out, sub).toBe('----(Lac)b------');
      expectSubscriptions(gate.subscriptions).toBe('^---!');
    });
  });

  it('a gate that completes without a value opens too; one that errors errors the feed and ends the stream', () => {
    ts.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const events = hot('----------');
      expectObservable(events.pipe(criResync({ marker: 'L', gate$: cold('--|') }))).toBe('--L-------');
      const events2 = hot('-a--------');
      const out = events2.pipe(criResync({ marker: 'L', gate$: cold('---#', undefined, 'protocol') }));
      expectObservable(out).toBe('---#', undefined, 'protocol');
      expectSubscriptions(events2.subscriptions).toBe('^--!');
    });
  });

  it('passes the stream error and completion through', () => {
    ts.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const failing = hot('--a------#', undefined, 'unavailable');
      expectObservable(failing.pipe(criResync({ marker: 'L' }))).toBe('L-(aL)---#', undefined, 'unavailable');
      const ending = cold('-a-----|');
      expectObservable(ending.pipe(criResync({ marker: 'L' }))).toBe('L(aL)--|');
      expectSubscriptions(ending.subscriptions).toBe('^------!');
    });
  });

  it('unsubscribing ends the stream and the gate', () => {
    ts.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const events = hot('-a---------');
      const gate = cold('------v');
      const sub = '       ^--!';
      expectObservable(events.pipe(criResync({ marker: 'L', gate$: gate })), sub).toBe('----');
      expectSubscriptions(events.subscriptions).toBe(sub);
      expectSubscriptions(gate.subscriptions).toBe(sub);
    });
  });

  it('each subscription has its own state (cold)', () => {
    ts.run(({ cold, expectObservable }) => {
      const events = cold('--a--');
      const out = events.pipe(criResync({ marker: 'L' }));
      expectObservable(out, '^-----!').toBe('L-(aL)');
      expectObservable(out, '^-----!').toBe('L-(aL)');
    });
  });
});
