import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { expect, test } from 'vitest';
import { parseSourceSpec, sourceCopyId, type SourceSpec } from '../../src/connect/index.js';

/**
 * A keystore's copy (src/connect/source-copy.ts) is named by what it reads, not by its directory:
 * the same table read by two keystores (two slots, two machines, other credentials) is one copy;
 * another table, other columns, another bucket or another server is another.
 */

const fixture = (name: string): SourceSpec => parseSourceSpec(JSON.parse(readFileSync(join(import.meta.dirname, '../../fixtures', name), 'utf8')));
const specs = [fixture('keystore-source-v1.json'), fixture('keystore-source-redis-v1.json'), fixture('keystore-source-etcd-v1.json')];

/** What a second keystore of the same source may differ in: its subscription, its schedule, the URL's credentials and options. */
function sameSourceElsewhere(spec: SourceSpec, slot: string, every: number, user: string): SourceSpec {
  const s = spec.source;
  // A raw '@' in the password, as URL parsers allow (credentials end at the last '@').
  const withUser = (url: string) => url.replace(/^([a-z]+:\/\/)(?:[^/?#]*@)?/i, `$1${encodeURIComponent(user)}:s@cr@t@`);
  const source =
    s.engine === 'etcd'
      ? { ...s, slot, endpoints: [...s.endpoints].reverse() }
      : { ...s, slot, url: `${withUser(s.url)}${s.url.includes('?') ? '&' : '?'}connect_timeout=5` };
  return { ...spec, rebuildEveryMs: every, source } as SourceSpec;
}

test('law: a keystore of the same source elsewhere (another slot, schedule, user, endpoint order) is the same copy', () => {
  for (const spec of specs) {
    expect(sourceCopyId(spec)).toMatch(/^[0-9a-f]{32}$/);
    fc.assert(
      fc.property(fc.stringMatching(/^[a-z0-9_]{1,20}$/), fc.nat(), fc.stringMatching(/^[a-z]{1,8}$/), (slot, every, user) => {
        expect(sourceCopyId(sameSourceElsewhere(spec, slot, every, user))).toBe(sourceCopyId(spec));
      }),
    );
  }
});

test('another bucket, another server, and (per engine) another table, column set, glob or prefix are other copies', () => {
  for (const spec of specs) {
    const id = sourceCopyId(spec);
    expect(sourceCopyId({ ...spec, bucket: `${spec.bucket}x` })).not.toBe(id);
    const s = spec.source;
    if (s.engine === 'postgresql') {
      // Several hosts in any order are one source.
      const at = (hosts: string) => sourceCopyId({ ...spec, source: { ...s, url: `postgresql://aae@${hosts}/app` } });
      expect(at('h2:5432,H1:5432')).toBe(at('h1:5432,h2:5432'));
      expect(sourceCopyId({ ...spec, source: { ...s, table: `${s.table}_2` } })).not.toBe(id);
      expect(sourceCopyId({ ...spec, source: { ...s, columns: [...s.columns, 'extra'] } })).not.toBe(id);
      expect(s.url).toContain('@db.example:5432/');
      expect(sourceCopyId({ ...spec, source: { ...s, url: s.url.replace('db.example', 'otherhost') } })).not.toBe(id);
      expect(sourceCopyId({ ...spec, source: { ...s, url: s.url.replace('/app', '/other_db') } })).not.toBe(id);
    } else if (s.engine === 'redis') {
      expect(sourceCopyId({ ...spec, source: { ...s, match: `other:${s.match}` } })).not.toBe(id);
      expect(sourceCopyId({ ...spec, source: { ...s, db: s.db + 1 } })).not.toBe(id);
      expect(sourceCopyId({ ...spec, source: { ...s, url: 'redis://otherhost:6379' } })).not.toBe(id);
    } else {
      expect(sourceCopyId({ ...spec, source: { ...s, prefix: `${s.prefix}x/` } })).not.toBe(id);
      expect(sourceCopyId({ ...spec, source: { ...s, endpoints: ['http://otherhost:2379'] } })).not.toBe(id);
    }
  }
});
