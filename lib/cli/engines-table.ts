// `whalewatcher engines`: what discoverEngines() found, as a table or JSON. Pure.

import type { Discovery } from '../discovery/discover-engines.js';
import type { DiscoveryRoute } from '../discovery/discovery-merge.js';
import { tableLines } from './format.js';

/** A route in a few words: `env DOCKER_HOST`, `well-known /run/docker.sock`, `process dockerd[812] /run/docker.sock`. */
function route(r: DiscoveryRoute): string {
  switch (r.by) {
    case 'env':
      return `env ${r.variable}`;
    case 'well-known':
      return `well-known ${r.path}`;
    case 'process':
      return `process ${r.process}[${r.pid}] ${r.path}`;
  }
}

/**
 * `engines`: one row per engine found (TYPE, PRODUCT, VERSION, ENDPOINT, PID,
 * ROUTES), then the sockets that did not answer and the places that could not
 * be read, each with the reason. Nothing is shortened: an endpoint cut short
 * is of no use.
 *
 * @internal
 */
export function discoveryTable(d: Discovery): string {
  const lines: string[] = [];
  if (d.engines.length === 0) lines.push('no engine found');
  else {
    const rows = d.engines.map((e) => [e.type, e.product ?? '-', e.version, e.endpoint, e.pid === undefined ? '-' : String(e.pid), e.routes.map(route).join('; ')]);
    lines.push(...tableLines([['TYPE', 'PRODUCT', 'VERSION', 'ENDPOINT', 'PID', 'ROUTES'], ...rows]));
  }
  if (d.unanswered.length > 0) {
    lines.push('', 'did not answer:');
    for (const u of d.unanswered) lines.push(`  ${u.endpoint} (${u.routes.map(route).join('; ')}): ${u.reason.replace(/\s*\n\s*/g, ' ')}`);
  }
  if (d.unreadable.length > 0) {
    lines.push('', `could not read (${d.unreadable.length}; run as root to see every engine):`);
    for (const u of d.unreadable) lines.push(`  ${u.path}: ${u.reason}`);
  }
  return `${lines.join('\n')}\n`;
}

/** @internal `engines --json`: the discovery result as it is. */
export function discoveryJson(d: Discovery): string {
  return JSON.stringify({ engines: d.engines, unanswered: d.unanswered, unreadable: d.unreadable }, null, 2);
}
