import { expect } from 'chai';
import { NEVER, of, throwError } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import sinon from 'sinon';
import { EngineError, isEngineError } from '../../../lib/errors.js';
import { engineCalls, fromAbortable } from '../../../lib/engines/common/engine-call.js';
import { engineErrors } from '../../../lib/engines/common/engine-error.js';
import { DOCKER_TERMS } from '../../../lib/engines/docker/docker-errors.js';

const AT = 'unix:///run/x.sock';
const GONE = Object.assign(new Error('gone'), { gone: true });

function kit(ts: TestScheduler, requestTimeout = 1000) {
  const errors = engineErrors(DOCKER_TERMS, AT);
  const toError = sinon.spy((err: unknown, what: string) => (isEngineError(err) ? err : errors.of('engine', what, String((err as Error).message), err)));
  const calls = engineCalls({ errors, scheduler: ts, requestTimeout, toError, isNotFound: (err) => err === GONE });
  return { calls, toError };
}

describe('engineCalls (one call, the same way for every engine)', () => {
  let ts: TestScheduler;
  beforeEach(() => {
    ts = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    });
  });

  it('passes the answer through and subscribes the transport once, until it answered', () => {
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const { calls } = kit(ts);
      const answer = cold('--(a|)');
      expectObservable(calls.call('w', () => answer)).toBe('--(a|)');
      expectSubscriptions(answer.subscriptions).toBe('^-!');
    });
  });

  it('times out on the scheduler after requestTimeout with the kit\'s "did not answer" error, and cancels the transport', () => {
    ts.run(({ cold, expectSubscriptions, flush }) => {
      const { calls } = kit(ts, 1000);
      const silent = cold('-');
      let error: unknown;
      let at = -1;
      calls.call('listing containers', () => silent).subscribe({ error: (e: unknown) => ((error = e), (at = ts.now())) });
      flush();
      expect(at).to.equal(1000);
      expect(error).to.be.instanceOf(EngineError).and.include({ code: 'engine', endpoint: AT });
      expect((error as Error).message).to.equal(`the Docker engine at ${AT} did not answer within 1000 ms while listing containers: is it overloaded or hung?`);
      expectSubscriptions(silent.subscriptions).toBe('^ 999ms !');
    });
  });

  it('adds no timer when the transport bounds the wait itself (timed: false)', () => {
    ts.run(({ cold, expectObservable }) => {
      const { calls } = kit(ts, 10);
      expectObservable(calls.call('w', () => cold('100ms (a|)'), { timed: false })).toBe('100ms (a|)');
    });
  });

  it('maps failures with the engine\'s mapper, told what the call was for', () => {
    ts.run(({ cold, flush }) => {
      const { calls, toError } = kit(ts);
      const boom = new Error('boom');
      let error: unknown;
      calls.call('inspecting container abc', () => cold('-#', undefined, boom)).subscribe({ error: (e: unknown) => (error = e) });
      flush();
      expect(toError.calledOnceWithExactly(boom, 'inspecting container abc')).to.equal(true);
      expect(error).to.equal(toError.firstCall.returnValue);
    });
  });

  it('turns "not found" into null only when asked', () => {
    ts.run(({ cold, expectObservable }) => {
      const { calls } = kit(ts);
      expectObservable(calls.call('w', () => cold('-#', undefined, GONE), { notFound: 'null' })).toBe('-(n|)', { n: null });
    });
    const { calls } = kit(ts);
    let error: unknown;
    calls.call('w', () => throwError(() => GONE)).subscribe({ error: (e: unknown) => (error = e) });
    expect(error).to.be.instanceOf(EngineError).and.have.property('cause', GONE);
  });

  it('after dispose(), fails every call with `closed` before it is made', () => {
    const { calls } = kit(ts);
    const open = sinon.spy(() => of(1));
    calls.dispose();
    calls.dispose(); // idempotent
    expect(calls.disposed).to.equal(true);
    let error: unknown;
    calls.call('listing containers', open).subscribe({ error: (e: unknown) => (error = e) });
    expect(open.called).to.equal(false);
    expect(error).to.be.instanceOf(EngineError).and.include({ code: 'closed' });
  });

  it('opens the transport on subscribe only (cold), once per subscription', () => {
    const { calls } = kit(ts);
    const open = sinon.spy(() => NEVER);
    const call$ = calls.call('w', open);
    expect(open.called).to.equal(false);
    call$.subscribe().unsubscribe();
    call$.subscribe().unsubscribe();
    expect(open.callCount).to.equal(2);
  });
});

describe('fromAbortable', () => {
  it('aborts a request still in flight on unsubscribe, and not one that settled', async () => {
    const signals: AbortSignal[] = [];
    let resolveFirst!: (v: string) => void;
    const pending = fromAbortable((signal) => {
      signals.push(signal);
      return new Promise<string>((resolve) => (resolveFirst = resolve));
    });
    pending.subscribe().unsubscribe();
    expect(signals[0]?.aborted).to.equal(true);
    resolveFirst('late'); // a late answer after unsubscribe goes nowhere

    const settled = fromAbortable((signal) => {
      signals.push(signal);
      return Promise.resolve('ok');
    });
    const got = await new Promise<string>((resolve) => {
      const sub = settled.subscribe((v) => {
        resolve(v);
        queueMicrotask(() => sub.unsubscribe());
      });
    });
    expect(got).to.equal('ok');
    expect(signals[1]?.aborted).to.equal(false);
  });

  it('passes a rejection on as the error', async () => {
    const boom = new Error('boom');
    const error = await new Promise<unknown>((resolve) => fromAbortable(() => Promise.reject(boom)).subscribe({ error: resolve }));
    expect(error).to.equal(boom);
  });
});
