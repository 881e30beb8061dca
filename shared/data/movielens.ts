/**
 * Imports a MovieLens folder (ml-100k, ml-1m, ml-10m, ml-latest(-small), ml-20m, ml-25m) into the
 * project's layout: items.arrow, users.arrow, interactions.arrow, holdout.arrow.
 *
 * Ratings are streamed twice instead of being held in memory (ml-25m has 25M of them): the first
 * pass finds each user's latest interactions with the same rule as splitHoldout (split.ts), the
 * second writes every rating to interactions or holdout, one Arrow record batch at a time.
 * Ratings of movies missing from the movies file are skipped and counted.
 */
import fs from 'node:fs';
import path from 'node:path';
import { InputError } from '../errors.js';
import { readLineBatches } from './lines.js';
import { readMovies100k, readMoviesCsv, readMoviesDat, readUsers100k, readUsersDat } from './movielensCatalog.js';
import { HoldoutSelector } from './split.js';
import type { InteractionRow, UserRow } from './types.js';
import { toId, toNumberOrNull, toTimestamp } from './values.js';
import { openInteractionsWriter, writeItems, writeUsers, type TableWriter } from './writers.js';

export type MovielensFormat = 'ml-100k' | 'ml-1m' | 'ml-10m' | 'ml-latest';

export interface MovielensImportOptions {
  /** Latest ratings per user moved to the holdout (default 3). */
  holdoutPerUser?: number;
  /** Users with fewer remaining training ratings are not split (default 5). */
  minTrain?: number;
}

export interface MovielensImportResult {
  format: MovielensFormat;
  items: number;
  users: number;
  interactions: number;
  holdout: number;
  /** Ratings skipped because their movie is not in the movies file. */
  skipped: number;
  /** The year given to movies whose year is unknown. */
  medianYear: number;
}

interface Layout {
  format: MovielensFormat;
  ratings: string;
  movies: string;
  users: string | null;
}

export function detectMovielens(src: string): Layout {
  const has = (f: string) => fs.existsSync(path.join(src, f));
  const need = (f: string, format: string) => {
    if (!has(f)) throw new InputError({ file: path.join(src, f) }, `missing: a ${format} folder needs ${f}`);
    return path.join(src, f);
  };
  if (!fs.existsSync(src) || !fs.statSync(src).isDirectory()) throw new InputError({ file: src }, 'not a folder');
  if (has('u.data')) {
    return { format: 'ml-100k', ratings: path.join(src, 'u.data'), movies: need('u.item', 'ml-100k'), users: has('u.user') ? path.join(src, 'u.user') : null };
  }
  if (has('ratings.dat')) {
    // ml-10m has the same files as ml-1m except users.dat.
    const format = has('users.dat') ? 'ml-1m' : 'ml-10m';
    return { format, ratings: path.join(src, 'ratings.dat'), movies: need('movies.dat', format), users: has('users.dat') ? path.join(src, 'users.dat') : null };
  }
  if (has('ratings.csv')) {
    return { format: 'ml-latest', ratings: path.join(src, 'ratings.csv'), movies: need('movies.csv', 'ml-latest'), users: null };
  }
  throw new InputError({ file: src }, 'not a MovieLens folder: expected u.data (ml-100k), ratings.dat (ml-1m, ml-10m) or ratings.csv (ml-latest, ml-20m, ml-25m)');
}

export async function importMovielens(src: string, out: string, opts: MovielensImportOptions = {}): Promise<MovielensImportResult> {
  const layout = detectMovielens(src);
  const selector = new HoldoutSelector({ perUser: opts.holdoutPerUser ?? 3, minTrain: opts.minTrain ?? 5 });

  const { items, medianYear } =
    layout.format === 'ml-100k' ? await readMovies100k(layout.movies) : layout.format === 'ml-latest' ? await readMoviesCsv(layout.movies) : await readMoviesDat(layout.movies);
  const known = new Set(items.map((i) => i.itemId));
  const users: UserRow[] = layout.users ? (layout.format === 'ml-100k' ? await readUsers100k(layout.users) : await readUsersDat(layout.users)) : [];

  // Pass 1: each user's latest ratings.
  let row = 0;
  const skippedRows = new Set<number>();
  const ratingUsers: string[] = [];
  const seenUsers = new Set<string>();
  let lastUser = '';
  for await (const batch of ratingBatches(layout)) {
    for (const r of batch) {
      row++;
      if (!known.has(r.itemId)) {
        skippedRows.add(row);
        continue;
      }
      // Ratings files are grouped by user: only look a user up when it changes.
      if (r.userId !== lastUser && !seenUsers.has(r.userId)) {
        seenUsers.add(r.userId);
        ratingUsers.push(r.userId);
      }
      lastUser = r.userId;
      selector.add(r.userId, r.timestamp, row);
    }
  }
  const held = selector.holdoutRows();

  // Users who rated but are missing from the users file (always the case for ml-latest).
  const listed = new Set(users.map((u) => u.userId));
  for (const id of ratingUsers) if (!listed.has(id)) users.push({ userId: id, categorical: {}, numeric: {} });

  await fs.promises.mkdir(out, { recursive: true });
  await writeItems(path.join(out, 'items.arrow'), items);
  await writeUsers(path.join(out, 'users.arrow'), users);

  // Pass 2: route every rating.
  const train = await openInteractionsWriter(path.join(out, 'interactions.arrow'));
  const holdout = await openInteractionsWriter(path.join(out, 'holdout.arrow'));
  let counts: [number, number];
  try {
    row = 0;
    for await (const batch of ratingBatches(layout)) {
      const toTrain: InteractionRow[] = [];
      const toHoldout: InteractionRow[] = [];
      for (const r of batch) {
        row++;
        if (skippedRows.size > 0 && skippedRows.has(row)) continue;
        (held.has(row) ? toHoldout : toTrain).push(r);
      }
      await train.write(toTrain);
      await holdout.write(toHoldout);
    }
    counts = [await train.close(), await holdout.close()];
  } catch (err) {
    await abortAll([train, holdout]);
    throw err;
  }
  return { format: layout.format, items: items.length, users: users.length, interactions: counts[0], holdout: counts[1], skipped: skippedRows.size, medianYear };
}

async function abortAll(writers: TableWriter<InteractionRow>[]): Promise<void> {
  for (const w of writers) await w.abort().catch(() => undefined);
}

/** How each format spells a rating line. */
interface RatingSyntax {
  separator: string;
  header: boolean;
  /** Field names, for error messages (ml-latest's come from its header). */
  columns: [string, string, string, string];
}

const SYNTAX: Record<MovielensFormat, RatingSyntax> = {
  'ml-100k': { separator: '\t', header: false, columns: ['user id', 'item id', 'rating', 'timestamp'] },
  'ml-1m': { separator: '::', header: false, columns: ['UserID', 'MovieID', 'Rating', 'Timestamp'] },
  'ml-10m': { separator: '::', header: false, columns: ['UserID', 'MovieID', 'Rating', 'Timestamp'] },
  'ml-latest': { separator: ',', header: true, columns: ['userId', 'movieId', 'rating', 'timestamp'] },
};

/** Parsed ratings in file order, a batch of lines at a time. Blank lines are skipped. */
async function* ratingBatches(layout: Layout): AsyncGenerator<InteractionRow[]> {
  const file = layout.ratings;
  const syntax = SYNTAX[layout.format];
  const names = syntax.columns;
  let pos = [0, 1, 2, 3];
  let headerSeen = !syntax.header;
  for await (const { firstLine, lines } of readLineBatches(file, 'utf8')) {
    const out: InteractionRow[] = [];
    for (let l = 0; l < lines.length; l++) {
      const text = lines[l];
      if (text.trim() === '') continue;
      const f = text.split(syntax.separator);
      if (!headerSeen) {
        headerSeen = true;
        const header = f.map((h) => h.trim());
        pos = names.map((n) => header.indexOf(n));
        const missing = names.find((_, i) => pos[i] < 0);
        if (missing) throw new InputError({ file, column: missing }, `missing required column '${missing}' (columns found: ${header.join(', ')})`);
        continue;
      }
      // Data rows are numbered without the header, as everywhere else.
      const row = syntax.header ? firstLine + l - 1 : firstLine + l;
      if (f.length < 4) throw new InputError({ file, row }, `expected 4 fields separated by '${syntax.separator === '\t' ? '\\t' : syntax.separator}', found ${f.length}`);
      const rating = toNumberOrNull(f[pos[2]], { file, row, column: names[2] });
      if (rating === null) throw new InputError({ file, row, column: names[2] }, 'missing rating');
      out.push({
        userId: toId(f[pos[0]], { file, row, column: names[0] }),
        itemId: toId(f[pos[1]], { file, row, column: names[1] }),
        timestamp: toTimestamp(f[pos[3]], { file, row, column: names[3] }),
        rating,
      });
    }
    if (out.length) yield out;
  }
  if (!headerSeen) throw new InputError({ file }, 'the file is empty: no header row');
}
