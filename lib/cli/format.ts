import type { EngineInfo } from '../core/engine.js';
import type { LifecycleEvent } from '../core/fold.js';
import type { Container } from '../model/container.js';
import type { Portfolio } from '../model/portfolio.js';
import { humanDuration } from './human-duration.js';

/** @internal One engine's picture as the CLI shows it. */
export interface EngineView {
  /** Label given on the command line or derived from the engine kind (`docker`, `containerd`, `cri`). */
  readonly engine: string;
  readonly info: EngineInfo | undefined;
  readonly portfolio: Portfolio;
}

/** @internal How `ps` lays out its tables. */
export interface TableOptions {
  /** The time uptimes are measured to, in ms since the epoch. */
  readonly now: number;
  /**
   * Widest line wanted: longer cells of IMAGE, PROJECT, NAME and ID are
   * shortened with `…` until the rows fit, none below a floor. Absent:
   * nothing is shortened, ids and digests are shown in full (`--no-trunc`).
   */
  readonly width?: number | undefined;
}

/** Plain JSON form of a container: every field, dates as ISO strings, absent ones left out. */
function containerJson(c: Container): Record<string, unknown> {
  return { ...containerFields(c), labels: { ...c.labels } };
}

/** A container's fields for JSON but its labels, in one order for `ps --json` and `events`. */
function containerFields(c: Container): Record<string, unknown> {
  return { id: c.id, name: c.name, pid: c.pid, project: c.project, paused: c.paused, ...optionalJson(c) };
}

/** The optional fields of a container, those it has. */
function optionalJson(c: Container): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (c.image !== undefined) out.image = c.image;
  if (c.createdAt !== undefined) out.createdAt = c.createdAt.toISOString();
  if (c.startedAt !== undefined) out.startedAt = c.startedAt.toISOString();
  if (c.health !== undefined) out.health = c.health;
  return out;
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

/** The columns of `ps`, in order. */
const HEADER = ['PROJECT', 'NAME', 'ID', 'IMAGE', 'PID', 'STATUS'] as const;
const [PROJECT, NAME, ID, IMAGE] = [0, 1, 2, 3];
/**
 * Columns that may be shortened to fit, in the order they give way on a tie,
 * with the narrowest each may get in each round of shortening (never below the
 * header): first IMAGE and PROJECT give way, as names are what people look
 * for, then IMAGE some more, then the widest of all.
 */
const SHRINKABLE: readonly { readonly column: number; readonly limits: readonly [number, number, number]; readonly keep: 'end' | 'middle' }[] = [
  { column: IMAGE, limits: [20, 12, 8], keep: 'end' }, // `…/busybox:1.36`: the name and tag are at the end
  { column: PROJECT, limits: [12, 12, 7], keep: 'middle' },
  { column: NAME, limits: [Infinity, Infinity, 8], keep: 'middle' },
  { column: ID, limits: [Infinity, Infinity, 12], keep: 'middle' },
];
const GAP = '  ';

/**
 * `ps`'s STATUS of a container, worded like `docker ps`: `Up 3 minutes`,
 * `Up 2 hours (healthy)`, `Up 5 seconds (health: starting)`, `Up 5 seconds
 * (Paused)` (paused wins over health, as in Docker), measured from `startedAt`,
 * else `createdAt`. Without either: `running` or `paused`, with the health.
 *
 * @internal
 */
export function containerStatus(c: Container, now: number): string {
  const since = c.startedAt ?? c.createdAt;
  const health = c.health === undefined ? '' : ` (${c.health === 'starting' ? 'health: starting' : c.health})`;
  if (since === undefined) return c.paused ? 'paused' : `running${health}`;
  const up = `Up ${humanDuration(now - since.getTime())}`;
  return c.paused ? `${up} (Paused)` : `${up}${health}`;
}

/**
 * One row of `ps` before fitting: PROJECT (`(none)` for none), NAME, ID
 * (12 hex digits for 64-hex ids), IMAGE (`-` when the engine does not say;
 * digests shortened to 12 hex digits unless `full`), PID, STATUS.
 *
 * @internal
 */
export function containerRow(c: Container, now: number, full = false): string[] {
  const image = c.image === undefined ? '-' : full ? c.image : shortDigests(c.image);
  return [c.project === '' ? '(none)' : c.project, c.name, full ? c.id : shortId(c.id), image, String(c.pid), containerStatus(c, now)];
}

/** @internal `ps`: a table per engine, grouped by project (unnamed project first, shown as `(none)`). */
export function portfolioTable(views: readonly EngineView[], options: TableOptions): string {
  const lines: string[] = [];
  for (const v of views) {
    const about = v.info ? `${v.info.type} ${v.info.version}${v.info.product && v.info.product !== v.engine ? ` (${v.info.product})` : ''} at ${v.info.api}` : '';
    lines.push(`ENGINE ${v.engine}${about ? ` — ${about}` : ''}: ${v.portfolio.total} alive`);
    const rows: string[][] = [];
    for (const p of v.portfolio.projects) {
      for (const c of [...p.containers].sort(byName)) rows.push(containerRow(c, options.now, options.width === undefined));
    }
    if (rows.length === 0) lines.push('(no alive containers)');
    else lines.push(...tableLines([[...HEADER], ...rows], options.width));
    lines.push('');
  }
  return lines.join('\n');
}

/**
 * Lays out rows (the first is the header) in padded columns, the last column
 * unpadded. With a `width`, shortens columns one character at a time, the
 * widest first, in the rounds of `SHRINKABLE` until the lines fit (or every
 * column is at its floor: then the lines are as long as they must be).
 *
 * @internal
 */
export function tableLines(rows: readonly (readonly string[])[], width?: number): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => length(r[i]!))));
  if (width !== undefined) {
    const header = rows[0]!;
    let over = widths.reduce((a, b) => a + b, 0) + GAP.length * (widths.length - 1) - width;
    for (const round of [0, 1, 2] as const) {
      for (; over > 0; over--) {
        let pick: number | undefined;
        for (const s of SHRINKABLE) {
          const w = widths[s.column]!;
          if (w > Math.max(s.limits[round], length(header[s.column]!)) && (pick === undefined || w > widths[pick]!)) pick = s.column;
        }
        if (pick === undefined) break;
        widths[pick]! -= 1;
      }
    }
  }
  return rows.map((r) =>
    r
      .map((cell, i) => {
        const keep = SHRINKABLE.find((s) => s.column === i)?.keep ?? 'middle';
        const fitted = shorten(cell, widths[i]!, keep);
        return i === r.length - 1 ? fitted : fitted + ' '.repeat(widths[i]! - length(fitted));
      })
      .join(GAP),
  );
}

/** Length in code points (so that `…` and other non-ASCII letters count once). */
function length(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * Shortens `s` to `width` code points with `…`: keeping its end (`'end'`), or
 * its start and end (`'middle'`, one more from the start).
 *
 * @internal
 */
export function shorten(s: string, width: number, keep: 'end' | 'middle'): string {
  const chars = [...s];
  if (chars.length <= width) return s;
  if (width <= 1) return '…'.slice(0, width);
  if (keep === 'end') return `…${chars.slice(chars.length - (width - 1)).join('')}`;
  const head = Math.ceil((width - 1) / 2);
  const tail = width - 1 - head;
  return `${chars.slice(0, head).join('')}…${tail > 0 ? chars.slice(chars.length - tail).join('') : ''}`;
}

/** Shortens Docker-style 64-hex ids to 12 characters, also after a containerd `namespace/`; leaves other ids as they are. */
function shortId(id: string): string {
  const m = /^(.*\/)?([0-9a-f]{64})$/.exec(id);
  return m === null ? id : `${m[1] ?? ''}${m[2]!.slice(0, 12)}`;
}

/** `busybox@sha256:<64 hex>` and bare `sha256:<64 hex>` image ids with 12 hex digits, as `docker ps` shows ids. */
function shortDigests(image: string): string {
  return image.replace(/(^|@)(sha256:)([0-9a-f]{64})$/, (_, at: string, algo: string, hex: string) => `${at}${algo}${hex.slice(0, 12)}`);
}

/** @internal `events`: one JSON line per lifecycle event. */
export function eventJson(engine: string, e: LifecycleEvent): string {
  const c = e.container;
  const line: Record<string, unknown> = {
    engine,
    type: e.type,
    synthetic: e.synthetic,
    time: e.time.toISOString(),
    ...containerFields(c),
  };
  if (e.previousName !== undefined) line.previousName = e.previousName;
  if (e.exit !== undefined) {
    const exit: Record<string, unknown> = {};
    if (e.exit.code !== undefined) exit.code = e.exit.code;
    if (e.exit.time !== undefined && !Number.isNaN(e.exit.time.getTime())) exit.time = e.exit.time.toISOString();
    if (e.exit.oomKilled !== undefined) exit.oomKilled = e.exit.oomKilled;
    if (e.exit.reason !== undefined) exit.reason = e.exit.reason;
    line.exit = exit;
  }
  return JSON.stringify(line);
}
