import type { EngineInfo } from '../core/engine.js';
import type { LifecycleEvent } from '../core/fold.js';
import type { Container } from '../model/container.js';
import type { Portfolio } from '../model/portfolio.js';

/** @internal One engine's picture as the CLI shows it. */
export interface EngineView {
  /** Label given on the command line or derived from the engine kind (`docker`, `containerd`, `cri`). */
  readonly engine: string;
  readonly info: EngineInfo | undefined;
  readonly portfolio: Portfolio;
}

/** Plain JSON form of a container. */
function containerJson(c: Container): Record<string, unknown> {
  return { id: c.id, name: c.name, pid: c.pid, project: c.project, paused: c.paused, labels: { ...c.labels } };
}

/** @internal `ps --json`: every engine with its projects and containers. */
export function portfolioJson(views: readonly EngineView[]): string {
  return JSON.stringify(
    {
      engines: views.map((v) => ({
        engine: v.engine,
        ...(v.info ? { type: v.info.type, id: v.info.id, version: v.info.version, api: v.info.api } : {}),
        total: v.portfolio.total,
        projects: v.portfolio.projects.map((p) => ({
          name: p.name,
          containers: [...p.containers].sort(byName).map(containerJson),
        })),
      })),
    },
    null,
    2,
  );
}

const byName = (a: Container, b: Container) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** @internal `ps`: a table per engine, grouped by project (unnamed project first, shown as `(none)`). */
export function portfolioTable(views: readonly EngineView[]): string {
  const lines: string[] = [];
  for (const v of views) {
    const about = v.info ? `${v.info.type} ${v.info.version}${v.info.product && v.info.product !== v.engine ? ` (${v.info.product})` : ''} at ${v.info.api}` : '';
    lines.push(`ENGINE ${v.engine}${about ? ` — ${about}` : ''}: ${v.portfolio.total} alive`);
    const rows: string[][] = [['PROJECT', 'NAME', 'ID', 'PID', 'STATE']];
    for (const p of v.portfolio.projects) {
      for (const c of [...p.containers].sort(byName)) {
        rows.push([p.name === '' ? '(none)' : p.name, c.name, shortId(c.id), String(c.pid), c.paused ? 'paused' : 'running']);
      }
    }
    if (rows.length === 1) {
      lines.push('  (no alive containers)');
    } else {
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      for (const r of rows) lines.push(`  ${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}`);
    }
    lines.push('');
  }
  return lines.join('\n');
}

/** Shortens Docker-style 64-hex ids to 12 characters; leaves other ids (containerd `ns/id`, CRI) as they are. */
function shortId(id: string): string {
  return /^[0-9a-f]{64}$/.test(id) ? id.slice(0, 12) : id;
}

/** @internal `events`: one JSON line per lifecycle event. */
export function eventJson(engine: string, e: LifecycleEvent): string {
  return JSON.stringify({
    engine,
    type: e.type,
    synthetic: e.synthetic,
    time: e.time.toISOString(),
    id: e.container.id,
    name: e.container.name,
    pid: e.container.pid,
    project: e.container.project,
    paused: e.container.paused,
  });
}
