// How long, in words, the way `docker ps` says it ("Up 3 minutes"): the rules
// of Docker's go-units HumanDuration, written afresh. Pure.

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

/**
 * A rough, human reading of a duration in milliseconds, with the rules of
 * Docker's `HumanDuration` (so `ps` reads like `docker ps`): whole seconds and
 * minutes are cut down (59.9 s is `59 seconds`), hours are rounded (1 h 30 min
 * is `2 hours`), and from 48 hours on it counts whole days, from two weeks
 * whole weeks, from two 30-day months whole months, from two 365-day years
 * whole years. Below one second, and for a negative duration (the engine's
 * clock ahead of ours), it is `Less than a second`. So 47,000 is
 * `47 seconds`, 90,000 `About a minute`, 36 hours `36 hours`, 50 hours `2 days`.
 *
 * @internal
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / SECOND);
  if (!(seconds >= 1)) return 'Less than a second'; // also NaN
  if (seconds === 1) return '1 second';
  if (seconds < 60) return `${seconds} seconds`;
  const minutes = Math.trunc(ms / MINUTE);
  if (minutes === 1) return 'About a minute';
  if (minutes < 60) return `${minutes} minutes`;
  const hours = Math.trunc(ms / HOUR + 0.5);
  if (hours === 1) return 'About an hour';
  if (hours < 48) return `${hours} hours`;
  if (hours < 24 * 7 * 2) return `${Math.trunc(hours / 24)} days`;
  if (hours < 24 * 30 * 2) return `${Math.trunc(hours / 24 / 7)} weeks`;
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24 / 30)} months`;
  // years from the whole hours, not the rounded ones
  return `${Math.trunc(Math.trunc(ms / HOUR) / 24 / 365)} years`;
}
