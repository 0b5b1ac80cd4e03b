import t from 'tap'
import { absorb, absorbChanges, changes, cookieText, mergeOver, replaceWith, revert, snapshot, storedTexts, written, type Changes } from '../../plugin/session/merge.js'

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

t.test('revert: the named keys get their stored value back', async (t) => {
  const rows: Array<{ name: string, before: Data, after: Edit, keys: string[], expected: Data }> = [
    { name: 'a stored key', before: { a: { x: 1 } }, after: (s) => { s.a = 1n }, keys: ['a'], expected: { a: { x: 1 } } },
    { name: 'a key never stored goes', before: { a: 1 }, after: (s) => { s.n = 1n }, keys: ['n'], expected: { a: 1 } },
    { name: 'only the named keys', before: { a: 1, b: 1 }, after: (s) => { s.a = 2; s.b = 2 }, keys: ['a'], expected: { a: 1, b: 2 } },
    { name: 'never the cookie', before: { cookie: cookie(Y30) }, after: (s) => { (s.cookie as Data).expires = new Date(Y31) }, keys: ['cookie'], expected: { cookie: cookie(Y31) } }
  ]
  for (const { name, before, after, keys, expected } of rows) {
    const base = snapshot(before)
    after(before)
    revert(before, base, keys)
    t.strictSame(before, expected, name)
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

t.test('absorb: the store\'s copy taken in, unless this process changed the key too', async (t) => {
  const rows: Array<{ name: string, before: Data, after: Edit, stored: Data, wrote?: Record<string, string>, expected: Data, next: unknown }> = [
    { name: 'changed there, untouched here: taken', before: { a: 1, b: 1 }, after: none, stored: { a: 2, b: 1 }, expected: { a: 2, b: 1 }, next: undefined },
    { name: 'added there: taken', before: { a: 1 }, after: none, stored: { a: 1, c: { d: 3 } }, expected: { a: 1, c: { d: 3 } }, next: undefined },
    { name: 'removed there, untouched here: removed', before: { a: 1, b: 1 }, after: none, stored: { a: 1 }, expected: { a: 1 }, next: undefined },
    { name: 'changed on both sides: ours kept, to be saved', before: { a: 1 }, after: (s) => { s.a = 10 }, stored: { a: 2 }, expected: { a: 10 }, next: { changed: { a: '10' }, removed: [], invalid: [] } },
    { name: 'the same value on both sides: nothing left to save', before: { a: 1 }, after: (s) => { s.a = 2 }, stored: { a: 2 }, expected: { a: 2 }, next: undefined },
    { name: 'removed here, changed there: stays removed', before: { a: 1, b: 1 }, after: (s) => { delete s.a }, stored: { a: 2, b: 1 }, expected: { b: 1 }, next: { changed: {}, removed: ['a'], invalid: [] } },
    { name: 'changed here, removed there: kept', before: { a: 1 }, after: (s) => { s.a = 5 }, stored: {}, expected: { a: 5 }, next: { changed: { a: '5' }, removed: [], invalid: [] } },
    { name: 'added on both sides: ours kept', before: {}, after: (s) => { s.a = 1 }, stored: { a: 2 }, expected: { a: 1 }, next: { changed: { a: '1' }, removed: [], invalid: [] } },
    { name: 'written by us, set back during the save: ours kept', before: { a: 1 }, after: none, stored: { a: 2 }, wrote: { a: '2' }, expected: { a: 1 }, next: { changed: { a: '1' }, removed: [], invalid: [] } },
    { name: 'a cookie the store\'s copy lacks stays', before: { a: 1, cookie: cookie(Y30) }, after: none, stored: { a: 1 }, expected: { a: 1, cookie: cookie(Y30) }, next: undefined },
    { name: 'the stored cookie\'s expiry and maxAge are taken', before: { cookie: cookie(Y30) }, after: none, stored: { cookie: { expires: Y31, originalMaxAge: 60_000, path: '/', httpOnly: true } }, expected: { cookie: cookie(Y31, 60_000) }, next: undefined }
  ]
  for (const { name, before, after, stored, wrote, expected, next } of rows) {
    const base = snapshot(before)
    after(before)
    absorb(before, base, stored, wrote === undefined ? undefined : new Map(Object.entries(wrote)))
    t.strictSame(before, expected, name)
    t.strictSame(plain(changes(before, base)), next, `${name}: then`)
  }
  const live = cookie(Y30)
  const session: Data = { cookie: live }
  absorb(session, snapshot(session), { cookie: { expires: Y31 } })
  t.equal(session.cookie, live, 'the cookie object is kept')
})

t.test('absorbChanges: another writer\'s changes, unless this process changed the key too', async (t) => {
  const rows: Array<{ name: string, after: Edit, expected: Data }> = [
    { name: 'untouched here: taken', after: none, expected: { a: 2, c: 1, d: 4 } },
    { name: 'changed here: ours kept', after: (s) => { s.a = 5; s.b = 5 }, expected: { a: 5, b: 5, c: 1, d: 4 } }
  ]
  for (const { name, after, expected } of rows) {
    const session: Data = { a: 1, b: 1, c: 1 }
    const base = snapshot(session)
    after(session)
    const theirs: Data = { a: 1, b: 1, c: 1 }
    const theirBase = snapshot(theirs)
    theirs.a = 2
    theirs.d = 4
    delete theirs.b
    const local = changes(theirs, theirBase)
    if (local === undefined) throw new Error('expected changes')
    absorbChanges(session, base, local, theirs)
    t.strictSame(session, expected, name)
  }
})

t.test('replaceWith: the store\'s copy replaces local changes', async (t) => {
  const live = cookie(Y30)
  const session: Data = { a: 1, b: 1, cookie: live }
  const base = snapshot(session)
  session.a = 5
  session.x = 1
  replaceWith(session, base, { a: 2, c: 3, cookie: { expires: Y31, originalMaxAge: 3_600_000, path: '/', httpOnly: true } })
  t.strictSame(session, { a: 2, c: 3, cookie: cookie(Y31) })
  t.equal(session.cookie, live, 'the cookie object is kept')
  t.equal(changes(session, base), undefined, 'nothing left to save')
})
