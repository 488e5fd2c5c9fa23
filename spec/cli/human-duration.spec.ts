import { expect } from 'chai';
import { humanDuration } from '../../lib/cli/human-duration.js';

const s = 1000;
const min = 60 * s;
const h = 60 * min;
const day = 24 * h;
const week = 7 * day;
const month = 30 * day;
const year = 365 * day;

describe('humanDuration (docker ps uptimes)', () => {
  // [duration in ms, words]: each rule's first and last value, and the boundaries between rules
  const table: readonly (readonly [number, string])[] = [
    [-5 * s, 'Less than a second'], // engine clock ahead of ours
    [0, 'Less than a second'],
    [999, 'Less than a second'],
    [1 * s, '1 second'],
    [1999, '1 second'],
    [2 * s, '2 seconds'],
    [47 * s, '47 seconds'],
    [59 * s + 999, '59 seconds'], // seconds are cut down, not rounded
    [1 * min, 'About a minute'],
    [1 * min + 59 * s, 'About a minute'],
    [2 * min, '2 minutes'],
    [35 * min + 40 * s, '35 minutes'],
    [59 * min + 59 * s, '59 minutes'],
    [1 * h, 'About an hour'],
    [1 * h + 29 * min, 'About an hour'], // hours are rounded
    [1 * h + 30 * min, '2 hours'],
    [1 * h + 45 * min, '2 hours'],
    [3 * h + 59 * min, '4 hours'],
    [24 * h, '24 hours'],
    [36 * h, '36 hours'],
    [47 * h + 29 * min, '47 hours'],
    [47 * h + 30 * min, '2 days'], // rounds to 48 hours
    [2 * day, '2 days'],
    [13 * day + 5 * h, '13 days'],
    [2 * week - 31 * min, '13 days'],
    [2 * week, '2 weeks'],
    [2 * week + 4 * day, '2 weeks'],
    [3 * week, '3 weeks'],
    [1 * month + 2 * week, '6 weeks'],
    [2 * month - 1 * h, '8 weeks'],
    [2 * month, '2 months'],
    [3 * month + 1 * week, '3 months'],
    [13 * month, '13 months'],
    [2 * year - 1 * h, '24 months'],
    [2 * year, '2 years'],
    [3 * year + 2 * month, '3 years'],
    [Number.NaN, 'Less than a second'],
  ];
  for (const [ms, words] of table) {
    it(`${ms} ms is '${words}'`, () => {
      expect(humanDuration(ms)).to.equal(words);
    });
  }
});
