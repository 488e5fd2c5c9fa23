import { expect } from 'chai';
import { BehaviorSubject, Subject } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import type { EngineInfo } from '../../lib/core/engine.js';
import type { LifecycleEvent, WatcherStatus } from '../../lib/core/fold.js';
import type { Watcher } from '../../lib/core/watcher.js';
import { hostSource } from '../../lib/cli/host-source.js';
import type { ViewEngine, ViewEvent } from '../../lib/cli/live-view.js';
import type { HostEngine, HostWatcher } from '../../lib/host/host-watcher.js';
import { newContainer } from '../../lib/model/container.js';
import { Portfolio } from '../../lib/model/portfolio.js';

const info = (type: EngineInfo['type'], api: string, product?: string): EngineInfo => ({ id: api, type, version: '1', api, ...(product === undefined ? {} : { product }) });
const LIVE: WatcherStatus = { state: 'live' };

/** A stand-in engine of the host view: its watcher has a portfolio$ the spec drives. */
function hostEngine(i: EngineInfo, status: WatcherStatus = LIVE) {
  const portfolio$ = new BehaviorSubject(Portfolio.EMPTY);
  const watcher = { portfolio$: portfolio$.asObservable() } as unknown as Watcher;
  const engine = (s: WatcherStatus): HostEngine =>
    ({ key: `${i.type} ${i.api}`, info: i, discovered: undefined as never, watcher, status: s }) satisfies HostEngine;
  return { portfolio$, engine, current: engine(status) };
}

function stubHost() {
  const engines$ = new BehaviorSubject<readonly HostEngine[]>([]);
  const lifecycle$ = new Subject<LifecycleEvent>();
  const host = { engines$: engines$.asObservable(), lifecycle$: lifecycle$.asObservable() } as unknown as HostWatcher;
  return { host, engines$, lifecycle$ };
}

describe('CLI live view over watchHost (hostSource)', () => {
  it('labels engines by product in the order found, numbered, stable while engines come and go; never reused', () => {
    const ts = new TestScheduler(() => undefined);
    const { host, engines$ } = stubHost();
    const docker = hostEngine(info('docker.com', 'unix:///a.sock', 'docker'));
    const podman = hostEngine(info('docker.com', 'unix:///p.sock', 'podman'));
    const docker2 = hostEngine(info('docker.com', 'unix:///b.sock', 'docker'));
    const ctrd = hostEngine(info('containerd.io', 'unix:///c.sock', 'containerd'));
    const cri = hostEngine(info('k8s.io/cri-api', 'unix:///c.sock', 'containerd'));
    const seen: (readonly ViewEngine[])[] = [];
    const sub = hostSource(host, ts).engines$.subscribe((v) => seen.push(v));
    const labels = () => seen[seen.length - 1]!.map((e) => e.label);
    expect(labels()).to.deep.equal([]);
    engines$.next([docker.current, podman.current, docker2.current, ctrd.current, cri.current]);
    expect(labels()).to.deep.equal(['docker', 'podman', 'docker#2', 'containerd', 'cri']);
    engines$.next([podman.current, docker2.current]); // the first Docker dropped
    expect(labels()).to.deep.equal(['podman', 'docker#2']);
    const docker3 = hostEngine(info('docker.com', 'unix:///d.sock', 'docker'));
    engines$.next([podman.current, docker2.current, docker3.current]);
    expect(labels()).to.deep.equal(['podman', 'docker#2', 'docker#3']);
    sub.unsubscribe();
  });

  it("follows each engine's portfolio, and times its status from when it changed", () => {
    const ts = new TestScheduler(() => undefined);
    const { host, engines$ } = stubHost();
    const a = hostEngine(info('docker.com', 'unix:///a.sock', 'docker'));
    const seen: (readonly ViewEngine[])[] = [];
    const sub = hostSource(host, ts).engines$.subscribe((v) => seen.push(v));
    ts.run(({ flush }) => {
      ts.schedule(() => engines$.next([a.current]), 10);
      ts.schedule(() => a.portfolio$.next(Portfolio.of([newContainer({ id: 'x', name: 'x', pid: 1 })])), 20);
      ts.schedule(() => engines$.next([a.current]), 30); // same status object: same time
      const degraded: WatcherStatus = { state: 'degraded', error: undefined as never, attempt: 1, retryIn: 500 };
      ts.schedule(() => engines$.next([a.engine(degraded)]), 40);
      flush();
    });
    const last = seen[seen.length - 1]![0]!;
    expect(seen.map((v) => v.map((e) => `${e.portfolio.total}@${e.statusSince}:${e.status.state}`).join())).to.deep.equal([
      '',
      '0@10:live',
      '1@10:live',
      '1@10:live',
      '1@40:degraded',
    ]);
    expect(last.info?.api).to.equal('unix:///a.sock');
    sub.unsubscribe();
    expect(a.portfolio$.observed).to.equal(false);
  });

  it('labels lifecycle events by their engine (the same identity object, else type and endpoint)', () => {
    const ts = new TestScheduler(() => undefined);
    const { host, engines$, lifecycle$ } = stubHost();
    const dockerInfo = info('docker.com', 'unix:///a.sock', 'docker');
    const podmanInfo = info('docker.com', 'unix:///p.sock', 'podman');
    const source = hostSource(host, ts);
    const subEngines = source.engines$.subscribe();
    engines$.next([hostEngine(dockerInfo).current, hostEngine(podmanInfo).current]);
    const events: ViewEvent[] = [];
    const sub = source.lifecycle$.subscribe((e) => events.push(e));
    const c = newContainer({ id: 'x', name: 'x', pid: 1 });
    lifecycle$.next({ type: 'started', container: c, time: new Date(0), synthetic: false, engine: podmanInfo });
    lifecycle$.next({ type: 'started', container: c, time: new Date(0), synthetic: false, engine: { ...dockerInfo } });
    lifecycle$.next({ type: 'started', container: c, time: new Date(0), synthetic: false, engine: info('containerd.io', 'unix:///new.sock') });
    expect(events.map((e) => e.engine)).to.deep.equal(['podman', 'docker', 'containerd']);
    sub.unsubscribe();
    subEngines.unsubscribe();
  });
});
