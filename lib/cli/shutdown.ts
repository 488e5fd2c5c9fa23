// How the CLI leaves: on SIGINT/SIGTERM, or when its reader goes away (a
// closed pipe, `… | head`), it closes its watchers and ends with a status a
// shell expects; a second signal ends it at once. Its output goes through
// `out`/`err`, which turn into no-ops once their stream is gone, so no write
// after a closed pipe throws or prints a stack trace.

import type { Watcher } from '../core/watcher.js';

/**
 * @internal The CLI's exit statuses, as `--help` and the README document them:
 * `ok` also for output into a closed pipe; `failure` when no engine answered
 * or an engine failed; `usage` for a bad command line; `sigint`/`sigterm`
 * (128 + the signal's number, as shells report a process killed by it) when
 * interrupted.
 */
export const EXIT = { ok: 0, failure: 1, usage: 2, sigint: 130, sigterm: 143 } as const;

/** @internal What the commands use to write, and to learn that they should stop. */
export interface Shutdown {
  /**
   * Resolves with the exit status once the CLI should stop (a signal, or
   * stdout closed by its reader); never rejects, never resolves otherwise.
   */
  readonly requested: Promise<number>;
  /** The status asked for by a signal or a closed stdout; undefined while none came. */
  readonly code: number | undefined;
  /** Writes to stdout; nothing once stdout is closed. */
  out(text: string): void;
  /** Writes to stderr; nothing once stderr is closed. */
  err(text: string): void;
  /** Adds a watcher to close on the way out; returns it. */
  track(watcher: Watcher): Watcher;
  /** Closes every tracked watcher (each once); resolves when all are closed. */
  closeAll(): Promise<void>;
}

/** @internal The streams and process the CLI runs in (the real ones by default). */
export interface ShutdownHost {
  readonly stdout: NodeJS.WriteStream;
  readonly stderr: NodeJS.WriteStream;
  on(signal: 'SIGINT' | 'SIGTERM', listener: () => void): void;
  exit(code: number): never;
}

/**
 * @internal Installs the CLI's handlers: `SIGINT` → status 130, `SIGTERM` →
 * 143, `EPIPE` on stdout → 0 (another stdout error: its message on stderr,
 * status 1). The first of these resolves {@link Shutdown.requested}; a signal
 * that comes while the CLI is already stopping exits at once.
 */
export function installShutdown(host: ShutdownHost = process): Shutdown {
  let code: number | undefined;
  let stopping = false;
  let stdoutOpen = true;
  let stderrOpen = true;
  let resolveRequested!: (code: number) => void;
  const requested = new Promise<number>((resolve) => (resolveRequested = resolve));
  const watchers: Watcher[] = [];
  const closing = new Map<Watcher, Promise<void>>();

  const request = (status: number) => {
    if (stopping) {
      // a second signal, or one after stdout closed: no more waiting
      host.exit(code ?? status);
    }
    stopping = true;
    code = status;
    resolveRequested(status);
  };

  host.on('SIGINT', () => request(EXIT.sigint));
  host.on('SIGTERM', () => request(EXIT.sigterm));
  // Not `once`: a destroyed stream may report more errors, and an 'error'
  // without a listener would end the process with a stack trace.
  host.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (!stdoutOpen) return;
    stdoutOpen = false;
    if (e.code === 'EPIPE') {
      if (code === undefined) {
        stopping = true;
        code = EXIT.ok;
        resolveRequested(EXIT.ok);
      }
      return;
    }
    if (stderrOpen) host.stderr.write(`whalewatcher: cannot write the output: ${e.message}\n`);
    if (code === undefined) {
      stopping = true;
      code = EXIT.failure;
      resolveRequested(EXIT.failure);
    }
  });
  host.stderr.on('error', () => {
    stderrOpen = false;
  });

  return {
    requested,
    get code() {
      return code;
    },
    out(text) {
      if (stdoutOpen && !host.stdout.destroyed) host.stdout.write(text);
    },
    err(text) {
      if (stderrOpen && !host.stderr.destroyed) host.stderr.write(text);
    },
    track(watcher) {
      watchers.push(watcher);
      return watcher;
    },
    async closeAll() {
      await Promise.all(
        watchers.map((w) => {
          let p = closing.get(w);
          if (p === undefined) {
            p = w.close();
            closing.set(w, p);
          }
          return p;
        }),
      );
    },
  };
}
