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

describe('engineCalls.request (the lean callback form of the hot paths)', () => {
  let ts: TestScheduler;
  beforeEach(() => {
    ts = new TestScheduler((actual, expected) => {
      expect(actual).to.deep.equal(expected);
    });
  });

  it('answers once, ignores a second or late reply, and never cancels a request that answered', () => {
    const { calls } = kit(ts);
    const cancel = sinon.spy();
    const got: unknown[] = [];
    let replyLater!: (err: unknown, value?: string) => void;
    calls
      .request<string>('w', (reply) => {
        replyLater = reply;
        return cancel;
      })
      .subscribe({ next: (v) => got.push(v), complete: () => got.push('|') });
    replyLater(null, 'a');
    replyLater(null, 'b');
    replyLater(new Error('late'));
    expect(got).to.deep.equal(['a', '|']);
    expect(cancel.called).to.equal(false);
  });

  it('cancels at the transport on unsubscribe, and a reply after that goes nowhere', () => {
    const { calls, toError } = kit(ts);
    const cancel = sinon.spy();
    let reply!: (err: unknown, value?: string) => void;
    const next = sinon.spy();
    const sub = calls
      .request<string>('w', (r) => {
        reply = r;
        return cancel;
      })
      .subscribe({ next });
    sub.unsubscribe();
    expect(cancel.calledOnce).to.equal(true);
    reply(null, 'too late');
    reply(new Error('too late'));
    expect(next.called).to.equal(false);
    expect(toError.called).to.equal(false);
  });

  it('on the request timeout: cancels at the transport, then fails with the kit\'s "did not answer"', () => {
    ts.run(({ flush }) => {
      const { calls } = kit(ts, 250);
      const cancel = sinon.spy();
      let error: unknown;
      calls.request('listing tasks', () => cancel).subscribe({ error: (e: unknown) => (error = e) });
      flush();
      expect(cancel.calledOnce).to.equal(true);
      expect((error as Error).message).to.match(/did not answer within 250 ms while listing tasks/);
    });
  });

  it('maps a transport that throws when asked, and a gone container to null when asked', () => {
    const { calls } = kit(ts);
    let error: unknown;
    calls.request('w', () => {
      throw new Error('cannot send');
    }).subscribe({ error: (e: unknown) => (error = e) });
    expect(error).to.be.instanceOf(EngineError).and.have.nested.property('cause.message', 'cannot send');
    const got: unknown[] = [];
    calls.request('w', (reply) => reply(GONE), { notFound: 'null' }).subscribe((v) => got.push(v));
    expect(got).to.deep.equal([null]);
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
