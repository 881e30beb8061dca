/**
 * Coercion of raw values (strings from CSV, JSON values, Arrow numbers/bigints/strings) into the
 * logical types, with an InputError naming file, row and column for anything that does not fit.
 */
import { InputError, type InputLocation } from '../errors.js';

/** Decimal numbers only: Number() would also accept '0x1f', '' and '  ', which are not data. */
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const NON_FINITE = /^[+-]?(nan|inf|infinity)$/i;
/** ISO-8601 dates, accepted for timestamps because exports from databases often use them. */
const ISO_DATE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

function isMissing(v: unknown): boolean {
  return v === null || v === undefined || (typeof v === 'string' && v.trim() === '');
}

function show(v: unknown): string {
  const s = typeof v === 'string' ? v : typeof v === 'bigint' ? `${v}n` : JSON.stringify(v) ?? String(v);
  return s.length > 40 ? `'${s.slice(0, 40)}…'` : `'${s}'`;
}

/** Ids are strings; integer ids (common in Arrow and JSON sources) become their decimal form. */
export function toId(v: unknown, loc: InputLocation): string {
  if (typeof v === 'string') {
    const s = v.trim();
    if (s === '') throw new InputError(loc, 'empty id');
    return s;
  }
  if (typeof v === 'bigint') return v.toString();
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new InputError(loc, `id is ${v}`);
    return String(v);
  }
  if (v === null || v === undefined) throw new InputError(loc, 'missing id');
  throw new InputError(loc, `id must be a string or an integer, got ${show(v)}`);
}

/** A finite number, or null when the value is missing. */
export function toNumberOrNull(v: unknown, loc: InputLocation): number | null {
  if (isMissing(v)) return null;
  let n: number;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'bigint') n = Number(v);
  else if (typeof v === 'string') {
    const s = v.trim();
    if (NON_FINITE.test(s)) throw new InputError(loc, `${show(v)} is not a finite number (NaN/Infinity are not allowed)`);
    if (!DECIMAL.test(s)) throw new InputError(loc, `non-numeric value ${show(v)}`);
    n = Number(s);
  } else {
    throw new InputError(loc, `non-numeric value ${show(v)}`);
  }
  if (!Number.isFinite(n)) throw new InputError(loc, `${n} is not a finite number (NaN/Infinity are not allowed)`);
  return n;
}

/**
 * Timestamps are integer epoch seconds. Fractional seconds are floored (sub-second order is not
 * used anywhere) and ISO-8601 strings are converted, so exports in either form load as-is.
 */
export function toTimestamp(v: unknown, loc: InputLocation): number {
  if (typeof v === 'number' && Number.isFinite(v)) return Math.floor(v);
  if (isMissing(v)) throw new InputError(loc, 'missing timestamp');
  if (typeof v === 'string') {
    const s = v.trim();
    if (DECIMAL.test(s)) return Math.floor(Number(s));
    if (ISO_DATE.test(s)) {
      const ms = Date.parse(s);
      if (!Number.isFinite(ms)) throw new InputError(loc, `invalid date ${show(v)}`);
      return Math.floor(ms / 1000);
    }
  }
  // Everything else either converts or fails with toNumberOrNull's message.
  return Math.floor(toNumberOrNull(v, loc) as number);
}

/** Categorical values: strings as-is (trimmed), numbers and booleans in their text form. */
export function toCategoryOrNull(v: unknown, loc: InputLocation): string | null {
  if (isMissing(v)) return null;
  if (typeof v === 'string') return v.trim();
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new InputError(loc, `categorical value is ${v}`);
    return String(v);
  }
  if (typeof v === 'bigint' || typeof v === 'boolean') return String(v);
  throw new InputError(loc, `categorical value must be a string, got ${show(v)}`);
}

/** Tags: a '|'-separated string (CSV, Arrow Utf8) or an array of strings (JSON, Arrow List). */
export function toTags(v: unknown, loc: InputLocation): string[] {
  if (isMissing(v)) return [];
  if (typeof v === 'string') return splitTags(v);
  if (Array.isArray(v)) {
    const out: string[] = [];
    for (const t of v) {
      if (isMissing(t)) continue;
      if (typeof t !== 'string' && typeof t !== 'number') throw new InputError(loc, `tag must be a string, got ${show(t)}`);
      out.push(String(t).trim());
    }
    return out;
  }
  throw new InputError(loc, `tags must be a '|'-separated string or a list, got ${show(v)}`);
}

export function splitTags(s: string): string[] {
  const out: string[] = [];
  for (const part of s.split('|')) {
    const t = part.trim();
    if (t !== '') out.push(t);
  }
  return out;
}
