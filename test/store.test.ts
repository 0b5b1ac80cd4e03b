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
