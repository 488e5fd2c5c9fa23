// `whalewatcher watch`'s screen, as a pure function: the engines' pictures and
// the recent lifecycle events in, the lines of one frame out, for a given
// terminal size and time. No I/O, no clock: lib/cli/watch.ts owns the terminal.

import type { EngineInfo } from '../core/engine.js';
import type { LifecycleEvent, WatcherStatus } from '../core/fold.js';
import type { Container } from '../model/container.js';
import type { Portfolio } from '../model/portfolio.js';
import { containerRow, tableLines } from './format.js';

/** @internal One engine as the live view shows it. */
export interface ViewEngine {
  /** The CLI's label for it (`docker`, `podman`, `docker#2`, …). */
  readonly label: string;
  readonly status: WatcherStatus;
  /** When `status` was seen, in ms since the epoch (to count down a degraded engine's next retry). */
  readonly statusSince: number;
  /** What the engine said about itself, once it answered. */
  readonly info: EngineInfo | undefined;
  readonly portfolio: Portfolio;
}

/** @internal A lifecycle event and the label of the engine it came from. */
export interface ViewEvent {
  readonly engine: string;
  readonly event: LifecycleEvent;
}

/** @internal Everything one frame shows. */
export interface ViewModel {
  readonly engines: readonly ViewEngine[];
  /** Recent lifecycle events, newest first. */
  readonly events: readonly ViewEvent[];
}

/** @internal The size and time of one frame. */
export interface ViewSize {
  /** Columns: no line is longer (in code points). */
  readonly width: number;
  /** Rows: no more lines than this; `Infinity` for a one-shot print (every row, no footer). */
  readonly height: number;
  /** The time uptimes and retry countdowns are measured to, in ms since the epoch. */
  readonly now: number;
}

/** Most footer lines of recent events (fewer on a short screen). */
const MAX_EVENT_LINES = 6;
/** The table's columns: the first four are `ps`'s (the ones {@link tableLines} may shorten). */
const HEADER = ['PROJECT', 'NAME', 'ID', 'IMAGE', 'PID', 'STATE', 'UP'] as const;

/**
 * One frame of the live view: a title line, one status line per engine
 * (`live`, `degraded` with the next retry and the reason, …), the containers in
 * a table grouped by engine (a `── label ──` line) and by project (unnamed
 * project first, `(none)`), with NAME, short ID, IMAGE, PID, STATE (`running`
 * / `paused`, the health when known) and UP; then, when `height` is finite, a
 * footer of the newest lifecycle events. Rows that do not fit the height are
 * left out with one `… N more` line; every line fits the width.
 *
 * @internal
 */
export function renderView(model: ViewModel, size: ViewSize): string[] {
  const width = Math.max(1, Math.floor(size.width));
  const height = size.height === Infinity ? Infinity : Math.max(1, Math.floor(size.height));
  const fit = (line: string) => cut(line, width);

  const total = model.engines.reduce((n, e) => n + e.portfolio.total, 0);
  const engines = model.engines.length === 1 ? '1 engine' : `${model.engines.length} engines`;
  const title = `whalewatcher: ${total} alive on ${engines}`;
  const right = height === Infinity ? '' : `${clock(size.now)}  q quits`;
  const head = [fit(right === '' || title.length + 2 + right.length > width ? title : `${title}${' '.repeat(width - title.length - right.length)}${right}`)];
  const labelWidth = Math.max(0, ...model.engines.map((e) => e.label.length));
  for (const e of model.engines) head.push(fit(engineLine(e, size.now, labelWidth)));
  if (model.engines.length === 0) head.push(fit('no engine found (yet): `whalewatcher engines` shows where it looks'));

  if (height === Infinity) return [...head, ...bodyLines(bodyItems(model.engines).items, size.now, width)];

  // what a short screen keeps: the title, then the table header and at least one row, then events
  const events = model.events.filter(footerEvent);
  let eventLines = Math.min(events.length, MAX_EVENT_LINES, Math.max(0, Math.floor((height - 3) / 4)));
  const heads = head.slice(0, Math.max(1, Math.min(head.length, height - 2 - (eventLines > 0 ? eventLines + 1 : 0))));
  let room = height - heads.length - 1 - (eventLines > 0 ? eventLines + 1 : 0);
  if (room < 1) {
    eventLines = 0;
    room = height - heads.length - 1;
  }
  const out = [...heads];
  if (room >= 1) {
    const { items, total } = bodyItems(model.engines, room);
    if (total <= room) out.push(...bodyLines(items, size.now, width));
    else {
      const more = total - (room - 1);
      out.push(...bodyLines(items.slice(0, room - 1), size.now, width), fit(`… ${more} more line${more === 1 ? '' : 's'} (a taller terminal shows them)`));
    }
  } else if (height - out.length >= 1) out.push(fit(tableLines([[...HEADER]], width)[0]!));
  if (eventLines > 0) {
    out.push(...Array<string>(Math.max(0, height - out.length - eventLines - 1)).fill(''));
    out.push(fit('── recent events ──'));
    for (const e of events.slice(0, eventLines)) out.push(fit(eventLine(e)));
  }
  return out.slice(0, height);
}

/**
 * The events the footer lists: all but the replay of the alive containers to
 * a new subscriber (synthetic starts).
 *
 * @internal
 */
export function footerEvent(e: ViewEvent): boolean {
  return !(e.event.synthetic && e.event.type === 'started');
}

/** One engine's status line: `docker  live  docker 26.1.5 at unix:///…`, or degraded with its retry and reason; labels padded to `labelWidth`. */
function engineLine(e: ViewEngine, now: number, labelWidth: number): string {
  const label = e.label.padEnd(labelWidth);
  const about = e.info === undefined ? '' : `${e.info.product ?? e.info.type} ${e.info.version} at ${e.info.api}`;
  const s = e.status;
  switch (s.state) {
    case 'live':
      return `${label}  live  ${e.portfolio.total} alive${about === '' ? '' : `  ${about}`}`;
    case 'connecting':
    case 'syncing':
      return `${label}  ${s.state}…${about === '' ? '' : `  ${about}`}`;
    case 'degraded': {
      const left = Math.max(0, e.statusSince + s.retryIn - now);
      return `${label}  degraded (retry ${s.attempt} in ${compactDuration(left, true)}): ${oneLine(s.error.message)}`;
    }
    case 'stopped':
      return `${label}  stopped${s.error === undefined ? '' : `: ${oneLine(s.error.message)}`}`;
  }
}

/** A line of the table's body: an engine's separator, its "no containers" line, or a container's row. */
type BodyItem = { readonly label: string } | { readonly none: true } | { readonly container: Container };

/**
 * The body's lines in order, the first `limit` of them: for each engine its
 * `── label ──` line, then its containers by project (unnamed first) and
 * name, or `(no alive containers)`; and how many lines there are in all.
 * Costs what it returns (the sorting is done once per portfolio).
 */
function bodyItems(engines: readonly ViewEngine[], limit = Infinity): { items: BodyItem[]; total: number } {
  const items: BodyItem[] = [];
  let total = 0;
  for (const e of engines) {
    const containers = displayOrder(e.portfolio);
    total += 1 + Math.max(1, containers.length);
    if (items.length >= limit) continue;
    items.push({ label: e.label });
    if (containers.length === 0 && items.length < limit) items.push({ none: true });
    for (let i = 0; i < containers.length && items.length < limit; i++) items.push({ container: containers[i]! });
  }
  return { items, total };
}

/** The containers of each portfolio in display order, sorted once: a frame is drawn many times per portfolio. */
const ORDER = new WeakMap<Portfolio, readonly Container[]>();
function displayOrder(p: Portfolio): readonly Container[] {
  let order = ORDER.get(p);
  if (order === undefined) {
    order = p.projects.flatMap((project) => [...project.containers].sort(byName));
    ORDER.set(p, order);
  }
  return order;
}

/**
 * The table header and the lines of `items`: only these rows are laid out
 * (their widths decide the columns), so a frame costs what it shows, not what
 * the engines hold.
 */
function bodyLines(items: readonly BodyItem[], now: number, width: number): string[] {
  const rows: string[][] = [[...HEADER]];
  for (const item of items) {
    if (!('container' in item)) continue;
    const c = item.container;
    const [project, name, id, image, pid] = containerRow(c, now);
    rows.push([project!, name!, id!, image!, pid!, state(c), uptime(c, now)]);
  }
  const table = tableLines(rows, width);
  let row = 1;
  const out = [cut(table[0]!, width)];
  for (const item of items) {
    out.push(cut('label' in item ? `── ${item.label} ──` : 'none' in item ? '(no alive containers)' : table[row++]!, width));
  }
  return out;
}

const byName = (a: Container, b: Container) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** `running`, `paused`, with the health when known: `running (healthy)`. */
function state(c: Container): string {
  if (c.paused) return 'paused';
  return c.health === undefined ? 'running' : `running (${c.health})`;
}

/** How long the container is up, compactly (`45s`, `12m`, `3h`, `2d`); `-` without a start or creation time. */
function uptime(c: Container, now: number): string {
  const since = c.startedAt ?? c.createdAt;
  return since === undefined ? '-' : compactDuration(now - since.getTime(), false);
}

/**
 * A duration in its largest whole unit: `0s`, `45s`, `12m`, `3h`, `2d`
 * (`precise`: seconds and minutes with one more unit, `1m30s`).
 *
 * @internal
 */
export function compactDuration(ms: number, precise: boolean): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return precise && s % 60 !== 0 ? `${m}m${s % 60}s` : `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

/** A footer line: `12:03:04  docker  exited   demo-job  exit 3`. */
function eventLine(e: ViewEvent): string {
  const ev = e.event;
  const details: string[] = [];
  if (ev.type === 'exited' && ev.exit !== undefined) {
    if (ev.exit.code !== undefined) details.push(`exit ${ev.exit.code}`);
    if (ev.exit.oomKilled === true) details.push('OOM-killed');
    if (ev.exit.reason !== undefined) details.push(ev.exit.reason);
  }
  if (ev.type === 'renamed' && ev.previousName !== undefined) details.push(`was ${ev.previousName}`);
  if (ev.type === 'health' && ev.container.health !== undefined) details.push(ev.container.health);
  if (ev.synthetic) details.push('(seen by a list)');
  const project = ev.container.project === '' ? '' : `${ev.container.project}/`;
  return `${clock(ev.time.getTime())}  ${e.engine}  ${ev.type.padEnd(8)} ${project}${ev.container.name}${details.length > 0 ? `  ${details.join(', ')}` : ''}`;
}

/** `HH:MM:SS` in local time. */
function clock(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** An error message on one line. */
function oneLine(s: string): string {
  return s.replace(/\s*\n\s*/g, ' ');
}

/** `s` cut to `width` code points, its end replaced by `…` when it was longer. */
function cut(s: string, width: number): string {
  const chars = [...s];
  return chars.length <= width ? s : `${chars.slice(0, width - 1).join('')}…`;
}
