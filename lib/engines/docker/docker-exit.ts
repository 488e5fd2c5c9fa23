// Pure: how a Docker or Podman container ended, from its inspection after the
// fact. No I/O.

import type { ExitDetails } from '../../core/engine.js';
import { isObject } from '../common/decode.js';

/** Docker's zero time: a time the engine never set. */
const ZERO_TIME = /^0001-01-01T/;

/**
 * The exit details in a container inspection (`State.ExitCode`,
 * `State.FinishedAt`, `State.OOMKilled`, `State.Error`), or `null` when the
 * container still runs (it left the watched set for another reason) or the
 * inspection says nothing usable.
 *
 * @internal
 */
export function dockerExitOf(raw: unknown): ExitDetails | null {
  if (!isObject(raw) || !isObject(raw['State'])) return null;
  const state = raw['State'];
  if (state['Running'] === true || state['Paused'] === true) return null;
  const exit: { -readonly [K in keyof ExitDetails]: ExitDetails[K] } = {};
  const code = state['ExitCode'];
  if (typeof code === 'number' && Number.isInteger(code)) exit.code = code;
  const finished = state['FinishedAt'];
  if (typeof finished === 'string' && finished !== '' && !ZERO_TIME.test(finished)) {
    const time = new Date(finished);
    if (!Number.isNaN(time.getTime())) exit.time = time;
  }
  if (state['OOMKilled'] === true) exit.oomKilled = true;
  const error = state['Error'];
  if (typeof error === 'string' && error !== '') exit.reason = error;
  return Object.keys(exit).length === 0 ? null : Object.freeze(exit);
}
