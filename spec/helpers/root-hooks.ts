/**
 * Mocha root hook plugin (loaded by scripts/test.mjs): fails the run, naming what leaked, when the suite
 * leaves more active resources (sockets, timers, child processes, …) than there were when it began.
 * Without it a leaked handle would keep node alive after mocha ends (the runner uses no `--exit`).
 */
import { setTimeout as sleep } from 'node:timers/promises';

type Counts = Map<string, number>;

const SETTLE_MS = 50;
const POLL_MS = 100;
const MAX_WAIT_MS = 2_000;

function activeResources(): Counts {
  const counts: Counts = new Map();
  for (const type of process.getActiveResourcesInfo()) {
    counts.set(type, (counts.get(type) ?? 0) + 1);
  }
  return counts;
}

/** Resources beyond the baseline, by type. */
function extra(baseline: Counts, now: Counts): Counts {
  const more: Counts = new Map();
  for (const [type, count] of now) {
    const diff = count - (baseline.get(type) ?? 0);
    if (diff > 0) {
      more.set(type, diff);
    }
  }
  return more;
}

function describe(counts: Counts): string {
  return [...counts].map(([type, count]) => `${count} × ${type}`).join(', ');
}

/** Best-effort detail about leaked sockets and child processes (node internals, may be absent). */
function handleDetails(): string[] {
  const getHandles = (process as unknown as { _getActiveHandles?: () => unknown[] })._getActiveHandles;
  if (typeof getHandles !== 'function') {
    return [];
  }
  const details: string[] = [];
  for (const handle of getHandles.call(process)) {
    const h = handle as {
      constructor?: { name?: string };
      remoteAddress?: string;
      remotePort?: number;
      _pipeName?: string;
      spawnargs?: string[];
      pid?: number;
      fd?: number;
      address?: () => unknown;
    };
    if (h.fd === 0 || h.fd === 1 || h.fd === 2) {
      continue; // stdio
    }
    const name = h.constructor?.name ?? typeof handle;
    if (h.spawnargs) {
      details.push(`${name} pid ${h.pid ?? '?'}: ${h.spawnargs.join(' ')}`);
    } else if (h._pipeName || h.remoteAddress) {
      details.push(`${name} ${h._pipeName ?? `${h.remoteAddress}:${h.remotePort ?? ''}`}`);
    } else if (name === 'Server' && typeof h.address === 'function') {
      details.push(`${name} listening on ${JSON.stringify(h.address())}`);
    }
  }
  return details;
}

let baseline: Counts = new Map();

export const mochaHooks = {
  // Both hooks are async and sample after the same settle, so mocha's own timeout timer for the running
  // hook (armed for promise-returning hooks) is in the baseline as well as in the final count.
  async beforeAll(): Promise<void> {
    await sleep(SETTLE_MS);
    baseline = activeResources();
  },

  async afterAll(): Promise<void> {
    await sleep(SETTLE_MS);
    let more = extra(baseline, activeResources());
    for (let waited = SETTLE_MS; more.size > 0 && waited < MAX_WAIT_MS; waited += POLL_MS) {
      await sleep(POLL_MS);
      more = extra(baseline, activeResources());
    }
    if (more.size > 0) {
      const details = handleDetails();
      throw new Error(
        `resources left active after the suite (beyond the ${describe(baseline) || 'empty'} at its start): ` +
          `${describe(more)}. Something was not closed, unsubscribed or cleared; node would not exit.` +
          (details.length > 0 ? `\n  ${details.join('\n  ')}` : ''),
      );
    }
  },
};
