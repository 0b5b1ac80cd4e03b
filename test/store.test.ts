import t from 'tap'
import { MemoryStore } from '@fastify/session'
import { timedStore } from '../plugin/session/store.js'

// ---- The store as the plugin calls it ----

t.test('read-merge-writes of one session run one after another, whatever the one before did', async (t) => {
  const store = timedStore(new MemoryStore(), 1000)
  const order: string[] = []
  let release = (): void => {}
  const first = store.exclusive('s', async () => {
    order.push('first starts')
    await new Promise<void>((resolve) => { release = resolve })
    order.push('first ends')
    throw new Error('first failed')
  })
  const second = store.exclusive('s', async () => { order.push('second'); return 2 })
  const other = store.exclusive('other session', async () => { order.push('other'); return 3 })
  t.equal(await other, 3, 'another session does not wait')
  release()
  await t.rejects(first, { message: 'first failed' })
  t.equal(await second, 2)
  t.same(order, ['first starts', 'other', 'first ends', 'second'])
})

/** A store whose methods run `behave` with the callback. */
function storeThat (behave: (callback: (err?: unknown, value?: unknown) => void) => void): MemoryStore {
  const store = new MemoryStore()
  store.get = (_id, callback) => behave(callback as never)
  return store
}

t.test('a store call answers with what the store called back, whether it throws before or after', async (t) => {
  const thrown = timedStore(storeThat(() => { throw new Error('broken get') }), 1000)
  await t.rejects(thrown.get('s'), { code: 'FST_SIO_SESSION_STORE', message: /broken get/ }, 'a throw without a callback fails the call')

  const answeredThenThrew = timedStore(storeThat((callback) => {
    callback(null, { user: 'alice' })
    throw new Error('thrown after answering')
  }), 1000)
  t.same(await answeredThenThrew.get('s'), { user: 'alice' }, 'the answer given before the throw stands')

  const later = timedStore(storeThat((callback) => { setImmediate(() => callback(null, { user: 'bob' })) }), 1000)
  t.same(await later.get('s'), { user: 'bob' }, 'an answer that comes later is awaited')
})

t.test('a store that answers at once gets no timer (store-timeout.test.ts times out the others)', async (t) => {
  const realSetTimeout = globalThis.setTimeout
  let timers = 0
  globalThis.setTimeout = ((...args: Parameters<typeof setTimeout>) => { timers++; return realSetTimeout(...args) }) as typeof setTimeout
  t.teardown(() => { globalThis.setTimeout = realSetTimeout })
  const pending: Array<Promise<unknown>> = []
  const sync = timedStore(new MemoryStore(), 60_000)
  for (let i = 0; i < 100; i++) pending.push(sync.set(`s${i}`, { i }), sync.get(`s${i}`))
  t.equal(timers, 0, 'no timer for calls answered at once')
  const later = timedStore(storeThat((callback) => { setImmediate(() => callback(null, {})) }), 60_000)
  pending.push(later.get('s'))
  t.equal(timers, 1, 'a call answered later has its timer')
  await Promise.all(pending)
  t.same(await sync.get('s7'), { i: 7 })
})
