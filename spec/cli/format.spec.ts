import { expect } from 'chai';
import type { LifecycleEvent } from '../../lib/core/fold.js';
import { containerRow, containerStatus, eventJson, portfolioJson, portfolioTable, shorten, tableLines } from '../../lib/cli/format.js';
import { type ContainerInit, PROJECT_LABEL, newContainer } from '../../lib/model/container.js';
import { Portfolio } from '../../lib/model/portfolio.js';

const NOW = Date.parse('2026-12-02T12:00:00.000Z');
const ago = (ms: number) => new Date(NOW - ms);
const HEX = '4c0e1b5c3a1f9d8e7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f';
const c = (init: Partial<ContainerInit> = {}) => newContainer({ id: HEX, name: 'web', pid: 4242, ...init });

describe('CLI formatting', () => {
  describe('containerStatus', () => {
    const table: readonly (readonly [string, Partial<ContainerInit>, string])[] = [
      ['running, started 3 minutes ago', { startedAt: ago(3 * 60_000 + 10_000) }, 'Up 3 minutes'],
      ['started just now', { startedAt: ago(400) }, 'Up Less than a second'],
      ['healthy', { startedAt: ago(2 * 3_600_000), health: 'healthy' }, 'Up 2 hours (healthy)'],
      ['unhealthy', { startedAt: ago(61_000), health: 'unhealthy' }, 'Up About a minute (unhealthy)'],
      ['health check starting', { startedAt: ago(5_000), health: 'starting' }, 'Up 5 seconds (health: starting)'],
      ['paused', { startedAt: ago(5_000), paused: true }, 'Up 5 seconds (Paused)'],
      ['paused wins over health, as in Docker', { startedAt: ago(5_000), paused: true, health: 'healthy' }, 'Up 5 seconds (Paused)'],
      ['no start time: measured from creation', { createdAt: ago(3 * 86_400_000) }, 'Up 3 days'],
      ['the start time wins over the creation time', { createdAt: ago(3 * 86_400_000), startedAt: ago(20_000) }, 'Up 20 seconds'],
      ['started by an engine clock ahead of ours', { startedAt: new Date(NOW + 3_000) }, 'Up Less than a second'],
      ['no times: running', {}, 'running'],
      ['no times: paused', { paused: true }, 'paused'],
      ['no times: running with its health', { health: 'healthy' }, 'running (healthy)'],
    ];
    for (const [what, init, status] of table) {
      it(`${what}: '${status}'`, () => {
        expect(containerStatus(c(init), NOW)).to.equal(status);
      });
    }
  });

  describe('containerRow', () => {
    const table: readonly (readonly [string, Partial<ContainerInit>, boolean, readonly string[]])[] = [
      [
        'a Docker container with everything',
        { labels: { [PROJECT_LABEL]: 'shop' }, image: 'busybox:lab', startedAt: ago(120_000) },
        false,
        ['shop', 'web', HEX.slice(0, 12), 'busybox:lab', '4242', 'Up 2 minutes'],
      ],
      ['no project, no image, no times', {}, false, ['(none)', 'web', HEX.slice(0, 12), '-', '4242', 'running']],
      ['a containerd id in a namespace', { id: `k8s.io/${HEX}` }, false, ['(none)', 'web', `k8s.io/${HEX.slice(0, 12)}`, '-', '4242', 'running']],
      ['an id that is not hex stays', { id: 'default/my-ctr' }, false, ['(none)', 'web', 'default/my-ctr', '-', '4242', 'running']],
      ['an image by digest', { image: `busybox@sha256:${HEX}` }, false, ['(none)', 'web', HEX.slice(0, 12), `busybox@sha256:${HEX.slice(0, 12)}`, '4242', 'running']],
      ['an image by id', { image: `sha256:${HEX}` }, false, ['(none)', 'web', HEX.slice(0, 12), `sha256:${HEX.slice(0, 12)}`, '4242', 'running']],
      ['full: ids and digests as they are', { image: `busybox@sha256:${HEX}` }, true, ['(none)', 'web', HEX, `busybox@sha256:${HEX}`, '4242', 'running']],
    ];
    for (const [what, init, full, row] of table) {
      it(what, () => {
        expect(containerRow(c(init), NOW, full)).to.deep.equal(row);
      });
    }
  });

  describe('shorten', () => {
    const table: readonly (readonly [string, number, 'end' | 'middle', string])[] = [
      ['busybox:lab', 11, 'end', 'busybox:lab'],
      ['registry.example/team/busybox:1.36', 14, 'end', '…/busybox:1.36'],
      ['shop-frontend-worker-1', 10, 'middle', 'shop-…er-1'],
      ['shop-frontend-worker-1', 9, 'middle', 'shop…er-1'],
      ['ab', 1, 'middle', '…'],
      ['ab', 0, 'end', ''],
      ['żółć-gęślą-jaźń', 9, 'middle', 'żółć…jaźń'], // code points, not UTF-16 units
    ];
    for (const [s, width, keep, out] of table) {
      it(`'${s}' in ${width} keeping the ${keep}: '${out}'`, () => {
        expect(shorten(s, width, keep)).to.equal(out);
        expect([...shorten(s, width, keep)].length).to.be.at.most(Math.max(width, 0));
      });
    }
  });

  describe('tableLines', () => {
    const header = ['PROJECT', 'NAME', 'ID', 'IMAGE', 'PID', 'STATUS'];
    const long = ['a-rather-long-project', 'a-rather-long-project-frontend-worker-1', '4c0e1b5c3a1f', 'registry.example/team/frontend-worker:2024.11.3', '1234567', 'Up 2 hours (healthy)'];
    const short = ['shop', 'shop-db-1', '9a7d2f0e6b11', 'postgres:16', '81502', 'Up 3 minutes (Paused)'];

    it('pads every column but the last, two spaces apart, nothing shortened without a width', () => {
      const lines = tableLines([header, short]);
      expect(lines).to.deep.equal([
        'PROJECT  NAME       ID            IMAGE        PID    STATUS',
        'shop     shop-db-1  9a7d2f0e6b11  postgres:16  81502  Up 3 minutes (Paused)',
      ]);
      expect(tableLines([header, long]).join('\n')).to.include(long.join('  '));
    });

    const cellsOf = (line: string) => line.split(/ {2,}/);
    const keptEnd = (cell: string, full: string) => cell.startsWith('…') && full.endsWith(cell.slice(1));
    const keptBoth = (cell: string, full: string) => {
      const [head, tail] = cell.split('…') as [string, string];
      return full.startsWith(head) && full.endsWith(tail) && head.length >= tail.length && tail.length > 0;
    };

    it('fits 80 columns by shortening IMAGE (keeping its end) before a name, and never PID, STATUS or a 12-digit ID', () => {
      const mid = ['shop', 'shop-frontend-1', '9a7d2f0e6b11', 'docker.io/library/nginx:1.27', '81502', 'Up 3 minutes'];
      const other = ['shop', 'shop-db-1', '9a7d2f0e6b11', 'postgres:16', '81502', 'Up 2 days (healthy)'];
      expect(tableLines([header, mid, other], 80)).to.deep.equal([
        'PROJECT  NAME             ID            IMAGE         PID    STATUS',
        'shop     shop-frontend-1  9a7d2f0e6b11  …/nginx:1.27  81502  Up 3 minutes',
        'shop     shop-db-1        9a7d2f0e6b11  postgres:16   81502  Up 2 days (healthy)',
      ]);
      // with less room, the name gives way too, keeping its start and end
      const narrow = tableLines([header, mid, other], 70);
      for (const l of narrow) expect([...l].length, l).to.be.at.most(70);
      const cells = cellsOf(narrow[1]!);
      expect(keptEnd(cells[3]!, mid[3]!) && keptBoth(cells[1]!, mid[1]!), narrow[1]).to.equal(true);
    });

    it('when IMAGE and PROJECT are short enough, shortens the widest column, names keeping start and end', () => {
      const lines = tableLines([header, long, short], 80);
      for (const l of lines) expect([...l].length, l).to.be.at.most(80);
      const cells = cellsOf(lines[1]!);
      expect(cells).to.have.length(6);
      expect(cells.slice(4)).to.deep.equal(long.slice(4));
      expect(cells[2]).to.equal(long[2]);
      expect(keptEnd(cells[3]!, long[3]!), cells[3]).to.equal(true);
      expect(keptBoth(cells[1]!, long[1]!), cells[1]).to.equal(true);
      expect(keptBoth(cells[0]!, long[0]!), cells[0]).to.equal(true);
      // columns stay aligned under the header
      for (const col of header) expect(lines[2]!.slice(lines[0]!.indexOf(col))).to.not.match(/^ /);
    });

    it('stops at each column\'s floor (its header at least) and then lets the lines be longer', () => {
      const lines = tableLines([header, long], 20);
      expect(cellsOf(lines[1]!).map((x) => [...x].length)).to.deep.equal([7, 8, 12, 8, 7, 20]);
      expect(cellsOf(lines[0]!)).to.deep.equal(header);
    });

    it('leaves lines that fit as they are', () => {
      expect(tableLines([header, short], 200)).to.deep.equal(tableLines([header, short]));
    });
  });

  describe('portfolioTable', () => {
    it('prints a table per engine, grouped by project, unnamed project first, names sorted', () => {
      const portfolio = Portfolio.of([
        c({ id: 'b'.repeat(64), name: 'shop-web-1', labels: { [PROJECT_LABEL]: 'shop' }, image: 'nginx:1.27', startedAt: ago(3_600_000) }),
        c({ id: 'a'.repeat(64), name: 'busy', image: 'busybox:lab', startedAt: ago(10_000) }),
        c({ id: 'c'.repeat(64), name: 'shop-db-1', labels: { [PROJECT_LABEL]: 'shop' }, paused: true }),
      ]);
      const out = portfolioTable(
        [
          { engine: 'docker', info: { id: 'x', type: 'docker.com', version: '26.1.5', api: 'unix:///var/run/docker.sock' }, portfolio },
          { engine: 'cri', info: undefined, portfolio: Portfolio.EMPTY },
        ],
        { now: NOW, width: 80 },
      );
      expect(out.split('\n')).to.deep.equal([
        'ENGINE docker — docker.com 26.1.5 at unix:///var/run/docker.sock: 3 alive',
        'PROJECT  NAME        ID            IMAGE        PID   STATUS',
        `(none)   busy        ${'a'.repeat(12)}  busybox:lab  4242  Up 10 seconds`,
        `shop     shop-db-1   ${'c'.repeat(12)}  -            4242  paused`,
        `shop     shop-web-1  ${'b'.repeat(12)}  nginx:1.27   4242  Up About an hour`,
        '',
        'ENGINE cri: 0 alive',
        '(no alive containers)',
        '',
      ]);
    });
  });

  describe('portfolioJson', () => {
    it('carries every field of a container, dates as ISO strings, and leaves out what the engine did not say', () => {
      const full = c({ name: 'a', image: 'busybox:lab', createdAt: ago(60_000), startedAt: ago(30_000), health: 'healthy', labels: { k: 'v' } });
      const bare = c({ id: 'd'.repeat(64), name: 'b', paused: true });
      const parsed = JSON.parse(portfolioJson([{ engine: 'docker', info: undefined, portfolio: Portfolio.of([full, bare]) }])) as {
        engines: { engine: string; total: number; projects: { name: string; containers: Record<string, unknown>[] }[] }[];
      };
      expect(parsed.engines[0]!.total).to.equal(2);
      expect(parsed.engines[0]!.projects[0]!.containers).to.deep.equal([
        {
          id: HEX,
          name: 'a',
          pid: 4242,
          project: '',
          paused: false,
          image: 'busybox:lab',
          createdAt: '2026-12-02T11:59:00.000Z',
          startedAt: '2026-12-02T11:59:30.000Z',
          health: 'healthy',
          labels: { k: 'v' },
        },
        { id: 'd'.repeat(64), name: 'b', pid: 4242, project: '', paused: true, labels: {} },
      ]);
    });
  });

  describe('eventJson', () => {
    const ev = (e: Partial<LifecycleEvent> & Pick<LifecycleEvent, 'type'>): LifecycleEvent => ({ container: c(), time: new Date(NOW), synthetic: false, ...e });
    const base = { engine: 'docker', synthetic: false, time: '2026-12-02T12:00:00.000Z', id: HEX, name: 'web', pid: 4242, project: '', paused: false };
    const table: readonly (readonly [string, LifecycleEvent, Record<string, unknown>])[] = [
      ['a start, synthetic', ev({ type: 'started', synthetic: true }), { ...base, type: 'started', synthetic: true }],
      [
        'a start with image and times',
        ev({ type: 'started', container: c({ image: 'busybox:lab', createdAt: ago(2_000), startedAt: ago(1_000) }) }),
        { ...base, type: 'started', image: 'busybox:lab', createdAt: '2026-12-02T11:59:58.000Z', startedAt: '2026-12-02T11:59:59.000Z' },
      ],
      [
        'an exit with every detail',
        ev({ type: 'exited', exit: { code: 137, time: new Date(NOW - 500), oomKilled: true, reason: 'OOMKilled' } }),
        { ...base, type: 'exited', exit: { code: 137, time: '2026-12-02T11:59:59.500Z', oomKilled: true, reason: 'OOMKilled' } },
      ],
      ['an exit with only a code', ev({ type: 'exited', exit: { code: 0 } }), { ...base, type: 'exited', exit: { code: 0 } }],
      ['an inferred exit, no details', ev({ type: 'exited', synthetic: true }), { ...base, type: 'exited', synthetic: true }],
      ['a rename', ev({ type: 'renamed', previousName: 'old' }), { ...base, type: 'renamed', previousName: 'old' }],
      ['a health change', ev({ type: 'health', container: c({ health: 'unhealthy' }) }), { ...base, type: 'health', health: 'unhealthy' }],
      ['a pause', ev({ type: 'paused', container: c({ paused: true }) }), { ...base, type: 'paused', paused: true }],
    ];
    for (const [what, e, json] of table) {
      it(what, () => {
        const line = eventJson('docker', e);
        expect(line).to.not.include('\n');
        expect(JSON.parse(line)).to.deep.equal(json);
      });
    }
  });
});
