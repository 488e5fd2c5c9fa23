import { expect } from 'chai';
import type { LifecycleEvent, WatcherStatus } from '../../lib/core/fold.js';
import { type ViewEngine, type ViewEvent, type ViewModel, compactDuration, renderView } from '../../lib/cli/live-view.js';
import { EngineError } from '../../lib/errors.js';
import { type Container, type ContainerInit, PROJECT_LABEL, newContainer } from '../../lib/model/container.js';
import { Portfolio } from '../../lib/model/portfolio.js';

const NOW = Date.parse('2026-12-02T12:00:00.000Z');
const ago = (ms: number) => new Date(NOW - ms);
const hex = (n: number) => n.toString(16).padStart(64, '0');
const c = (n: number, init: Partial<ContainerInit> = {}): Container =>
  newContainer({ id: hex(n), name: `c-${n}`, pid: 1000 + n, image: 'busybox:lab', startedAt: ago(90_000), ...init });
const LIVE: WatcherStatus = { state: 'live' };
const engine = (label: string, containers: readonly Container[], status: WatcherStatus = LIVE, statusSince = NOW): ViewEngine => ({
  label,
  status,
  statusSince,
  info: { id: 'X', type: 'docker.com', version: '26.1.5', api: 'unix:///run/docker.sock', product: 'docker' },
  portfolio: Portfolio.of(containers),
});
const event = (type: LifecycleEvent['type'], container: Container, extra: Partial<LifecycleEvent> = {}, engineLabel = 'docker'): ViewEvent => ({
  engine: engineLabel,
  event: { type, container, time: new Date(NOW - 1_000), synthetic: false, ...extra },
});

/** Checks what every frame must be: no line wider than the width, no more lines than the height. */
function frame(model: ViewModel, width: number, height: number): string[] {
  const lines = renderView(model, { width, height, now: NOW });
  for (const l of lines) expect([...l].length, `'${l}' in ${width} columns`).to.be.at.most(width);
  if (height !== Infinity) expect(lines.length, `lines at height ${height}`).to.be.at.most(height);
  return lines;
}

describe('CLI live view (renderView)', () => {
  const shop = [
    c(1, { name: 'shop-web-1', labels: { [PROJECT_LABEL]: 'shop' } }),
    c(2, { name: 'shop-db-1', labels: { [PROJECT_LABEL]: 'shop' }, paused: true }),
    c(3, { name: 'loner', health: 'healthy', startedAt: ago(3 * 3_600_000) }),
  ];
  const model: ViewModel = {
    engines: [engine('docker', shop), engine('podman', [c(4, { name: 'pod-thing' })])],
    events: [
      event('exited', c(5, { name: 'crashy' }), { exit: { code: 3 } }),
      event('paused', shop[1]!),
      event('started', c(6, { name: 'replayed' }), { synthetic: true }),
      event('started', shop[0]!, {}, 'docker'),
    ],
  };

  it('at 80x24: title with the total and "q quits", a line per engine, the containers grouped by engine then project, the recent events', () => {
    const lines = frame(model, 80, 24);
    expect(lines).to.have.length(24);
    expect(lines[0]).to.match(/^whalewatcher: 4 alive on 2 engines +\d\d:\d\d:\d\d {2}q quits$/);
    expect(lines[0]).to.have.length(80);
    expect(lines[1]).to.equal('docker  live  3 alive  docker 26.1.5 at unix:///run/docker.sock');
    expect(lines[2]).to.equal('podman  live  1 alive  docker 26.1.5 at unix:///run/docker.sock');
    expect(lines[3]).to.match(/^PROJECT +NAME +ID +IMAGE +PID +STATE +UP$/);
    const body = lines.slice(4, 10);
    expect(body[0]).to.equal('── docker ──');
    expect(body[1]).to.match(/^\(none\) +loner +000000000000 +busybox:lab +1003 +running \(healthy\) +3h$/);
    expect(body[2]).to.match(/^shop +shop-db-1 +000000000000 +busybox:lab +1002 +paused +1m$/);
    expect(body[3]).to.match(/^shop +shop-web-1 .* running +1m$/);
    expect(body[4]).to.equal('── podman ──');
    expect(body[5]).to.match(/^\(none\) +pod-thing /);
    // the footer at the bottom, newest first, without the synthetic replay of a start
    expect(lines.slice(-4)).to.deep.equal([
      '── recent events ──',
      `${clockOf(NOW - 1_000)}  docker  exited   crashy  exit 3`,
      `${clockOf(NOW - 1_000)}  docker  paused   shop/shop-db-1`,
      `${clockOf(NOW - 1_000)}  docker  started  shop/shop-web-1`,
    ]);
  });

  for (const width of [20, 40, 60, 132, 250]) {
    it(`at ${width} columns every line fits, and the names stay readable from 60 on`, () => {
      const lines = frame(model, width, 30);
      if (width >= 60) expect(lines.some((l) => l.includes('shop-web-1'))).to.equal(true);
      if (width >= 132) expect(lines.find((l) => l.includes('shop-web-1'))).to.not.include('…');
    });
  }

  it('a degraded engine: the retry number, the time left until it and the reason, counting down with now', () => {
    const error = new EngineError('docker', 'unreachable', 'no Docker engine at unix:///x.sock: start it');
    const status: WatcherStatus = { state: 'degraded', error, attempt: 3, retryIn: 8_000 };
    const lines = frame({ engines: [engine('docker', [], status, NOW - 3_000)], events: [] }, 80, 24);
    expect(lines[1]).to.equal('docker  degraded (retry 3 in 5s): no Docker engine at unix:///x.sock: start it');
    expect(lines).to.include('(no alive containers)');
    const later = renderView({ engines: [engine('docker', [], status, NOW - 30_000)], events: [] }, { width: 80, height: 24, now: NOW });
    expect(later[1]).to.match(/^docker {2}degraded \(retry 3 in 0s\)/);
  });

  it('an engine without containers between two others: its line and "(no alive containers)" under it', () => {
    const lines = frame({ engines: [engine('a', [c(1)]), engine('b', []), engine('c', [c(2)])], events: [] }, 80, 24);
    const body = lines.slice(lines.findIndex((l) => l.startsWith('PROJECT')) + 1).filter((l) => l !== '');
    expect(body.map((l) => l.replace(/ .*/, ''))).to.deep.equal(['──', '(none)', '──', '(no', '──', '(none)']);
    expect(body[2]).to.equal('── b ──');
  });

  it('connecting, syncing and stopped engines say so', () => {
    const lines = frame(
      {
        engines: [
          engine('a', [], { state: 'connecting' }),
          engine('b', [], { state: 'syncing' }),
          engine('c', [], { state: 'stopped', error: new EngineError('cri', 'permission', 'permission denied') }),
        ],
        events: [],
      },
      80,
      24,
    );
    expect(lines[1]).to.match(/^a {2}connecting…/);
    expect(lines[2]).to.match(/^b {2}syncing…/);
    expect(lines[3]).to.equal('c  stopped: permission denied');
  });

  it('5,000 containers on 80x24: the first rows, one "… N more lines" line with the exact count, and the footer', () => {
    const many = Array.from({ length: 5_000 }, (_, i) => c(i, { name: `svc-${String(i).padStart(4, '0')}`, labels: { [PROJECT_LABEL]: `p${i % 7}` } }));
    const events = Array.from({ length: 100 }, (_, i) => event('exited', many[i]!, { exit: { code: i } }));
    const lines = frame({ engines: [engine('docker', many)], events }, 80, 24);
    expect(lines).to.have.length(24);
    const more = lines.find((l) => l.startsWith('… '));
    // 24 = title + engine + header + shown body + "… more" + blank filler + footer title + 5 events
    const shownBody = lines.indexOf(more!) - 3;
    expect(more).to.equal(`… ${5_001 - shownBody} more lines (a taller terminal shows them)`);
    expect(lines.filter((l) => / {2}exited {3}/.test(l))).to.have.length(5);
    expect(lines[lines.length - 1]).to.include('exit 4');
  });

  it('printed once (height Infinity): every row, no footer, no clock', () => {
    const many = Array.from({ length: 2_000 }, (_, i) => c(i));
    const lines = frame({ engines: [engine('docker', many)], events: model.events }, 80, Infinity);
    expect(lines).to.have.length(1 + 1 + 1 + 1 + 2_000);
    expect(lines[0]).to.equal('whalewatcher: 2000 alive on 1 engine');
    expect(lines.some((l) => l.includes('recent events'))).to.equal(false);
  });

  for (const height of [1, 2, 3, 4, 5, 8]) {
    it(`a screen ${height} line(s) high: no more lines, the title first`, () => {
      const lines = frame(model, 80, height);
      expect(lines[0]).to.match(/^whalewatcher: 4 alive/);
    });
  }

  it('compactDuration: the largest whole unit, seconds with minutes when precise', () => {
    const table: readonly (readonly [number, boolean, string])[] = [
      [-5, false, '0s'],
      [999, false, '0s'],
      [45_000, false, '45s'],
      [90_000, false, '1m'],
      [90_000, true, '1m30s'],
      [3_600_000 * 5, true, '5h'],
      [3_600_000 * 47, false, '47h'],
      [3_600_000 * 48, false, '2d'],
    ];
    for (const [ms, precise, text] of table) expect(compactDuration(ms, precise), `${ms}`).to.equal(text);
  });
});

function clockOf(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}
