/**
 * A second edge dataset: the types and objects each dialect has of its own. MariaDB: enum, set,
 * JSON, bit(1)/bit(n), time beyond 24 h, float, char padding, decimal(65,30), a latin1 column,
 * a generated column, a table name with a space, ON DELETE CASCADE, a unique key. PostgreSQL:
 * arrays, an enum type, a domain, interval, inet/cidr, json (kept verbatim), timestamptz, timetz,
 * varbit, uuid, a stored generated column, CHECK and UNIQUE constraints, a second schema (left
 * out with `schemas`). SQLite: WITHOUT ROWID with a text key, AUTOINCREMENT, unix-epoch DATETIME integers,
 * a table name with a space, ON DELETE CASCADE.
 */
import type { Dialect, EdgeDataset } from './edge-data.ts';
import { prng } from './edge-data.ts';

type V = string | number | bigint | Buffer | null;

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)] as T;
}

export function extraDataset(d: Dialect, seed = 11): EdgeDataset {
  const r = prng(seed);
  if (d === 'mysql') {
    const more: V[][] = [];
    for (let i = 1; i <= 150; i++) {
      more.push([
        i,
        pick(r, ['small', 'medium', 'large', '', null]),
        pick(r, ['', 'a', 'a,c', 'a,b,c', null]),
        pick(r, ['{"b": 1, "a": [1, 2.5, "😀"]}', '[]', '{}', 'null', '"x"', null]),
        pick(r, [Buffer.from([0]), Buffer.from([1]), null]),
        pick(r, [Buffer.from([0b10100101]), Buffer.from([0]), Buffer.from([255]), null]),
        pick(r, ['838:59:59.000', '-12:30:00.500', '00:00:00', '23:59:59.999', null]),
        pick(r, [3.5, -0.25, 1e10, 0, null]),
        pick(r, ['ab', '', 'abcde', ' x', null]),
        pick(r, ['12345678901234567890123456789012345.123456789012345678901234567890', '-0.000000000000000000000000000001', '0', null]),
        pick(r, ['café', 'naïve', 'plain', null]),
      ]);
    }
    const child: V[][] = [];
    for (let i = 1; i <= 200; i++) child.push([i, 1 + (i % 150), pick(r, ['x', 'y', null])]);
    return {
      tables: [
        { name: 'more', columns: ['id', 'e', 's', 'j', 'b1', 'b8', 'tm', 'fl', 'ch', 'd65', 'lat'], rows: more },
        { name: 'my table', columns: ['id', 'more_id', 'v'], rows: child },
      ],
      ddl: [
        "CREATE TABLE `more` (`id` int NOT NULL AUTO_INCREMENT PRIMARY KEY, `e` enum('small','medium','large',''), `s` set('a','b','c'), `j` json, `b1` bit(1), `b8` bit(8), `tm` time(3), `fl` float, `ch` char(5), `d65` decimal(65,30), `lat` varchar(20) CHARACTER SET latin1, `twice` int AS (`id` * 2) VIRTUAL, UNIQUE KEY `more_ch_id` (`ch`, `id`)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4",
        'CREATE TABLE `my table` (`id` int NOT NULL PRIMARY KEY, `more_id` int NOT NULL, `v` varchar(10), CONSTRAINT `fk_more` FOREIGN KEY (`more_id`) REFERENCES `more` (`id`) ON DELETE CASCADE) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4',
      ],
    };
  }
  if (d === 'postgresql') {
    const more: V[][] = [];
    for (let i = 1; i <= 150; i++) {
      more.push([
        i,
        pick(r, ['{1,2,3}', '{}', '{NULL,-2147483648}', null]),
        pick(r, ['{"a b","c\\"d",NULL,"😀"}', '{}', '{"{}"}', null]),
        pick(r, ['happy', 'sad', null]),
        pick(r, [1, 42, null]),
        pick(r, ['1 year 2 mons 3 days 04:05:06.789', '-00:00:01', '0', null]),
        pick(r, ['192.168.0.1', '::1', '10.0.0.0/8', null]),
        pick(r, ['10.0.0.0/8', '2001:db8::/32', null]),
        pick(r, ['{"b": 1,  "a": 2}', '[1, 2]', null]),
        pick(r, ['1950-05-05 05:05:05+02', '2060-01-01 00:00:00.123456+00', null]),
        pick(r, ['12:00:00+05:30', '23:59:59.999999-08', null]),
        pick(r, ['1011', '', '1', null]),
        r() < 0.2 ? null : `a0eebc99-9c0b-4ef8-bb6d-${i.toString(16).padStart(12, '0')}`,
      ]);
    }
    return {
      tables: [{ name: 'more', columns: ['id', 'ia', 'ta', 'mood', 'pos', 'iv', 'ip', 'net', 'js', 'tstz', 'ttz', 'vb', 'u'], rows: more }],
      ddl: [
        `CREATE TYPE mood AS ENUM ('happy', 'sad')`,
        `CREATE DOMAIN positive AS integer CHECK (VALUE > 0)`,
        `CREATE TABLE more (id serial PRIMARY KEY, ia integer[], ta text[], mood mood, pos positive, iv interval, ip inet, net cidr, js json, tstz timestamptz, ttz timetz, vb varbit, u uuid UNIQUE, twice integer GENERATED ALWAYS AS (id * 2) STORED, CHECK (pos < 1000))`,
        `CREATE SCHEMA other`,
        `CREATE TABLE other.not_migrated (id int PRIMARY KEY)`,
        `INSERT INTO other.not_migrated VALUES (1)`,
      ],
    };
  }
  const words: V[][] = [];
  for (let i = 0; i < 120; i++) words.push([`k-${String(i).padStart(4, '0')}-${pick(r, ['ä', 'b', '😀'])}`, pick(r, [1, 2, null])]);
  const log: V[][] = [];
  for (let i = 1; i <= 150; i++) log.push([i, pick(r, [0n, 1700000000n, -86400n * 365n * 30n, 4102444800n]), pick(r, ['2024-01-01', '1899-12-31', null]), words[i % words.length]![0] as string]);
  return {
    tables: [
      { name: 'words', columns: ['w', 'n'], rows: words },
      { name: 'my log', columns: ['id', 'at', 'day', 'word'], rows: log },
    ],
    ddl: [
      `CREATE TABLE "words" ("w" TEXT PRIMARY KEY, "n" INTEGER) WITHOUT ROWID`,
      `CREATE TABLE "my log" ("id" INTEGER PRIMARY KEY AUTOINCREMENT, "at" DATETIME, "day" DATE, "word" TEXT REFERENCES "words" ("w") ON DELETE CASCADE)`,
    ],
  };
}
