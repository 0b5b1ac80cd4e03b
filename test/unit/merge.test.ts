import t from 'tap'
import { changes, cookieText, mergeOver, snapshot, storedTexts, written, type Changes } from '../../plugin/session/merge.js'

// ---- What changed since a snapshot, and taking in the store's copy ----

type Data = Record<string, unknown>
/** A local edit of a session, made after its snapshot. */
type Edit = (s: Data) => void

const none: Edit = () => {}
const plain = (c: Changes | undefined): unknown =>
  c === undefined ? undefined : { changed: Object.fromEntries(c.changed), removed: c.removed, invalid: c.invalid }
const cookie = (expires: string, originalMaxAge = 3_600_000): Data => ({ expires: new Date(expires), originalMaxAge, path: '/', httpOnly: true })
const cycle = (): Data => { const o: Data = {}; o.self = o; return o }
/** A cookie's fingerprint: expiry in ms, then originalMaxAge, path, domain, secure, sameSite, httpOnly, partitioned. */
const print = (expires: string, maxAge = 3_600_000): string => `${Date.parse(expires)}|${maxAge}|/|undefined|undefined|undefined|true|undefined`
const Y30 = '2030-01-01T00:00:00.000Z'
const Y31 = '2031-01-01T00:00:00.000Z'

t.test('snapshot: each key as JSON text, the cookie as its fingerprint', async (t) => {
  const rows: Array<{ name: string, session: Data, expected: Record<string, string> }> = [
    { name: 'JSON values', session: { a: 1, s: 'x', n: null, o: { b: [1] } }, expected: { a: '1', s: '"x"', n: 'null', o: '{"b":[1]}' } },
    { name: 'values JSON drops are absent', session: { a: 1, u: undefined, f: () => 1, [Symbol('s')]: 1 }, expected: { a: '1' } },
    { name: 'values JSON cannot write are absent', session: { a: 1, big: 1n, o: cycle() }, expected: { a: '1' } },
    { name: 'a Date is its ISO text, NaN is null', session: { d: new Date(0), x: NaN }, expected: { d: '"1970-01-01T00:00:00.000Z"', x: 'null' } },
    { name: 'the cookie', session: { cookie: cookie(Y30) }, expected: { cookie: print(Y30) } }
  ]
  for (const { name, session, expected } of rows) t.strictSame(Object.fromEntries(snapshot(session)), expected, name)
})

t.test('cookieText: a cookie and its stored JSON have one fingerprint', async (t) => {
  const live = cookie(Y30)
  t.equal(cookieText(live), print(Y30))
  t.equal(cookieText(JSON.parse(JSON.stringify(live))), print(Y30), 'its JSON')
  t.equal(cookieText({ expires: null, originalMaxAge: null }), '|null|undefined|undefined|undefined|undefined|undefined|undefined', 'no expiry')
})

t.test('changes: the keys changed, removed or unwritable since the snapshot', async (t) => {
  const rows: Array<{ name: string, before: Data, after: Edit, expected: unknown }> = [
    { name: 'untouched keys: none', before: { a: 1, o: { b: 2 } }, after: none, expected: undefined },
    { name: 'an added key', before: { a: 1 }, after: (s) => { s.b = { c: true } }, expected: { changed: { b: '{"c":true}' }, removed: [], invalid: [] } },
    { name: 'a changed key, the others untouched', before: { a: 1, b: 2 }, after: (s) => { s.a = 2 }, expected: { changed: { a: '2' }, removed: [], invalid: [] } },
    { name: 'a removed key', before: { a: 1, b: 2 }, after: (s) => { delete s.a }, expected: { changed: {}, removed: ['a'], invalid: [] } },
    { name: 'a key set to undefined is removed', before: { a: 1 }, after: (s) => { s.a = undefined }, expected: { changed: {}, removed: ['a'], invalid: [] } },
    { name: 'a key set to a function is removed', before: { a: 1 }, after: (s) => { s.a = () => 1 }, expected: { changed: {}, removed: ['a'], invalid: [] } },
    { name: 'one key removed, another added', before: { a: 1 }, after: (s) => { delete s.a; s.b = 1 }, expected: { changed: { b: '1' }, removed: ['a'], invalid: [] } },
    { name: 'a key removed and set again to its value: none', before: { a: 1 }, after: (s) => { delete s.a; s.a = 1 }, expected: undefined },
    { name: 'a nested object mutated in place', before: { user: { name: 'ada', roles: ['r'] } }, after: (s) => { (s.user as { name: string }).name = 'bob' }, expected: { changed: { user: '{"name":"bob","roles":["r"]}' }, removed: [], invalid: [] } },
    { name: 'an array pushed in place', before: { list: [1, 2] }, after: (s) => { (s.list as number[]).push(3) }, expected: { changed: { list: '[1,2,3]' }, removed: [], invalid: [] } },
    { name: 'equal copies: none', before: { list: [1, 2], o: { a: 1 } }, after: (s) => { s.list = [1, 2]; s.o = { a: 1 } }, expected: undefined },
    { name: 'a Date is its ISO text', before: {}, after: (s) => { s.d = new Date(0) }, expected: { changed: { d: '"1970-01-01T00:00:00.000Z"' }, removed: [], invalid: [] } },
    { name: 'NaN is written as null: null to NaN is none', before: { a: null }, after: (s) => { s.a = NaN }, expected: undefined },
    { name: 'a BigInt is invalid', before: { a: 1 }, after: (s) => { s.n = 1n }, expected: { changed: {}, removed: [], invalid: ['n'] } },
    { name: 'a cycle is invalid', before: { a: 1 }, after: (s) => { s.a = cycle() }, expected: { changed: {}, removed: [], invalid: ['a'] } },
    { name: 'a throwing toJSON is invalid', before: {}, after: (s) => { s.x = { toJSON: () => { throw new Error('no') } } }, expected: { changed: {}, removed: [], invalid: ['x'] } },
    { name: 'a throwing getter is invalid', before: {}, after: (s) => { Object.defineProperty(s, 'g', { enumerable: true, get: () => { throw new Error('no') } }) }, expected: { changed: {}, removed: [], invalid: ['g'] } },
    { name: 'a key invalid at the snapshot is still invalid', before: { n: 1n }, after: none, expected: { changed: {}, removed: [], invalid: ['n'] } },
    { name: 'the cookie replaced by its JSON: none', before: { cookie: cookie(Y30) }, after: (s) => { s.cookie = JSON.parse(JSON.stringify(s.cookie)) }, expected: undefined },
    { name: 'a new cookie expiry, as its fingerprint', before: { cookie: cookie(Y30) }, after: (s) => { (s.cookie as Data).expires = new Date(Y31) }, expected: { changed: { cookie: print(Y31) }, removed: [], invalid: [] } }
  ]
  for (const { name, before, after, expected } of rows) {
    const base = snapshot(before)
    after(before)
    t.strictSame(plain(changes(before, base)), expected, name)
  }
})

t.test('mergeOver: the local changes laid over the store\'s copy', async (t) => {
  const rows: Array<{ name: string, before: Data, after: Edit, stored: Data, expected: Data }> = [
    { name: 'changed, added and removed keys; the store\'s others kept', before: { a: 1, b: 2, c: 3 }, after: (s) => { s.b = 20; s.d = 4; delete s.c }, stored: { a: 'theirs', b: 2, c: 3, e: 5 }, expected: { a: 'theirs', b: 20, e: 5, d: 4 } },
    { name: 'an invalid key keeps the store\'s value', before: { a: 1 }, after: (s) => { s.a = 1n; s.b = 2 }, stored: { a: 'theirs' }, expected: { a: 'theirs', b: 2 } },
    { name: 'the cookie as its JSON', before: { cookie: cookie(Y30) }, after: (s) => { (s.cookie as Data).expires = new Date(Y31) }, stored: { cookie: { expires: Y30 } }, expected: { cookie: { expires: Y31, originalMaxAge: 3_600_000, path: '/', httpOnly: true } } }
  ]
  for (const { name, before, after, stored, expected } of rows) {
    const base = snapshot(before)
    after(before)
    const copy = structuredClone(stored)
    const merged = mergeOver(stored, before, changes(before, base) ?? { changed: new Map(), removed: [], invalid: [] })
    t.strictSame(merged, expected, name)
    t.strictSame(stored, copy, `${name}: the stored copy untouched`)
  }
  const session: Data = { o: { a: 1 } }
  const merged = mergeOver({}, session, { changed: new Map([['o', '{"a":1}']]), removed: [], invalid: [] })
  t.not(merged.o, session.o, 'values are copies')
})

t.test('storedTexts and written', async (t) => {
  const session: Data = { a: 1, b: 2, cookie: cookie(Y30) }
  const base = snapshot(session)
  session.a = 10
  delete session.b
  const local = changes(session, base)
  if (local === undefined) throw new Error('expected changes')
  t.equal(storedTexts(local, session), local.changed, 'without a cookie change: the changed texts themselves')
  ;(session.cookie as Data).expires = new Date(Y31)
  const withCookie = changes(session, base)
  if (withCookie === undefined) throw new Error('expected changes')
  t.strictSame(Object.fromEntries(storedTexts(withCookie, session)), { a: '10', cookie: JSON.stringify(session.cookie) }, 'the cookie as its JSON')
  t.equal(withCookie.changed.get('cookie'), print(Y31), 'the changes keep its fingerprint')
  written(base, withCookie)
  t.strictSame(Object.fromEntries(base), { a: '10', cookie: print(Y31) }, 'the snapshot records what was written')
  t.equal(changes(session, base), undefined, 'nothing left to save')
})
