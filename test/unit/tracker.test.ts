import t from 'tap'
import { Tracker } from '../../plugin/session/tracker.js'
import type { Changes, Data } from '../../plugin/session/merge.js'

// ---- What handlers touched: writes through the view, objects handed out, and the store's copies taken in ----

type Edit = (view: Data) => void
const none: Edit = () => {}
/** Changes as plain data, for comparing. */
const plain = (c: Changes | undefined): unknown =>
  c === undefined ? undefined : { changed: Object.fromEntries(c.changed), removed: c.removed, invalid: c.invalid }
const cookie = (expires: string, originalMaxAge = 3_600_000): Data => ({ expires: new Date(expires), originalMaxAge, path: '/', httpOnly: true })
const Y30 = '2030-01-01T00:00:00.000Z'
const Y31 = '2031-01-01T00:00:00.000Z'
/** A tracker over `data`; `shares`: the store shares its objects (a memory store). */
const track = (data: Data, shares = false): Tracker => new Tracker(data, shares)

t.test('changes: what was written, removed or changed in place through the view', async (t) => {
  const rows: Array<{ name: string, data: Data, edit: Edit, expected: unknown }> = [
    { name: 'nothing touched', data: { a: 1 }, edit: none, expected: undefined },
    { name: 'a primitive read', data: { a: 1 }, edit: (s) => { void s.a }, expected: undefined },
    { name: 'a key written', data: { a: 1 }, edit: (s) => { s.a = 2 }, expected: { changed: { a: '2' }, removed: [], invalid: [] } },
    { name: 'a key added', data: {}, edit: (s) => { s.n = 'x' }, expected: { changed: { n: '"x"' }, removed: [], invalid: [] } },
    { name: 'a key removed', data: { a: 1, b: 1 }, edit: (s) => { delete s.a }, expected: { changed: {}, removed: ['a'], invalid: [] } },
    { name: 'a key set to undefined counts as removed', data: { a: 1 }, edit: (s) => { s.a = undefined }, expected: { changed: {}, removed: ['a'], invalid: [] } },
    { name: 'the same value written again', data: { a: 1 }, edit: (s) => { s.a = 1 }, expected: undefined },
    { name: 'written, then set back', data: { a: 1 }, edit: (s) => { s.a = 2; s.a = 1 }, expected: undefined },
    { name: 'an equal object written', data: { a: { x: 1 } }, edit: (s) => { s.a = { x: 1 } }, expected: undefined },
    { name: 'a nested push', data: { cart: [1] }, edit: (s) => { (s.cart as number[]).push(2) }, expected: { changed: { cart: '[1,2]' }, removed: [], invalid: [] } },
    { name: 'a deep change', data: { u: { p: { n: 1 } } }, edit: (s) => { ((s.u as Data).p as Data).n = 2 }, expected: { changed: { u: '{"p":{"n":2}}' }, removed: [], invalid: [] } },
    { name: 'an object read, not changed', data: { u: { n: 1 } }, edit: (s) => { void (s.u as Data).n }, expected: undefined },
    { name: 'Object.assign', data: { a: 1 }, edit: (s) => { Object.assign(s, { a: 2, b: 3 }) }, expected: { changed: { a: '2', b: '3' }, removed: [], invalid: [] } },
    { name: 'Object.defineProperty', data: {}, edit: (s) => { Object.defineProperty(s, 'd', { value: 1, enumerable: true, writable: true, configurable: true }) }, expected: { changed: { d: '1' }, removed: [], invalid: [] } },
    { name: 'a BigInt written', data: { a: 1 }, edit: (s) => { s.a = 1n }, expected: { changed: {}, removed: [], invalid: ['a'] } },
    { name: 'a cycle made in place', data: { o: { x: 1 } }, edit: (s) => { const o = s.o as Data; o.self = o }, expected: { changed: {}, removed: [], invalid: ['o'] } },
    { name: 'the cookie changed in place', data: { cookie: cookie(Y30) }, edit: (s) => { (s.cookie as Data).expires = new Date(Y31) }, expected: { changed: { cookie: `${Date.parse(Y31)}|3600000|/|undefined|undefined|undefined|true|undefined` }, removed: [], invalid: [] } }
  ]
  for (const { name, data, edit, expected } of rows) {
    const tracker = track(data)
    edit(tracker.view)
    t.strictSame(plain(tracker.changes()), expected, name)
  }
})

t.test('keys nobody touched are never serialized', async (t) => {
  let serialized = 0
  const data: Data = { user: 'u', views: 1, cart: { toJSON () { serialized++; return [] } } }
  const tracker = track(data)
  const view = tracker.view
  t.equal(view.user, 'u')
  view.views = (view.views as number) + 1
  t.strictSame(plain(tracker.changes()), { changed: { views: '2' }, removed: [], invalid: [] })
  t.equal(serialized, 0, 'the untouched cart was not serialized')
  void view.cart
  tracker.changes()
  t.ok(serialized > 0, 'once handed out, it is compared')
})

t.test('an object kept from an earlier event is still seen when changed', async (t) => {
  const tracker = track({ cart: [1] })
  const cart = tracker.view.cart as number[]
  t.equal(tracker.changes(), undefined)
  tracker.clean()
  cart.push(2)
  const local = tracker.changes()
  t.strictSame(plain(local), { changed: { cart: '[1,2]' }, removed: [], invalid: [] })
  tracker.sendStarted()
  tracker.sent(local as Changes)
  t.equal(tracker.changes(), undefined, 'saved')
  cart.push(3)
  t.strictSame(plain(tracker.changes()), { changed: { cart: '[1,2,3]' }, removed: [], invalid: [] }, 'and changed again after the save')
})

t.test('a store that shares its objects: an object is copied when first handed out', async (t) => {
  const kept = { cart: [1], big: { n: 1n } }
  const data: Data = { cart: kept.cart, big: kept.big }
  const tracker = track(data, true)
  const cart = tracker.view.cart as number[]
  t.not(cart, kept.cart, 'a copy')
  t.equal(tracker.view.cart, cart, 'the same copy each time')
  cart.push(2)
  t.strictSame(kept.cart, [1], 'the store\'s object is untouched')
  t.equal(tracker.view.big, kept.big, 'a value JSON cannot write is not copied')
  tracker.view.fresh = { a: 1 }
  t.equal(data.fresh, tracker.view.fresh, 'an object the application wrote is its own')
  const ownTracker = track({ cart: kept.cart })
  t.equal(ownTracker.view.cart, kept.cart, 'a store that makes new objects: nothing copied')
})

t.test('a save: written meanwhile stays to save; a failed save leaves its keys to save', async (t) => {
  const tracker = track({ a: 1, b: 1 })
  const view = tracker.view
  view.a = 2
  let local = tracker.changes() as Changes
  tracker.sendStarted()
  view.a = 3
  tracker.sent(local)
  t.strictSame(plain(tracker.changes()), { changed: { a: '3' }, removed: [], invalid: [] }, 'the write during the save')
  local = tracker.changes() as Changes
  tracker.sendStarted()
  tracker.sendFailed()
  t.strictSame(plain(tracker.changes()), { changed: { a: '3' }, removed: [], invalid: [] }, 'still to save after a failure')
  tracker.sendStarted()
  tracker.sent(local)
  t.equal(tracker.changes(), undefined, 'saved')
  view.b = 1
  tracker.clean()
  t.equal(tracker.changes(), undefined, 'clean: nothing to save')
})

t.test('revert: the keys that cannot be saved get their stored value back', async (t) => {
  const rows: Array<{ name: string, data: Data, edit: Edit, keys: string[], expected: Data }> = [
    { name: 'a stored key', data: { a: { x: 1 } }, edit: (s) => { s.a = 1n }, keys: ['a'], expected: { a: { x: 1 } } },
    { name: 'changed in place', data: { a: { x: 1 } }, edit: (s) => { (s.a as Data).x = 1n }, keys: ['a'], expected: { a: { x: 1 } } },
    { name: 'a key never stored goes', data: { a: 1 }, edit: (s) => { s.n = 1n }, keys: ['n'], expected: { a: 1 } },
    { name: 'only the named keys', data: { a: 1, b: 1 }, edit: (s) => { s.a = 1n; s.b = 2 }, keys: ['a'], expected: { a: 1, b: 2 } },
    { name: 'never the cookie', data: { cookie: cookie(Y30) }, edit: (s) => { (s.cookie as Data).expires = new Date(Y31) }, keys: ['cookie'], expected: { cookie: cookie(Y31) } }
  ]
  for (const { name, data, edit, keys, expected } of rows) {
    const tracker = track(data)
    edit(tracker.view)
    tracker.revert(keys)
    t.strictSame(data, expected, name)
  }
})

t.test('absorb: the store\'s copy taken in, unless this process changed the key and has not saved it', async (t) => {
  const rows: Array<{ name: string, data: Data, edit: Edit, stored: Data, expected: Data, next: unknown }> = [
    { name: 'changed there, untouched here: taken', data: { a: 1, b: 1 }, edit: none, stored: { a: 2, b: 1 }, expected: { a: 2, b: 1 }, next: undefined },
    { name: 'added there: taken', data: { a: 1 }, edit: none, stored: { a: 1, c: { d: 3 } }, expected: { a: 1, c: { d: 3 } }, next: undefined },
    { name: 'removed there, untouched here: removed', data: { a: 1, b: 1 }, edit: none, stored: { a: 1 }, expected: { a: 1 }, next: undefined },
    { name: 'changed on both sides: ours kept, to be saved', data: { a: 1 }, edit: (s) => { s.a = 10 }, stored: { a: 2 }, expected: { a: 10 }, next: { changed: { a: '10' }, removed: [], invalid: [] } },
    { name: 'the same value on both sides: nothing left to save', data: { a: 1 }, edit: (s) => { s.a = 2 }, stored: { a: 2 }, expected: { a: 2 }, next: undefined },
    { name: 'removed here, changed there: stays removed', data: { a: 1, b: 1 }, edit: (s) => { delete s.a }, stored: { a: 2, b: 1 }, expected: { b: 1 }, next: { changed: {}, removed: ['a'], invalid: [] } },
    { name: 'changed here, removed there: kept', data: { a: 1 }, edit: (s) => { s.a = 5 }, stored: {}, expected: { a: 5 }, next: { changed: { a: '5' }, removed: [], invalid: [] } },
    { name: 'added on both sides: ours kept', data: {}, edit: (s) => { s.a = 1 }, stored: { a: 2 }, expected: { a: 1 }, next: { changed: { a: '1' }, removed: [], invalid: [] } },
    { name: 'a handed-out object changed there: taken', data: { u: { n: 1 } }, edit: (s) => { void s.u }, stored: { u: { n: 2 } }, expected: { u: { n: 2 } }, next: undefined },
    { name: 'a handed-out object removed there: removed', data: { u: { n: 1 } }, edit: (s) => { void s.u }, stored: {}, expected: {}, next: undefined },
    { name: 'a handed-out object changed here, removed there: kept', data: { u: { n: 1 } }, edit: (s) => { (s.u as Data).n = 2 }, stored: {}, expected: { u: { n: 2 } }, next: { changed: { u: '{"n":2}' }, removed: [], invalid: [] } },
    { name: 'a handed-out object changed on both sides: ours kept', data: { u: { n: 1 } }, edit: (s) => { (s.u as Data).n = 3 }, stored: { u: { n: 2 } }, expected: { u: { n: 3 } }, next: { changed: { u: '{"n":3}' }, removed: [], invalid: [] } },
    { name: 'a cookie the store\'s copy lacks stays', data: { a: 1, cookie: cookie(Y30) }, edit: none, stored: { a: 1 }, expected: { a: 1, cookie: cookie(Y30) }, next: undefined },
    { name: 'the stored cookie\'s expiry and maxAge are taken', data: { cookie: cookie(Y30) }, edit: none, stored: { cookie: { expires: Y31, originalMaxAge: 60_000, path: '/', httpOnly: true } }, expected: { cookie: cookie(Y31, 60_000) }, next: undefined },
    { name: 'a stored cookie without an expiry', data: { cookie: cookie(Y30) }, edit: none, stored: { cookie: { path: '/' } }, expected: { cookie: { expires: null, originalMaxAge: null, path: '/', httpOnly: true } }, next: undefined },
    { name: 'a stored cookie that is not an object is ignored', data: { cookie: cookie(Y30) }, edit: none, stored: { cookie: null }, expected: { cookie: cookie(Y30) }, next: undefined },
    { name: 'the cookie changed here: ours kept', data: { cookie: cookie(Y30) }, edit: (s) => { (s.cookie as Data).expires = new Date(Y31) }, stored: { cookie: { expires: Y30, originalMaxAge: 3_600_000, path: '/', httpOnly: true } }, expected: { cookie: cookie(Y31) }, next: { changed: { cookie: `${Date.parse(Y31)}|3600000|/|undefined|undefined|undefined|true|undefined` }, removed: [], invalid: [] } }
  ]
  for (const { name, data, edit, stored, expected, next } of rows) {
    const tracker = track(data)
    edit(tracker.view)
    tracker.absorb(stored)
    t.strictSame(data, expected, name)
    t.strictSame(plain(tracker.changes()), next, `${name}: then`)
  }
  const live = cookie(Y30)
  const data: Data = { cookie: live, u: { n: 1 } }
  const tracker = track(data)
  const u = tracker.view.u
  tracker.absorb({ cookie: { expires: Y31 }, u: { n: 1 } })
  t.equal(data.cookie, live, 'the cookie object is kept')
  t.equal(data.u, u, 'a handed-out object equal to the stored one is kept')
  const empty = track({})
  empty.absorb({ cookie: { expires: Y31 } })
  t.strictSame(empty.data, {}, 'no cookie to take the stored one into')
})

t.test('a save on a store without a merge-save: what it wrote, and a key removed then set back meanwhile', async (t) => {
  const data: Data = { a: 1, b: 1 }
  const tracker = track(data)
  const view = tracker.view
  delete view.a
  view.b = 2
  const local = tracker.changes() as Changes
  tracker.sendStarted()
  view.a = 1
  // The store's copy after the save: the local changes laid over it.
  tracker.absorb({ b: 2, c: 3 }, local.changed)
  tracker.sent(local)
  t.strictSame(data, { a: 1, b: 2, c: 3 })
  t.strictSame(plain(tracker.changes()), { changed: { a: '1' }, removed: [], invalid: [] }, 'the key set back is saved next')
})

t.test('absorbChanges: another writer\'s changes, unless this process changed the key', async (t) => {
  const theirs: Changes = { changed: new Map([['a', '2'], ['d', '{"e":4}']]), removed: ['b'], invalid: [] }
  const source: Data = { a: 2, c: 1, d: { e: 4 } }
  const rows: Array<{ name: string, edit: Edit, expected: Data, next: unknown }> = [
    { name: 'untouched here: taken', edit: none, expected: { a: 2, c: 1, d: { e: 4 } }, next: undefined },
    { name: 'changed here: ours kept', edit: (s) => { s.a = 5; s.b = 5 }, expected: { a: 5, b: 5, c: 1, d: { e: 4 } }, next: { changed: { a: '5', b: '5' }, removed: [], invalid: [] } }
  ]
  for (const { name, edit, expected, next } of rows) {
    const data: Data = { a: 1, b: 1, c: 1 }
    const tracker = track(data, true)
    edit(tracker.view)
    tracker.absorbChanges(theirs, source)
    t.strictSame(data, expected, name)
    t.not(data.d, source.d, `${name}: a copy of their object`)
    t.strictSame(plain(tracker.changes()), next, `${name}: then`)
  }
})

t.test('replaceWith and clear', async (t) => {
  const live = cookie(Y30)
  const data: Data = { a: 1, b: 1, cookie: live }
  const tracker = track(data)
  tracker.view.a = 5
  tracker.view.x = 1
  tracker.replaceWith({ a: 2, c: 3, cookie: { expires: Y31, originalMaxAge: 3_600_000, path: '/', httpOnly: true } })
  t.strictSame(data, { a: 2, c: 3, cookie: cookie(Y31) })
  t.equal(data.cookie, live, 'the cookie object is kept')
  t.equal(tracker.changes(), undefined, 'nothing left to save')
  const kept = { cart: [1] }
  const shared = track({ cart: [0] }, true)
  shared.replaceWith(kept)
  t.not(shared.view.cart, kept.cart, 'a reload from a store that shares its objects: copied when handed out')
  tracker.view.a = 9
  tracker.clear()
  t.strictSame(data, { cookie: cookie(Y31) }, 'cleared: only the cookie')
  t.equal(tracker.changes(), undefined)
})
