import { expect } from 'chai';
import { NEVER } from 'rxjs';
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

  it('marks at once without a gate, again right after the first event (it proves the stream is registered), then every interval after the last mark', () => {
    ts.run(({ hot, expectObservable, expectSubscriptions }) => {
      const events = hot('-----a------b-----------------c-----');
      const sub = '       ^-----------------------------------!';
      const out = events.pipe(criResync({ marker: 'L', interval: 10, scheduler: ts }));
      // 0: L; 5: a then L (first event); 12: b (no mark); 15, 25: L (10 after the last); 30: c; 35: L
      expectObservable(out, sub).toBe('L----(aL)---b--L---------L----c----L');
      expectSubscriptions(events.subscriptions).toBe(sub);
    });
  });

  it('the first mark waits for the gate (the Version round trip); events before it follow it and need no extra mark', () => {
    ts.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const events = hot('-a-c-----b------');
      const gate = cold('----(v|)');
      const sub = '       ^--------------!';
      const out = events.pipe(criResync({ marker: 'L', interval: 100, scheduler: ts, gate$: gate }));
      expectObservable(out, sub).toBe('----(Lac)b------');
      expectSubscriptions(gate.subscriptions).toBe('^---!');
    });
  });

  it('a gate that completes without a value opens too; one that errors errors the feed and ends the stream', () => {
    ts.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const events = hot('----------');
      expectObservable(events.pipe(criResync({ marker: 'L', interval: 0, scheduler: ts, gate$: cold('--|') }))).toBe('--L-------');
      const events2 = hot('-a--------');
      const out = events2.pipe(criResync({ marker: 'L', interval: 5, scheduler: ts, gate$: cold('---#', undefined, 'protocol') }));
      expectObservable(out).toBe('---#', undefined, 'protocol');
      expectSubscriptions(events2.subscriptions).toBe('^--!');
    });
  });

  it('interval 0 or Infinity: no periodic marks, only the first ones', () => {
    ts.run(({ hot, expectObservable }) => {
      const events = hot('---a---b---------');
      expectObservable(events.pipe(criResync({ marker: 'L', interval: 0, scheduler: ts }))).toBe('L--(aL)b---------');
      expectObservable(events.pipe(criResync({ marker: 'L', interval: Infinity, scheduler: ts }))).toBe('L--(aL)b---------');
    });
  });

  it('a silent stream still gets a periodic mark (events may have been swallowed)', () => {
    ts.run(({ expectObservable }) => {
      expectObservable(NEVER.pipe(criResync({ marker: 'L', interval: 3, scheduler: ts })), '^---------!').toBe('L--L--L--L');
    });
  });

  it('passes the stream error and completion through, and stops the timer with them', () => {
    ts.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const failing = hot('--a------#', undefined, 'unavailable');
      expectObservable(failing.pipe(criResync({ marker: 'L', interval: 5, scheduler: ts }))).toBe('L-(aL)-L-#', undefined, 'unavailable');
      const ending = cold('-a-----|');
      expectObservable(ending.pipe(criResync({ marker: 'L', interval: 4, scheduler: ts }))).toBe('L(aL)L-|');
      expectSubscriptions(ending.subscriptions).toBe('^------!');
    });
  });

  it('unsubscribing ends the stream, the gate and the timer (nothing scheduled is left)', () => {
    ts.run(({ hot, cold, expectObservable, expectSubscriptions }) => {
      const events = hot('-a---------');
      const gate = cold('------v');
      const sub = '       ^--!';
      expectObservable(events.pipe(criResync({ marker: 'L', interval: 2, scheduler: ts, gate$: gate })), sub).toBe('----');
      expectSubscriptions(events.subscriptions).toBe(sub);
      expectSubscriptions(gate.subscriptions).toBe(sub);
      // a periodic mark due after the unsubscription never comes
      expectObservable(hot('-----').pipe(criResync({ marker: 'L', interval: 2, scheduler: ts })), '^--!').toBe('L-L-');
    });
    expect(ts.actions.length).to.equal(0);
  });

  it('each subscription has its own state (cold)', () => {
    ts.run(({ cold, expectObservable }) => {
      const events = cold('--a--');
      const out = events.pipe(criResync({ marker: 'L', interval: 100, scheduler: ts }));
      // (a periodic timer never ends on its own: always unsubscribe in virtual time)
      expectObservable(out, '^-----!').toBe('L-(aL)');
      expectObservable(out, '^-----!').toBe('L-(aL)');
    });
  });
});
