/**
 * A real terminal for specs: a detached tmux session of a fixed size on a
 * private server socket (nothing shared with the user's tmux), its screen
 * read with `capture-pane`, keys sent with `send-keys`. tmux is a Debian
 * package (scripts/engines/install.sh installs it).
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** True when a tmux binary answers. */
export function tmuxAvailable(): boolean {
  try {
    execFileSync('tmux', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function tmux(socket: string, args: readonly string[], env?: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('tmux', ['-S', socket, ...args], { env: env ?? process.env, timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`tmux ${args.join(' ')}: ${error.message} ${stderr}`));
      else resolve(stdout);
    });
  });
}

export interface TmuxSession {
  /** The screen as text, one string per row (trailing blanks trimmed by tmux). */
  screen(): Promise<string[]>;
  /** A format of the pane (`#{alternate_on}`, `#{pane_dead}`, …). */
  format(format: string): Promise<string>;
  /** Polls the screen every 100 ms, at most `tries` times, until `pred` holds; fails with the last screen. */
  waitFor(pred: (screen: string[]) => boolean, what: string, tries?: number): Promise<string[]>;
  /**
   * Polls every 100 ms, at most `tries` times, until the command has ended;
   * resolves with its exit status as the shell says it (`'0'`, `'130'`; 128 +
   * N when signal N ended it).
   */
  exited(tries?: number): Promise<string>;
  sendKeys(...keys: string[]): Promise<void>;
  resize(width: number, height: number): Promise<void>;
  /** Kills the tmux server and removes its socket folder. */
  close(): Promise<void>;
}

/**
 * Starts `command` (a shell command line, not ending in `exec`: the shell
 * writes its status afterwards) in a new detached session of `width` x
 * `height` with `env` as its environment.
 */
export async function tmuxSession(command: string, width: number, height: number, env: NodeJS.ProcessEnv): Promise<TmuxSession> {
  const dir = mkdtempSync(join(tmpdir(), 'ww-tmux.'));
  const socket = join(dir, 'tmux.sock');
  const status = join(dir, 'status');
  // the server takes the environment of the client that starts it; TERM: what tmux offers inside
  await tmux(socket, ['-f', '/dev/null', 'new-session', '-d', '-s', 'spec', '-x', String(width), '-y', String(height), `${command}; echo $? > ${status}`], { ...env, TERM: 'xterm-256color' });
  // keep the pane once the command ended, to read what it left on the screen
  await tmux(socket, ['set-option', '-t', 'spec', 'remain-on-exit', 'on']).catch(() => undefined);
  const session: TmuxSession = {
    async screen() {
      return (await tmux(socket, ['capture-pane', '-p', '-t', 'spec'])).replace(/\n$/, '').split('\n');
    },
    async format(format) {
      return (await tmux(socket, ['display-message', '-p', '-t', 'spec', format])).trim();
    },
    async waitFor(pred, what, tries = 300) {
      let screen: string[] = [];
      for (let i = 0; i < tries; i++) {
        screen = await session.screen();
        if (pred(screen)) return screen;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`${what}: not on the screen after ${tries} looks; the screen:\n${screen.join('\n')}`);
    },
    async exited(tries = 300) {
      // the shell around the command writes its status: tmux 3.3's own pane_dead_status stays empty now and
      // then (the pane's process left a zombie the server had not reaped yet)
      for (let i = 0; i < tries; i++) {
        if (existsSync(status)) {
          const text = readFileSync(status, 'utf8').trim();
          if (text !== '') return text;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error(`the command did not end after ${tries} looks; the screen:\n${(await session.screen()).join('\n')}`);
    },
    async sendKeys(...keys) {
      await tmux(socket, ['send-keys', '-t', 'spec', ...keys]);
    },
    async resize(w, h) {
      await tmux(socket, ['resize-window', '-t', 'spec', '-x', String(w), '-y', String(h)]);
    },
    async close() {
      await tmux(socket, ['kill-server']).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return session;
}
