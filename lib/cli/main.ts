#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { type Subscription, asyncScheduler, first, firstValueFrom, map } from 'rxjs';
import type { Watcher } from '../core/watcher.js';
import { discoverEngines } from '../discovery/discover-engines.js';
import { parseLabelSelectors } from '../engines/common/label-selector.js';
import { isEngineError } from '../errors.js';
import { type EngineView, eventJson, portfolioJson, portfolioTable } from './format.js';
import { watchHost } from '../host/watch-host.js';
import type { HostWatcher } from '../host/host-watcher.js';
import { type CliWatchOptions, ENGINE_VARIABLES, type EngineChoice, defaultEngines, openWatcher } from './engines.js';
import { hostSource } from './host-source.js';
import { discoveryJson, discoveryTable } from './engines-table.js';
import { type ViewEngine, renderView } from './live-view.js';
import { EXIT, type Shutdown, installShutdown } from './shutdown.js';
import { watcherSource } from './view-frames.js';
import { liveView } from './watch.js';

type Command = 'ps' | 'events' | 'watch' | 'engines';
const COMMANDS: readonly Command[] = ['ps', 'events', 'watch', 'engines'];

const ENGINE_OPTIONS = `engines (repeatable; several at once are watched together):
  --docker URL        Docker or Podman API (unix:///…, tcp://host:port)
  --containerd PATH   containerd socket
  --cri ENDPOINT      CRI runtime endpoint
  None given: the engines $DOCKER_HOST, $CONTAINERD_ADDRESS and
  $CONTAINER_RUNTIME_ENDPOINT name; none set: every engine found (see
  \`whalewatcher engines\`), else unix:///var/run/docker.sock

filter:
  --label KEY[=VALUE] only containers with this label (and value); repeatable,
                      all must match`;

const EXIT_STATUS = `exit status:
  0    ok; also when the output's reader went away (a closed pipe: … | head)
  1    no engine answered, or an engine failed (the reason and what to do:
       on stderr)
  2    usage error (the usage on stderr)
  130  interrupted by SIGINT (Ctrl-C), 143 by SIGTERM: the watchers were closed
       first; a second signal ends at once`;

const USAGE = {
  general: `usage: whalewatcher <ps|events|watch|engines> [options]
       whalewatcher <command> --help

  ps        print the alive containers, grouped by composer project
  events    stream lifecycle events as JSON lines, until interrupted
  watch     a live view of the containers in the terminal, until q
  engines   the engines found on this host, and how they were found

${ENGINE_OPTIONS}

  -h, --help          this help (with a command: that command's help)

${EXIT_STATUS}
`,
  ps: `usage: whalewatcher ps [--json] [--no-trunc] [engines] [--label KEY[=VALUE]]…

Prints the alive containers once, grouped by composer project: PROJECT, NAME,
ID, IMAGE, PID, STATUS (uptime, health, paused: like docker ps), one table per
engine.

  --json              machine-readable JSON, every field (ISO dates)
  --no-trunc          full ids and digests, no cell shortened to fit the
                      terminal (80 columns when not a terminal)

${ENGINE_OPTIONS}

  -h, --help          this help

${EXIT_STATUS}
`,
  events: `usage: whalewatcher events [engines] [--label KEY[=VALUE]]…

Streams lifecycle events as JSON lines: the current containers first (marked
"synthetic": true), then every start, pause, unpause, rename and exit as it
happens, until interrupted. Losing an engine after the first connection is
reported on stderr and the watcher reconnects by itself.

${ENGINE_OPTIONS}

  -h, --help          this help

${EXIT_STATUS}
`,
  watch: `usage: whalewatcher watch [engines] [--label KEY[=VALUE]]…

A full-screen live view, redrawn in place: each engine's status (live, or
degraded with the reason and the next retry), the alive containers grouped
by engine and project (NAME, ID, IMAGE, PID, STATE, UP), and the recent
lifecycle events with exit codes. Follows resizes; q or Ctrl-C quits and
restores the terminal. Not on a terminal: prints the view once and exits.

${ENGINE_OPTIONS}

  -h, --help          this help

${EXIT_STATUS}
`,
  engines: `usage: whalewatcher engines [--json]

Finds the container engines on this host and prints them: TYPE, PRODUCT,
VERSION, ENDPOINT, PID, and the ROUTES that led there (env: an environment
variable, well-known: a well-known socket, process: the /proc scan); then
what could not be read (without root: other users' processes and sockets)
and the sockets that did not answer.

  --json              machine-readable JSON
  -h, --help          this help

exit status:
  0    ok, also when nothing was found
  1    the output could not be written (the reason on stderr)
  2    usage error (the usage on stderr)
  130  interrupted by SIGINT (Ctrl-C), 143 by SIGTERM
`,
} as const;

async function main(argv: readonly string[], io: Shutdown): Promise<number> {
  const named = argv.find((a): a is Command => (COMMANDS as readonly string[]).includes(a));
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
        json: { type: 'boolean' },
        'no-trunc': { type: 'boolean' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (e) {
    // parseArgs' own advice about '--' is noise here: the options are listed below
    return usageError(io, (e as Error).message.replace(/\. To specify a positional argument.*$/s, ''), named);
  }
  const { values, positionals } = parsed;
  const command = positionals[0];
  if (command === undefined) {
    if (values.help) {
      io.out(USAGE.general);
      return EXIT.ok;
    }
    return usageError(io, 'no command given', undefined);
  }
  if (!(COMMANDS as readonly string[]).includes(command)) return usageError(io, `unknown command '${command}'`, undefined);
  const cmd = command as Command;
  if (values.help) {
    io.out(USAGE[cmd]);
    return EXIT.ok;
  }
  if (positionals.length > 1) return usageError(io, `unexpected argument '${positionals[1]!}'`, cmd);
  const own: Record<Command, readonly string[]> = { ps: ['json', 'no-trunc'], events: [], watch: [], engines: ['json'] };
  for (const option of ['json', 'no-trunc', 'docker', 'containerd', 'cri', 'label'] as const) {
    const isEngineOption = option !== 'json' && option !== 'no-trunc';
    if (values[option] === undefined || own[cmd].includes(option) || (isEngineOption && cmd !== 'engines')) continue;
    const owners = isEngineOption ? COMMANDS.filter((c) => c !== 'engines') : COMMANDS.filter((c) => own[c].includes(option));
    return usageError(io, `--${option} is an option of ${owners.join(', ').replace(/, ([^,]*)$/, ' and $1')}, not of ${cmd}`, cmd);
  }
  if (cmd === 'engines') return engines(io, values.json === true);
  const labels = values.label ?? [];
  try {
    parseLabelSelectors(labels, 'cli'); // the watchers' own rules, checked before any connects
  } catch (e) {
    return usageError(io, `--label: ${(e as Error).message}`, cmd);
  }

  const choices: EngineChoice[] = [
    ...(values.docker ?? []).map((endpoint): EngineChoice => ({ kind: 'docker', endpoint })),
    ...(values.containerd ?? []).map((endpoint): EngineChoice => ({ kind: 'containerd', endpoint })),
    ...(values.cri ?? []).map((endpoint): EngineChoice => ({ kind: 'cri', endpoint })),
  ];
  const watch: CliWatchOptions = labels.length > 0 ? { labels } : {};
  const onTerminal = process.stdout.isTTY === true && process.stdin.isTTY === true;
  const envNamed = Object.values(ENGINE_VARIABLES).some((v) => (process.env[v] ?? '') !== '');
  if (choices.length === 0 && !envNamed) {
    // the whole host through watchHost(): discovery, one watcher per engine; engines found later join the live view
    const host = watchHost({ ...watch, discovery: { timeout: 1_000 } });
    try {
      const width = values['no-trunc'] === true ? undefined : process.stdout.isTTY ? process.stdout.columns || 80 : 80;
      if (cmd === 'watch' && onTerminal) return await liveView(io, hostSource(host, asyncScheduler), { stdout: process.stdout, stdin: process.stdin }, asyncScheduler);
      const ready = await unlessStopped(io, host.ready);
      if ('stopped' in ready) return ready.stopped;
      if (host.engines.length > 0) {
        if (cmd === 'events') return await hostEvents(io, host);
        return await hostOnce(io, host, cmd === 'watch' ? 'view' : values.json === true ? 'json' : 'table', cmd === 'watch' ? 80 : width);
      }
    } finally {
      await host.close();
    }
    io.err('whalewatcher: no engine named and none found (`whalewatcher engines` shows where it looked); trying the Docker default\n');
  }
  if (choices.length === 0) choices.push(...defaultEngines(process.env));
  const labelled = label(choices);
  if (cmd === 'ps') {
    // a terminal's width, else 80 columns; --no-trunc: as wide as it takes
    const width = values['no-trunc'] === true ? undefined : process.stdout.isTTY ? process.stdout.columns || 80 : 80;
    return ps(io, labelled, watch, values.json === true, width);
  }
  if (cmd === 'watch') {
    if (onTerminal) return live(io, labelled, watch);
    return ps(io, labelled, watch, false, undefined, true);
  }
  return events(io, labelled, watch);
}

function usageError(io: Shutdown, message: string, command: Command | undefined): number {
  io.err(`whalewatcher: ${message}\n\n${USAGE[command ?? 'general']}`);
  return EXIT.usage;
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
  // An EngineError's message already says what happened and what to do; no stack for engine trouble.
  if (isEngineError(err)) return `whalewatcher: ${name}: ${err.message} [${err.code}]`;
  return `whalewatcher: ${name}: ${err instanceof Error ? err.message : String(err)}`;
}

/** `work`, unless a signal or a closed stdout comes first: then that status. */
async function unlessStopped<T>(io: Shutdown, work: Promise<T>): Promise<{ done: T } | { stopped: number }> {
  return Promise.race([work.then((done) => ({ done })), io.requested.then((stopped) => ({ stopped }))]);
}

/**
 * `ps`, and `watch` when not on a terminal (`view`: the live view's table,
 * printed once at 80 columns).
 */
async function ps(io: Shutdown, engines: { name: string; choice: EngineChoice }[], watch: CliWatchOptions, json: boolean, width: number | undefined, view = false): Promise<number> {
  const watchers = engines.map((e) => ({ ...e, watcher: io.track(openWatcher(e.choice, { ...watch, retry: false })) }));
  try {
    const settled = await unlessStopped(
      io,
      Promise.allSettled(
        watchers.map(async (w) => {
          await w.watcher.ready;
          const info = await w.watcher.info().catch(() => undefined);
          return { engine: w.name, info, portfolio: w.watcher.portfolio } satisfies EngineView;
        }),
      ),
    );
    if ('stopped' in settled) return settled.stopped;
    const views: EngineView[] = [];
    let failed = 0;
    settled.done.forEach((r, i) => {
      if (r.status === 'fulfilled') views.push(r.value);
      else {
        failed += 1;
        io.err(`${explain(watchers[i]!.name, r.reason)}\n`);
      }
    });
    if (views.length > 0 && view) {
      const now = Date.now();
      const model = { engines: views.map((v) => ({ label: v.engine, status: { state: 'live' } as const, statusSince: now, info: v.info, portfolio: v.portfolio })), events: [] };
      io.out(`${renderView(model, { width: 80, height: Infinity, now }).join('\n')}\n`);
    } else if (views.length > 0) io.out(json ? `${portfolioJson(views)}\n` : portfolioTable(views, { now: Date.now(), width }));
    return failed > 0 ? EXIT.failure : EXIT.ok;
  } finally {
    await io.closeAll();
  }
}

async function events(io: Shutdown, engines: { name: string; choice: EngineChoice }[], watch: CliWatchOptions): Promise<number> {
  // The first connection must work (a clear error otherwise); after that the
  // watchers reconnect by themselves and the stream goes on.
  const watchers: { name: string; watcher: Watcher }[] = engines.map((e) => ({ name: e.name, watcher: io.track(openWatcher(e.choice, watch)) }));
  const subs: Subscription[] = [];
  try {
    const firstSync = await unlessStopped(
      io,
      Promise.all(
        watchers.map((w) =>
          firstValueFrom(
            w.watcher.status$.pipe(
              first((s) => s.state === 'live' || s.state === 'degraded' || s.state === 'stopped'),
              map((s) => (s.state === 'live' ? undefined : (s.error ?? new Error('stopped')))),
            ),
            { defaultValue: new Error('closed') },
          ),
        ),
      ),
    );
    if ('stopped' in firstSync) return firstSync.stopped;
    const failures = firstSync.done.map((err, i) => ({ err, name: watchers[i]!.name })).filter((f) => f.err !== undefined);
    if (failures.length > 0) {
      for (const f of failures) io.err(`${explain(f.name, f.err)}\n`);
      return EXIT.failure;
    }
    for (const w of watchers) {
      subs.push(w.watcher.lifecycle$.subscribe((e) => io.out(`${eventJson(w.name, e)}\n`)));
      subs.push(
        w.watcher.status$.subscribe((s) => {
          if (s.state === 'degraded') io.err(`${explain(w.name, s.error)} (retry ${s.attempt} in ${s.retryIn} ms)\n`);
        }),
      );
    }
    return await io.requested; // SIGINT, SIGTERM, or the reader gone (EPIPE at the next write)
  } finally {
    for (const s of subs) s.unsubscribe();
    await io.closeAll();
  }
}

/** `watch` on a terminal: the live view until q, Ctrl-C or a signal; engines that fail show as degraded and are retried. */
async function live(io: Shutdown, engines: { name: string; choice: EngineChoice }[], watch: CliWatchOptions): Promise<number> {
  const watchers = engines.map((e) => ({ label: e.name, watcher: io.track(openWatcher(e.choice, watch)) }));
  try {
    return await liveView(io, watcherSource(watchers, asyncScheduler), { stdout: process.stdout, stdin: process.stdin }, asyncScheduler);
  } finally {
    await io.closeAll();
  }
}

/**
 * `ps` and `watch` (not on a terminal) over a host view that is ready: the
 * engines that synchronised, each labelled; those that failed on stderr.
 */
async function hostOnce(io: Shutdown, host: HostWatcher, form: 'table' | 'json' | 'view', width: number | undefined): Promise<number> {
  const engines = await firstValueFrom(hostSource(host, asyncScheduler).engines$);
  const views: EngineView[] = [];
  const shown: ViewEngine[] = [];
  let failed = 0;
  for (const e of engines) {
    if (e.status.state === 'degraded' || e.status.state === 'stopped') {
      failed += 1;
      io.err(`${explain(e.label, e.status.error ?? new Error('stopped'))}\n`);
    } else {
      views.push({ engine: e.label, info: e.info, portfolio: e.portfolio });
      shown.push(e);
    }
  }
  const now = Date.now();
  if (form === 'view') io.out(`${renderView({ engines: shown, events: [] }, { width: width ?? 80, height: Infinity, now }).join('\n')}\n`);
  else if (views.length > 0) io.out(form === 'json' ? `${portfolioJson(views)}\n` : portfolioTable(views, { now, width }));
  return failed > 0 ? EXIT.failure : EXIT.ok;
}

/** `events` over a host view that is ready: every engine's lifecycle, labelled; an engine's trouble on stderr. */
async function hostEvents(io: Shutdown, host: HostWatcher): Promise<number> {
  const source = hostSource(host, asyncScheduler);
  const reported = new Map<string, unknown>();
  const subs = [
    source.engines$.subscribe((engines) => {
      for (const e of engines) {
        if (reported.get(e.label) === e.status) continue;
        reported.set(e.label, e.status);
        if (e.status.state === 'degraded') io.err(`${explain(e.label, e.status.error)} (retry ${e.status.attempt} in ${e.status.retryIn} ms)\n`);
      }
    }),
    source.lifecycle$.subscribe((v) => io.out(`${eventJson(v.engine, v.event)}\n`)),
  ];
  try {
    return await io.requested; // SIGINT, SIGTERM, or the reader gone (EPIPE at the next write)
  } finally {
    for (const s of subs) s.unsubscribe();
  }
}

/** `engines`: what discovery finds, as a table or JSON. */
async function engines(io: Shutdown, json: boolean): Promise<number> {
  const found = await unlessStopped(io, discoverEngines({ timeout: 1_000 }));
  if ('stopped' in found) return found.stopped;
  io.out(json ? `${discoveryJson(found.done)}\n` : discoveryTable(found.done));
  return EXIT.ok;
}

const io = installShutdown();
main(process.argv.slice(2), io).then(
  (code) => {
    // a signal or a closed pipe during the close decides over the command's own status
    process.exitCode = io.code ?? code;
  },
  async (err: unknown) => {
    // not an engine's trouble (those are reported above): a bug, so the stack helps
    io.err(isEngineError(err) ? `${explain(err.engine, err)}\n` : `whalewatcher: internal error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    await io.closeAll().catch(() => undefined);
    process.exitCode = io.code ?? EXIT.failure;
  },
);
