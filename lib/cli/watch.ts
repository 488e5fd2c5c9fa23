// `whalewatcher watch` in a terminal: plain ANSI (the alternate screen, cursor
// home, clear to end of line and screen, raw-mode keys, 'resize'), no terminal
// library (every runtime dependency lands on all of the library's users; see
// the README's "whalewatcher watch"). The frames come from view-frames.ts,
// their lines from the pure live-view.ts.

import { Observable, type SchedulerLike, map, startWith } from 'rxjs';
import { renderView } from './live-view.js';
import { EXIT, type Shutdown } from './shutdown.js';
import { type TermSize, type ViewSource, viewFrames } from './view-frames.js';

/** Enter the alternate screen, hide the cursor, clear. */
const ENTER = '\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J';
/** Show the cursor, leave the alternate screen (the shell's screen comes back as it was). */
const LEAVE = '\x1b[?25h\x1b[?1049l';
const HOME = '\x1b[H';
const CLEAR_EOL = '\x1b[K';
const CLEAR_EOS = '\x1b[J';
/** Ctrl-C as raw mode delivers it (no SIGINT then). */
const CTRL_C = '\x03';

/** @internal The terminal the live view runs in. */
export interface Terminal {
  readonly stdout: NodeJS.WriteStream;
  readonly stdin: NodeJS.ReadStream;
}

/**
 * @internal Runs the live view on a terminal until `q` (status 0), Ctrl-C
 * (130), or what ends the CLI otherwise (a signal, a closed stdout); leaves
 * the terminal as it found it (also when the process exits on the way).
 */
export async function liveView(io: Shutdown, source: ViewSource, term: Terminal, scheduler: SchedulerLike): Promise<number> {
  const { stdout, stdin } = term;
  const size = (): TermSize => ({ width: stdout.columns || 80, height: stdout.rows || 24 });
  const size$ = new Observable<void>((subscriber) => {
    const onResize = () => subscriber.next();
    stdout.on('resize', onResize);
    return () => stdout.off('resize', onResize);
  }).pipe(
    map(size),
    startWith(size()),
  );

  let restored = false;
  const restore = () => {
    if (restored) return;
    restored = true;
    io.out(LEAVE);
    if (stdin.isTTY) stdin.setRawMode(false);
  };
  process.once('exit', restore);

  let resolveKey!: (code: number) => void;
  const key = new Promise<number>((resolve) => (resolveKey = resolve));
  const onData = (data: Buffer | string) => {
    const text = data.toString();
    if (text.includes(CTRL_C)) resolveKey(EXIT.sigint);
    else if (/q/i.test(text)) resolveKey(EXIT.ok);
  };

  io.out(ENTER);
  if (stdin.isTTY) stdin.setRawMode(true);
  stdin.on('data', onData);
  stdin.resume();
  const frames = viewFrames(source, size$, { scheduler }).subscribe((frame) => {
    const lines = renderView(frame.model, frame);
    io.out(`${HOME}${lines.map((l) => `${l}${CLEAR_EOL}`).join('\r\n')}${CLEAR_EOS}`);
  });
  try {
    return await Promise.race([key, io.requested]);
  } finally {
    frames.unsubscribe();
    stdin.off('data', onData);
    stdin.pause();
    restore();
    process.off('exit', restore);
  }
}
