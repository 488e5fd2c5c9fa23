// The `labels` option of every watcher: which containers to watch, by label.
// Pure.

import { EngineError } from '../../errors.js';

/** One parsed entry of the `labels` option: the key must be present, and have `value` when given. @internal */
export interface LabelSelector {
  readonly key: string;
  readonly value?: string;
}

/**
 * Parses the `labels` option (`key` or `key=value` per entry; the first `=`
 * splits, so values may contain `=`).
 *
 * @throws EngineError `config` for an entry without a key.
 * @internal
 */
export function parseLabelSelectors(entries: readonly string[] | undefined, engine: string): readonly LabelSelector[] {
  if (entries === undefined || entries.length === 0) return NO_SELECTORS;
  return Object.freeze(
    entries.map((entry) => {
      const at = entry.indexOf('=');
      const key = at < 0 ? entry : entry.slice(0, at);
      if (key.trim() === '') throw new EngineError(engine, 'config', `unusable label filter ${JSON.stringify(entry)}: use key or key=value`);
      return Object.freeze(at < 0 ? { key } : { key, value: entry.slice(at + 1) });
    }),
  );
}

const NO_SELECTORS: readonly LabelSelector[] = Object.freeze([]);

/** True when `labels` satisfy every selector (no selectors: always). @internal */
export function matchesLabels(labels: Readonly<Record<string, string>>, selectors: readonly LabelSelector[]): boolean {
  for (const s of selectors) {
    if (!Object.prototype.hasOwnProperty.call(labels, s.key)) return false;
    if (s.value !== undefined && labels[s.key] !== s.value) return false;
  }
  return true;
}

/** The selectors as Docker's `label` filter values (`key` or `key=value`). @internal */
export function labelFilterValues(selectors: readonly LabelSelector[]): string[] {
  return selectors.map((s) => (s.value === undefined ? s.key : `${s.key}=${s.value}`));
}
