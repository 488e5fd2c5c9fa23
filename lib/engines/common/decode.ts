// Decode helpers every normaliser uses: one JSON-object guard, one preview of
// raw data for messages, one decode error. Pure.

import { EngineError } from '../../errors.js';

/** A decoded JSON object. @internal */
export type Json = Record<string, unknown>;

/** True for a JSON object (not an array, not null). @internal */
export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** At most `max` characters of `raw` as JSON (bigints as decimals), for error messages. @internal */
export function preview(raw: unknown, max = 300): string {
  let shown: string;
  try {
    shown = JSON.stringify(raw, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)) ?? String(raw);
  } catch {
    shown = String(raw);
  }
  return shown.length > max ? `${shown.slice(0, max)}…` : shown;
}

/** The `decode` error of engine `engine`: `message`, followed by a preview of `raw` when given. @internal */
export function decodeError(engine: string, message: string, options: { readonly raw?: unknown; readonly cause?: unknown } = {}): EngineError {
  const text = 'raw' in options ? `${message}: ${preview(options.raw)}` : message;
  return new EngineError(engine, 'decode', text, options.cause === undefined ? undefined : { cause: options.cause });
}
