/**
 * MovieLens movies and users files → ItemRow / UserRow, for the three families of layouts:
 *   ml-100k    u.item  id|title|release date|video date|url|19 genre flags   (Latin-1)
 *              u.user  id|age|gender|occupation|zip
 *   ml-1m/10m  movies.dat id::title::genres (Latin-1); users.dat id::gender::age::occupation::zip
 *   ml-latest  movies.csv movieId,title,genres (UTF-8, quoted titles); no users file
 *
 * Items: category = first genre, tags = all genres, num_year from the release date (ml-100k)
 * or the "(1995)" at the end of the title. A movie without a year gets the median year of the
 * catalog, so that num_year is never missing or NaN for a model that cannot handle gaps.
 */
import fs from 'node:fs';
import { parse } from 'csv-parse';
import { InputError } from '../errors.js';
import { readLines } from './lines.js';
import type { ItemRow, UserRow } from './types.js';
import { splitTags, toId } from './values.js';

export const GENRES_100K = [
  'unknown', 'Action', 'Adventure', 'Animation', "Children's", 'Comedy', 'Crime', 'Documentary', 'Drama', 'Fantasy',
  'Film-Noir', 'Horror', 'Musical', 'Mystery', 'Romance', 'Sci-Fi', 'Thriller', 'War', 'Western',
];

/** ml-1m age codes (the lower bound of each band). */
const AGE_BANDS_1M: Record<string, string> = {
  '1': 'Under 18', '18': '18-24', '25': '25-34', '35': '35-44', '45': '45-49', '50': '50-55', '56': '56+',
};

const OCCUPATIONS_1M = [
  'other', 'academic/educator', 'artist', 'clerical/admin', 'college/grad student', 'customer service',
  'doctor/health care', 'executive/managerial', 'farmer', 'homemaker', 'K-12 student', 'lawyer', 'programmer',
  'retired', 'sales/marketing', 'scientist', 'self-employed', 'technician/engineer', 'tradesman/craftsman',
  'unemployed', 'writer',
];

/** ml-100k gives ages in years: map them onto the ml-1m bands so both datasets share a vocabulary. */
export function ageBand(age: number): string {
  if (age < 18) return 'Under 18';
  if (age < 25) return '18-24';
  if (age < 35) return '25-34';
  if (age < 45) return '35-44';
  if (age < 50) return '45-49';
  if (age < 56) return '50-55';
  return '56+';
}

const TITLE_YEAR = /\((\d{4})(?:\s*[-–]\s*\d{0,4})?\)\s*$/;
const RELEASE_DATE = /^\d{1,2}-[A-Za-z]{3}-(\d{4})$/;

export function yearFromTitle(title: string): number | null {
  const m = TITLE_YEAR.exec(title.trim());
  return m ? Number(m[1]) : null;
}

export function yearFromReleaseDate(date: string): number | null {
  const m = RELEASE_DATE.exec(date.trim());
  return m ? Number(m[1]) : null;
}

interface Movie {
  id: string;
  title: string;
  genres: string[];
  year: number | null;
}

export interface Catalog {
  items: ItemRow[];
  /** The year given to movies without one. */
  medianYear: number;
  /** Decoded titles, in item order: not part of the item table, kept for checks and reports. */
  titles: string[];
}

/** Movies with their year filled in (median of the known years; 2000 if none is known). */
function toItems(movies: Movie[]): Catalog {
  const years = movies.map((m) => m.year).filter((y): y is number => y !== null).sort((a, b) => a - b);
  const medianYear = years.length ? years[Math.floor((years.length - 1) / 2)] : 2000;
  const items = movies.map((m) => ({
    itemId: m.id,
    category: m.genres[0] ?? null,
    tags: m.genres,
    numeric: { num_year: m.year ?? medianYear },
  }));
  return { items, medianYear, titles: movies.map((m) => m.title) };
}

function checkFields(file: string, row: number, fields: string[], min: number, what: string): void {
  if (fields.length < min) throw new InputError({ file, row }, `expected at least ${min} fields (${what}), found ${fields.length}`);
}

function addUnique(file: string, seen: Map<string, number>, id: string, row: number, column: string): void {
  const prev = seen.get(id);
  if (prev !== undefined) throw new InputError({ file, row, column }, `duplicate ${column} '${id}' (rows ${prev} and ${row})`);
  seen.set(id, row);
}

export async function readMovies100k(file: string): Promise<Catalog> {
  const movies: Movie[] = [];
  const seen = new Map<string, number>();
  for await (const { number, text } of readLines(file, 'latin1')) {
    if (text.trim() === '') continue;
    const f = text.split('|');
    checkFields(file, number, f, 5 + GENRES_100K.length, 'id|title|release date|video release date|url|19 genre flags');
    const id = toId(f[0], { file, row: number, column: 'movie id' });
    addUnique(file, seen, id, number, 'movie id');
    const genres: string[] = [];
    GENRES_100K.forEach((g, i) => {
      const flag = f[5 + i].trim();
      if (flag !== '0' && flag !== '1') throw new InputError({ file, row: number, column: g }, `genre flag must be 0 or 1, got '${flag}'`);
      // 'unknown' is the absence of a genre, not a genre.
      if (flag === '1' && g !== 'unknown') genres.push(g);
    });
    movies.push({ id, title: f[1].trim(), genres, year: yearFromReleaseDate(f[2]) ?? yearFromTitle(f[1]) });
  }
  return toItems(movies);
}

export async function readMoviesDat(file: string): Promise<Catalog> {
  const movies: Movie[] = [];
  const seen = new Map<string, number>();
  for await (const { number, text } of readLines(file, 'latin1')) {
    if (text.trim() === '') continue;
    const f = text.split('::');
    checkFields(file, number, f, 3, 'id::title::genres');
    const id = toId(f[0], { file, row: number, column: 'MovieID' });
    addUnique(file, seen, id, number, 'MovieID');
    // Titles never contain '::', but be safe: everything between the id and the genres.
    const title = f.slice(1, -1).join('::');
    movies.push({ id, title: title.trim(), genres: splitGenres(f[f.length - 1]), year: yearFromTitle(title) });
  }
  return toItems(movies);
}

export async function readMoviesCsv(file: string): Promise<Catalog> {
  const movies: Movie[] = [];
  const seen = new Map<string, number>();
  const input = fs.createReadStream(file);
  const parser = input.pipe(parse({ bom: true, skip_empty_lines: true, relax_column_count: false }));
  input.on('error', (err) => parser.destroy(err));
  let header: string[] | null = null;
  let row = 0;
  try {
    for await (const rec of parser as AsyncIterable<string[]>) {
      if (!header) {
        header = rec.map((h) => h.trim());
        for (const c of ['movieId', 'title', 'genres']) {
          if (!header.includes(c)) throw new InputError({ file, column: c }, `missing required column '${c}' (columns found: ${header.join(', ')})`);
        }
        continue;
      }
      row++;
      const get = (c: string) => rec[(header as string[]).indexOf(c)];
      const id = toId(get('movieId'), { file, row, column: 'movieId' });
      addUnique(file, seen, id, row, 'movieId');
      movies.push({ id, title: get('title').trim(), genres: splitGenres(get('genres')), year: yearFromTitle(get('title')) });
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    throw new InputError({ file, row: row + 1 }, `malformed CSV: ${(err as Error).message}`);
  } finally {
    input.destroy();
  }
  if (!header) throw new InputError({ file }, 'the file is empty: no header row');
  return toItems(movies);
}

function splitGenres(s: string): string[] {
  return splitTags(s).filter((g) => g !== '(no genres listed)');
}

export async function readUsers100k(file: string): Promise<UserRow[]> {
  const users: UserRow[] = [];
  const seen = new Map<string, number>();
  for await (const { number, text } of readLines(file, 'latin1')) {
    if (text.trim() === '') continue;
    const f = text.split('|');
    checkFields(file, number, f, 4, 'id|age|gender|occupation|zip');
    const userId = toId(f[0], { file, row: number, column: 'user id' });
    addUnique(file, seen, userId, number, 'user id');
    const age = Number(f[1]);
    if (f[1].trim() === '' || !Number.isFinite(age)) throw new InputError({ file, row: number, column: 'age' }, `non-numeric age '${f[1]}'`);
    users.push({
      userId,
      categorical: { cat_gender: f[2].trim(), cat_age_band: ageBand(age), cat_occupation: f[3].trim() },
      numeric: {},
    });
  }
  return users;
}

export async function readUsersDat(file: string): Promise<UserRow[]> {
  const users: UserRow[] = [];
  const seen = new Map<string, number>();
  for await (const { number, text } of readLines(file, 'latin1')) {
    if (text.trim() === '') continue;
    const f = text.split('::');
    checkFields(file, number, f, 4, 'UserID::Gender::Age::Occupation::Zip-code');
    const userId = toId(f[0], { file, row: number, column: 'UserID' });
    addUnique(file, seen, userId, number, 'UserID');
    const band = AGE_BANDS_1M[f[2].trim()];
    if (!band) throw new InputError({ file, row: number, column: 'Age' }, `unknown age code '${f[2]}' (expected one of ${Object.keys(AGE_BANDS_1M).join(', ')})`);
    const occ = OCCUPATIONS_1M[Number(f[3])];
    if (f[3].trim() === '' || occ === undefined) throw new InputError({ file, row: number, column: 'Occupation' }, `unknown occupation code '${f[3]}' (expected 0–20)`);
    users.push({ userId, categorical: { cat_gender: f[1].trim(), cat_age_band: band, cat_occupation: occ }, numeric: {} });
  }
  return users;
}
