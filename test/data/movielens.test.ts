import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ageBand, readMovies100k, readMoviesCsv, readMoviesDat, yearFromReleaseDate, yearFromTitle } from '../../shared/data/movielensCatalog.js';
import { detectMovielens, importMovielens } from '../../shared/data/movielens.js';
import { loadInteractions, loadItems, loadUsers } from '../../shared/data/readers.js';
import { expectInputError, tempDir } from './helpers.js';

const root = tempDir('twotower-ml-');

function fixture(name: string, files: Record<string, string | Buffer>): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  for (const [f, content] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), content);
  return dir;
}

const flags = (on: number[]) => Array.from({ length: 19 }, (_, i) => (on.includes(i) ? '1' : '0')).join('|');

/**
 * User 1: 7 ratings of known movies (the latest two, ts 700 and 600, go to holdout), user 2:
 * 3 ratings (too few to split with minTrain 5), and one rating of a movie not in the catalog.
 * [user, movie, rating, timestamp], deliberately not in time order.
 */
const RATINGS: [number, number, number, number][] = [
  [1, 1, 5, 100],
  [1, 2, 3, 300],
  [1, 3, 4, 200],
  [2, 1, 2, 50],
  [1, 4, 1, 700],
  [1, 5, 2, 600],
  [2, 2, 4, 60],
  [1, 99, 4, 650],
  [2, 3, 5, 70],
  [1, 6, 4, 500],
  [1, 7, 3, 400],
];

async function check(src: string, out: string, format: string) {
  const result = await importMovielens(src, out, { holdoutPerUser: 2 });
  expect(result.format).toBe(format);
  expect(result.skipped).toBe(1);
  const holdout = await loadInteractions(path.join(out, 'holdout.arrow'));
  const train = await loadInteractions(path.join(out, 'interactions.arrow'));
  expect(result.holdout).toBe(holdout.length);
  expect(result.interactions).toBe(train.length);
  // User 1's two latest valid ratings (ts 700 and 600); the unknown movie 99 is gone.
  expect(holdout.map((r) => [r.userId, r.itemId, r.timestamp, r.rating])).toEqual([
    ['1', '4', 700, 1],
    ['1', '5', 600, 2],
  ]);
  expect(train).toHaveLength(8);
  expect(train.some((r) => r.itemId === '99')).toBe(false);
  expect(train.filter((r) => r.userId === '2')).toHaveLength(3);
  expect(Math.max(...train.filter((r) => r.userId === '1').map((r) => r.timestamp))).toBeLessThan(600);
  return { result, items: await loadItems(path.join(out, 'items.arrow')), users: await loadUsers(path.join(out, 'users.arrow')) };
}

describe('importMovielens', () => {
  it('ml-100k: tab ratings, Latin-1 u.item with genre flags and release dates, u.user', async () => {
    const item = Buffer.concat([
      Buffer.from(`1|Toy Story (1995)|01-Jan-1995||http://x|${flags([3, 4, 5])}\n`, 'latin1'),
      // 0xE9 is 'é' in Latin-1 (and invalid UTF-8 on its own).
      Buffer.from([...Buffer.from('2|Caf'), 0xe9, ...Buffer.from(` Society (1996)|15-Mar-1996||http://y|${flags([8])}\n`)]),
      Buffer.from(`3|Mystery Film|||http://z|${flags([0])}\n`, 'latin1'),
      Buffer.from(`4|Old One (1960)|||http://w|${flags([1, 17])}\n`, 'latin1'),
      Buffer.from(`5|Five (1997)|01-Jan-1997||u|${flags([5])}\n6|Six (1998)|01-Jan-1998||u|${flags([5])}\n7|Seven (1999)|01-Jan-1999||u|${flags([5])}\n`),
    ]);
    const src = fixture('ml-100k', {
      'u.data': RATINGS.map((r) => r.join('\t')).join('\n') + '\n',
      'u.item': item,
      'u.user': '1|24|M|technician|85711\n2|53|F|other|94043\n',
    });
    const { result, items, users } = await check(src, path.join(root, 'out-100k'), 'ml-100k');
    expect(result.items).toBe(7);
    expect(items[0]).toEqual({ itemId: '1', category: 'Animation', tags: ['Animation', "Children's", 'Comedy'], numeric: { num_year: 1995 } });
    expect(items[1].numeric.num_year).toBe(1996);
    expect((await readMovies100k(path.join(src, 'u.item'))).titles[1]).toBe('Café Society (1996)');
    // 'unknown' is no genre; no release date and no year in the title → the median year.
    expect(items[2]).toEqual({ itemId: '3', category: null, tags: [], numeric: { num_year: result.medianYear } });
    expect(result.medianYear).toBe(1996);
    expect(items[3]).toMatchObject({ category: 'Action', tags: ['Action', 'War'], numeric: { num_year: 1960 } });
    expect(users).toEqual([
      { userId: '1', categorical: { cat_gender: 'M', cat_age_band: '18-24', cat_occupation: 'technician' }, numeric: {} },
      { userId: '2', categorical: { cat_gender: 'F', cat_age_band: '50-55', cat_occupation: 'other' }, numeric: {} },
    ]);
  });

  it('ml-1m: "::" files, Latin-1 movies.dat, coded users.dat', async () => {
    const movies = Buffer.concat([
      Buffer.from('1::Toy Story (1995)::Animation|Children\'s|Comedy\n'),
      Buffer.from([...Buffer.from('2::Am'), 0xe9, ...Buffer.from('lie (2001)::Comedy|Romance\n')]),
      Buffer.from('3::Three (1993)::Drama\n4::Four (1994)::Drama\n5::Five (1995)::Drama\n6::Six (1996)::Drama\n7::Seven (1997)::Drama\n'),
    ]);
    const src = fixture('ml-1m', {
      'ratings.dat': RATINGS.map((r) => r.join('::')).join('\n') + '\n',
      'movies.dat': movies,
      'users.dat': '1::F::1::10::48067\n2::M::56::16::70072\n',
    });
    const { items, users } = await check(src, path.join(root, 'out-1m'), 'ml-1m');
    expect(items[1]).toEqual({ itemId: '2', category: 'Comedy', tags: ['Comedy', 'Romance'], numeric: { num_year: 2001 } });
    expect(items.map((i) => i.numeric.num_year)).toEqual([1995, 2001, 1993, 1994, 1995, 1996, 1997]);
    expect(users).toEqual([
      { userId: '1', categorical: { cat_gender: 'F', cat_age_band: 'Under 18', cat_occupation: 'K-12 student' }, numeric: {} },
      { userId: '2', categorical: { cat_gender: 'M', cat_age_band: '56+', cat_occupation: 'self-employed' }, numeric: {} },
    ]);
    // The Latin-1 byte was decoded as 'é', not as a UTF-8 replacement character.
    expect((await readMoviesDat(path.join(src, 'movies.dat'))).titles[1]).toBe('Amélie (2001)');
  });

  it('ml-latest: CSV with CRLF, quoted titles, "(no genres listed)", UTF-8; users come from ratings', async () => {
    const src = fixture('ml-latest', {
      'ratings.csv': 'userId,movieId,rating,timestamp\r\n' + RATINGS.map((r) => r.join(',')).join('\r\n') + '\r\n',
      'movies.csv':
        'movieId,title,genres\r\n1,Toy Story (1995),Adventure|Animation\r\n2,"Amélie, Le Fabuleux (2001)",Comedy|Romance\r\n' +
        '3,"Quote ""Me"" (1993) ",(no genres listed)\r\n4,No Year,Drama\r\n5,Five (1995),Drama\r\n6,Six (1996),Drama\r\n7,"Seven (2007-2008)",Drama\r\n',
    });
    const { result, items, users } = await check(src, path.join(root, 'out-latest'), 'ml-latest');
    expect(items[1]).toEqual({ itemId: '2', category: 'Comedy', tags: ['Comedy', 'Romance'], numeric: { num_year: 2001 } });
    expect((await readMoviesCsv(path.join(src, 'movies.csv'))).titles.slice(1, 3)).toEqual(['Amélie, Le Fabuleux (2001)', 'Quote "Me" (1993)']);
    expect(items[2]).toEqual({ itemId: '3', category: null, tags: [], numeric: { num_year: 1993 } });
    expect(items[3].numeric.num_year).toBe(result.medianYear);
    expect(items[6].numeric.num_year).toBe(2007);
    expect(users).toEqual([
      { userId: '1', categorical: {}, numeric: {} },
      { userId: '2', categorical: {}, numeric: {} },
    ]);
  });

  it('detects formats and reports what is missing', async () => {
    expect(detectMovielens(path.join(root, 'ml-100k')).format).toBe('ml-100k');
    const tenM = fixture('ml-10m', { 'ratings.dat': '1::1::5::1\n', 'movies.dat': '1::A (1990)::Drama\n' });
    expect(detectMovielens(tenM).format).toBe('ml-10m');
    const empty = fixture('nothing', { 'readme.txt': 'hi' });
    await expectInputError(importMovielens(empty, path.join(root, 'o1')), { file: empty, says: /not a MovieLens folder/ });
    const noMovies = fixture('nomovies', { 'ratings.csv': 'userId,movieId,rating,timestamp\n' });
    await expectInputError(importMovielens(noMovies, path.join(root, 'o2')), { file: path.join(noMovies, 'movies.csv'), says: /needs movies.csv/ });
  });

  it('bad rating lines name file, row and column', async () => {
    const src = fixture('bad', {
      'ratings.csv': 'userId,movieId,rating,timestamp\n1,1,4,100\n1,1,four,100\n',
      'movies.csv': 'movieId,title,genres\n1,A (1990),Drama\n',
    });
    await expectInputError(importMovielens(src, path.join(root, 'o3')), { file: path.join(src, 'ratings.csv'), row: 2, column: 'rating' });
    const hdr = fixture('badheader', { 'ratings.csv': 'user,movieId,rating,timestamp\n', 'movies.csv': 'movieId,title,genres\n' });
    await expectInputError(importMovielens(hdr, path.join(root, 'o4')), { file: path.join(hdr, 'ratings.csv'), column: 'userId' });
    const data = fixture('bad100k', { 'u.data': '1\t1\t5\t10\n1\t1\n', 'u.item': `1|A (1990)|||u|${flags([1])}\n` });
    await expectInputError(importMovielens(data, path.join(root, 'o5')), { file: path.join(data, 'u.data'), row: 2, says: /expected 4 fields/ });
    const item = fixture('baditem', { 'u.data': '1\t1\t5\t10\n', 'u.item': '1|A (1990)|||u|0|1\n' });
    await expectInputError(importMovielens(item, path.join(root, 'o6')), { file: path.join(item, 'u.item'), row: 1, says: /at least 24 fields/ });
  });
});

describe('year and age helpers', () => {
  it('parse titles, release dates and age bands', () => {
    expect(yearFromTitle('Heat (1995)')).toBe(1995);
    expect(yearFromTitle('Babylon 5 (1994–1998) ')).toBe(1994);
    expect(yearFromTitle('1984')).toBeNull();
    expect(yearFromReleaseDate('01-Jan-1995')).toBe(1995);
    expect(yearFromReleaseDate('')).toBeNull();
    expect([ageBand(7), ageBand(18), ageBand(49), ageBand(50), ageBand(73)]).toEqual(['Under 18', '18-24', '45-49', '50-55', '56+']);
  });
});
