import t, { type Test } from 'tap'
import { Redis } from 'ioredis'
import { startRedis } from './redis-server.js'
import { MessageStream, nodeRedisStream, type NodeRedisStreamClient } from '../plugin/redis/stream.js'
import type { StreamClient } from '../plugin/session/store.js'

// ---- The stream of messages between nodes, by itself on a real Redis ----

const redis = await startRedis(t)
const admin = redis.client()
const KEY = 'test:messages'

/** A stream of node `node` on an ioredis client of its own, or on `on` (a node-redis client's); what it delivers, and how often it found a gap. */
function node (t: Test, name: string, on?: StreamClient) {
  const client = new Redis({ port: redis.port, host: '127.0.0.1', maxRetriesPerRequest: 1 })
  client.on('error', () => {})
  const got: unknown[][] = []
  const waiting: Array<() => void> = []
  const counts = { gaps: 0, warnings: 0 }
  const stream = new MessageStream({ client: on ?? client as unknown as StreamClient, key: KEY }, name, (message) => {
    got.push(message)
    for (const wake of waiting.splice(0)) wake()
  }, () => counts.gaps++, () => counts.warnings++)
  t.teardown(() => {
    stream.stop()
    client.disconnect()
  })
  /** Resolves once `n` messages were delivered. */
  const delivered = async (n: number): Promise<unknown[][]> => {
    while (got.length < n) await new Promise<void>((resolve) => waiting.push(resolve))
    return got
  }
  return { stream, client, delivered, counts }
}

/** Resolves, with the stream's length, once a node wrote its first entry (its 'up'). */
async function joined (): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const length = await admin.xlen(KEY)
    if (length > 0) return length
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
  return 0
}

t.test('entries the plugin did not write are skipped; its own messages are not delivered to itself', async (t) => {
  await admin.del(KEY)
  const a = node(t, 'a')
  const b = node(t, 'b')
  a.stream.start()
  t.equal(await joined(), 1)
  b.stream.start()
  for (let i = 0; i < 200 && await admin.xlen(KEY) < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  await admin.xadd(KEY, '*', 'other', 'fields')
  await admin.xadd(KEY, '*', 'n', 'x', 'm', 'not json')
  await admin.xadd(KEY, '*', 'n', 'x', 'm', '{"not":"an array"}')
  a.stream.send(['changed', 'key-1'])
  b.stream.send(['gone', 'key-2'])
  t.same(await a.delivered(2), [['up'], ['gone', 'key-2']], 'A hears B join, then gets its message, and none of the others')
  t.same(await b.delivered(1), [['changed', 'key-1']], 'B gets A\'s message only')
  t.same([a.counts, b.counts], [{ gaps: 0, warnings: 0 }, { gaps: 0, warnings: 0 }])
})

t.test('a node that starts while Redis is down joins once it is back, and hears what is sent then', async (t) => {
  await admin.del(KEY)
  await redis.kill()
  const a = node(t, 'a')
  a.stream.start()
  // Stopped before it could join: it never reads.
  const early = node(t, 'early')
  early.stream.start()
  early.stream.stop()
  await new Promise((resolve) => setTimeout(resolve, 300))
  await redis.start()
  t.equal(await joined(), 1, 'A joined once Redis was back; the stopped node did not')
  const b = node(t, 'b')
  b.stream.start()
  for (let i = 0; i < 200 && await admin.xlen(KEY) < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  b.stream.send(['changed', 'key-3'])
  t.same(await a.delivered(2), [['up'], ['changed', 'key-3']], 'A hears B join, then its message')
  t.equal(await admin.xlen(KEY), 3, 'two nodes joined (the stopped one did not), one message')
})

for (const resp of [2, 3] as const) {
  t.test(`on node-redis (RESP${resp}): messages cross both ways, and a reader whose connection was cut reads what it missed`, async (t) => {
    await admin.del(KEY)
    const a = node(t, 'a', nodeRedisStream(await redis.nodeClient(resp) as unknown as NodeRedisStreamClient))
    const b = node(t, 'b')
    a.stream.start()
    t.equal(await joined(), 1)
    b.stream.start()
    for (let i = 0; i < 200 && await admin.xlen(KEY) < 2; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    a.stream.send(['changed', 'key-1'])
    b.stream.send(['gone', 'key-2'])
    t.same(await a.delivered(2), [['up'], ['gone', 'key-2']], 'A (node-redis) hears B join, then gets its message')
    t.same(await b.delivered(1), [['changed', 'key-1']], 'B (ioredis) gets A\'s message')
    // The readers are cut off (node-redis and ioredis connect them again); B writes meanwhile.
    const readers = ((await admin.client('LIST')) as string).split('\n').filter((line) => / cmd=xread/.test(line))
    t.equal(readers.length, 2, 'two readers')
    for (const line of readers) await admin.client('KILL', 'ID', (/^id=(\d+)/.exec(line) as RegExpExecArray)[1])
    b.stream.send(['changed', 'key-3'])
    t.same((await a.delivered(3)).slice(2), [['changed', 'key-3']], 'A gets what B wrote while its reader was away')
    t.same(a.counts, { gaps: 0, warnings: 0 }, 'nothing was trimmed: no gap')
  })
}
