import t from 'tap'
import type { FastifyBaseLogger } from 'fastify'
import { LiveSession, type Context, type Data } from '../../plugin/session/live-session.js'
import type { Store, Stored } from '../../plugin/session/store.js'

// ---- A live session's save queue over a store without a merge-save, driven step by step ----

/** A store without a merge-save whose reads wait until `open()` is called. */
function gatedStore (initial: Stored): { store: Store, stored: () => Stored, open: () => void } {
  let data: Stored = structuredClone(initial)
  let open!: () => void
  const gate = new Promise<void>((resolve) => { open = resolve })
  const store: Store = {
    get: async () => { await gate; return structuredClone(data) },
    set: async (_id, value) => { data = structuredClone(value as Stored) },
    destroy: async () => { data = {} },
    merge: undefined,
    shared: undefined,
    stream: undefined,
    exclusive: async (_id, run) => await run()
  }
  return { store, stored: () => data, open }
}

const quiet = { error () {}, warn () {} } as unknown as FastifyBaseLogger
const context = (store: Store): Context => ({
  store,
  log: quiet,
  options: { autoSave: true, errorEvent: 'session:error', rolling: false, touchAfter: 60_000, storeTimeout: 5000 },
  events: { saved () {}, gone () {} },
  node: 'node'
})

t.test('a key removed, then set back to its old value while the save reads the store, is saved', async (t) => {
  const { store, stored, open } = gatedStore({ a: 1, b: 1 })
  const data: Data = { a: 1, b: 1 }
  const live = new LiveSession(context(store), 'id', data)
  delete data.a
  const first = live.flush()
  data.a = 1
  open()
  t.equal(await first, undefined, 'the removal is saved')
  t.strictSame(data, { a: 1, b: 1 }, 'the key set back stays in the live session')
  t.equal(await live.flush(), undefined, 'the key set back is saved next')
  t.strictSame(stored(), { a: 1, b: 1 }, 'and the store has it')
})

t.test('a key changed, then set back while the save reads the store, is saved', async (t) => {
  const { store, stored, open } = gatedStore({ a: 1 })
  const data: Data = { a: 1 }
  const live = new LiveSession(context(store), 'id', data)
  data.a = 2
  const first = live.flush()
  data.a = 1
  open()
  await first
  await live.flush()
  t.strictSame(stored(), { a: 1 }, 'the last value wins')
  t.strictSame(data, { a: 1 })
})
