#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { first, firstValueFrom, map } from 'rxjs';
import type { Watcher } from '../core/watcher.js';
import { parseLabelSelectors } from '../engines/common/label-selector.js';
import { isEngineError } from '../errors.js';
import { type EngineView, eventJson, portfolioJson, portfolioTable } from './format.js';
import { type CliWatchOptions, type EngineChoice, openWatcher } from './engines.js';

const USAGE = `usage: whalewatcher <ps|events> [options]

  ps        print the alive containers, grouped by composer project: PROJECT,
            NAME, ID, IMAGE, PID, STATUS (uptime, health, paused: like docker ps)
  events    stream lifecycle events as JSON lines (current containers first,
            marked "synthetic": true), until interrupted

options:
  --docker URL        Docker or Podman API (unix:///…, tcp://host:port); repeatable.
                      Default when no engine is given: $DOCKER_HOST, else unix:///var/run/docker.sock
  --containerd PATH   containerd socket; repeatable ($CONTAINERD_ADDRESS)
  --cri ENDPOINT      CRI runtime endpoint; repeatable ($CONTAINER_RUNTIME_ENDPOINT)
  --label KEY[=VALUE] only containers with this label (and value); repeatable,
                      all must match
  --json              (ps) machine-readable JSON, every field (ISO dates)
  --no-trunc          (ps) full ids and digests, no cell shortened to fit the
                      terminal (80 columns when not a terminal)
  -h, --help          this help
`;

async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        docker: { type: 'string', multiple: true },
        containerd: { type: 'string', multiple: true },
        cri: { type: 'string', multiple: true },
        label: { type: 'string', multiple: true },
        json: { type: 'boolean', default: false },
        'no-trunc': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    return usageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (values.help || command === undefined) {
    (values.help ? process.stdout : process.stderr).write(USAGE);
    return values.help ? 0 : 2;
  }
  if (command !== 'ps' && command !== 'events') return usageError(`unknown command '${command}'`);
  if (positionals.length > 1) return usageError(`unexpected argument '${positionals[1]!}'`);
  const labels = values.label ?? [];
  try {
    parseLabelSelectors(labels, 'cli'); // the watchers' own rules, checked before any connects
  } catch (e) {
    return usageError(`--label: ${(e as Error).message}`);
  }

  const choices: EngineChoice[] = [
    ...(values.docker ?? []).map((endpoint): EngineChoice => ({ kind: 'docker', endpoint })),
    ...(values.containerd ?? []).map((endpoint): EngineChoice => ({ kind: 'containerd', endpoint })),
    ...(values.cri ?? []).map((endpoint): EngineChoice => ({ kind: 'cri', endpoint })),
  ];
  if (choices.length === 0) choices.push({ kind: 'docker' });
  const labelled = label(choices);

  const watch: CliWatchOptions = labels.length > 0 ? { labels } : {};
  if (command === 'ps') {
    // a terminal's width, else 80 columns; --no-trunc: as wide as it takes
    const width = values['no-trunc'] ? undefined : process.stdout.isTTY ? process.stdout.columns || 80 : 80;
    return ps(labelled, watch, values.json, width);
  }
  return events(labelled, watch);
}

function usageError(message: string): number {
  process.stderr.write(`whalewatcher: ${message}\n\n${USAGE}`);
  return 2;
}

/** Labels engines by kind, numbering duplicates (`docker`, `docker#2`). */
function label(choices: readonly EngineChoice[]): { name: string; choice: EngineChoice }[] {
  const counts = new Map<string, number>();
  return choices.map((choice) => {
    const n = (counts.get(choice.kind) ?? 0) + 1;
    counts.set(choice.kind, n);
    return { name: n === 1 ? choice.kind : `${choice.kind}#${n}`, choice };
  });
}

function explain(name: string, err: unknown): string {
  if (isEngineError(err)) return `whalewatcher: ${name}: ${err.message} [${err.code}]`;
  return `whalewatcher: ${name}: ${err instanceof Error ? err.message : String(err)}`;
}

async function ps(engines: { name: string; choice: EngineChoice }[], watch: CliWatchOptions, json: boolean, width: number | undefined): Promise<number> {
  const watchers = engines.map((e) => ({ ...e, watcher: openWatcher(e.choice, { ...watch, retry: false }) }));
  try {
    const results = await Promise.allSettled(watchers.map(async (w) => {
      await w.watcher.ready;
      const info = await w.watcher.info().catch(() => undefined);
      return { engine: w.name, info, portfolio: w.watcher.portfolio } satisfies EngineView;
    }));
    const views: EngineView[] = [];
    let failed = 0;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') views.push(r.value);
      else {
        failed += 1;
        process.stderr.write(`${explain(watchers[i]!.name, r.reason)}\n`);
      }
    });
    if (views.length > 0) process.stdout.write(json ? `${portfolioJson(views)}\n` : portfolioTable(views, { now: Date.now(), width }));
    return failed > 0 ? 1 : 0;
  } finally {
    await Promise.all(watchers.map((w) => w.watcher.close()));
  }
}

async function events(engines: { name: string; choice: EngineChoice }[], watch: CliWatchOptions): Promise<number> {
  // The first connection must work (a clear error otherwise); after that the
  // watchers reconnect by themselves and the stream goes on.
  const watchers: { name: string; watcher: Watcher }[] = engines.map((e) => ({ name: e.name, watcher: openWatcher(e.choice, watch) }));
  const closeAll = () => Promise.all(watchers.map((w) => w.watcher.close()));
  const firstSync = await Promise.all(
    watchers.map((w) =>
      firstValueFrom(
        w.watcher.status$.pipe(
          first((s) => s.state === 'live' || s.state === 'degraded' || s.state === 'stopped'),
          map((s) => (s.state === 'live' ? undefined : (s.error ?? new Error('stopped')))),
        ),
        { defaultValue: new Error('closed') },
      ),
    ),
  );
  const failures = firstSync.map((err, i) => ({ err, name: watchers[i]!.name })).filter((f) => f.err !== undefined);
  if (failures.length > 0) {
    for (const f of failures) process.stderr.write(`${explain(f.name, f.err)}\n`);
    await closeAll();
    return 1;
  }
  const subs = watchers.map((w) =>
    w.watcher.lifecycle$.subscribe((e) => {
      process.stdout.write(`${eventJson(w.name, e)}\n`);
    }),
  );
  const statusSubs = watchers.map((w) =>
    w.watcher.status$.subscribe((s) => {
      if (s.state === 'degraded') process.stderr.write(`${explain(w.name, s.error)} (retry ${s.attempt} in ${s.retryIn} ms)\n`);
    }),
  );
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    process.stdout.once('error', stop); // e.g. EPIPE when piped into head
  });
  for (const s of [...subs, ...statusSubs]) s.unsubscribe();
  await closeAll();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`whalewatcher: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
