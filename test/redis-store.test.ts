import t, { type Test as Tap } from 'tap'
import { createServer, type AddressInfo } from 'node:net'
import { Redis } from 'ioredis'
import { createClient } from 'redis'
import { RedisStore, type RedisStoreOptions } from '../plugin/index.js'
import { kMergeSave } from '../plugin/session/store.js'
import { startRedis } from './redis-server.js'
import { startApp, call, sessionIdOf } from './helpers.js'

// ---- The Redis session store, against a real redis-server ----

const redis = await startRedis(t)

/** Promise face of the store's callbacks. */
function api (store: RedisStore) {
  return {
    get: async (id: string) => await new Promise<any>((resolve, reject) => store.get(id, (err, value) => err ? reject(err) : resolve(value))),
    set: async (id: string, data: any) => await new Promise<void>((resolve, reject) => store.set(id, data, (err) => err ? reject(err) : resolve())),
    destroy: async (id: string) => await new Promise<void>((resolve, reject) => store.destroy(id, (err) => err ? reject(err) : resolve())),
    merge: store[kMergeSave]
  }
}

const inAMinute = () => new Date(Date.now() + 60_000).toISOString()

/** A hash whose field is named `__proto__` reads as a session without it, its prototype untouched. */
async function protoSkipped (t: Tap, s: ReturnType<typeof api>, client: Redis, prefix: string): Promise<void> {
  await client.hset(`${prefix}proto`, 'cookie', '{}', '__proto__', '{"polluted":true}')
  const data = await s.get('proto')
  t.equal(Object.getPrototypeOf(data), Object.prototype, 'a __proto__ field is skipped')
  t.equal(data.polluted, undefined)
}

/** A client for the store under test: ioredis (as @fastify/redis gives it) or node-redis. */
async function clientOf (kind: 'ioredis' | 'node-redis'): Promise<RedisStoreOptions['client']> {
  return kind === 'ioredis' ? redis.client() : await redis.nodeClient()
}

for (const kind of ['ioredis', 'node-redis'] as const) {
  t.test(`set, get and destroy; TTL from the cookie; the key prefix (${kind})`, async (t) => {
    const client = redis.client()
    await client.flushall() // each client kind's tests start on an empty Redis: they use the same session ids
    const storeClient = await clientOf(kind)
    const s = api(new RedisStore({ client: storeClient, prefix: 'app1:' }))
    await s.set('a', { cookie: { expires: inAMinute(), originalMaxAge: 60_000 }, user: 'ada', cart: [], n: 12345678901234567, skip: undefined })
    t.same(await s.get('a'), { cookie: { expires: (await s.get('a')).cookie.expires, originalMaxAge: 60_000 }, user: 'ada', cart: [], n: 12345678901234567 })
    t.same(await client.hkeys('app1:a'), ['cookie', 'user', 'cart', 'n'], 'one hash field per key, under the prefix')
    const ttl = await client.pttl('app1:a')
    t.ok(ttl > 58_000 && ttl <= 60_000, `TTL follows the cookie (${ttl} ms)`)
    await s.set('b', { cookie: { expires: null }, user: 'bob' })
    t.ok(await client.pttl('app1:b') > 86_000_000, 'a browser-session cookie gets the default TTL of a day')
    await s.set('c', { cookie: { expires: 'not a date' }, user: 'bob' })
    t.ok(await client.pttl('app1:c') > 86_000_000, 'so does an expiry that is not a date')
    await s.destroy('a')
    t.equal(await s.get('a'), null, 'destroyed')
    t.equal(await s.get('nobody'), null, 'unknown')
    await s.destroy('nobody')
    t.equal(await client.exists('app1:nobody'), 0, 'destroying an unknown session leaves nothing behind')
  })

  t.test(`the common save is a plain HSET: keys already stored, nothing removed, the lifetime unchanged (${kind})`, async (t) => {
    const client = redis.client()
    const storeClient = await clientOf(kind)
    const s = api(new RedisStore({ client: storeClient }))
    await s.set('h', { cookie: { expires: inAMinute() }, user: 'ada', count: 1 })
    await redis.resetCommands()
    t.equal(await s.merge('h', new Map([['count', '2']]), [], undefined), 'saved')
    t.same(await redis.commands(), { hset: 1 }, 'one HSET')
    t.equal(await s.merge('h', new Map([['count', '3'], ['cart', '["a"]']]), [], undefined), 'saved', 'one key new, one stored: saved')
    t.same(await redis.commands(), { hset: 2 }, 'still one command')
    t.equal(await s.merge('h', new Map([['color', '"red"']]), [], undefined), 'saved', 'every key new: the session is checked')
    t.same(await s.get('h'), { cookie: (await s.get('h')).cookie, user: 'ada', count: 3, cart: ['a'], color: 'red' })
    await client.hset('sess:partial', 'user', '"eve"')
    t.equal(await s.get('partial'), null, 'a hash without a cookie is no session')
    const failing = api(new RedisStore({ client: { hgetall: async () => ({}), eval: async () => 1, evalsha: async () => 1, hset: async () => { throw new Error('connection lost') } } }))
    await t.rejects(failing.merge('h', new Map([['count', '4']]), [], undefined), { message: 'connection lost' }, 'other errors are the store\'s errors')
  })

  t.test(`saves made together go out together, each with its own outcome (${kind})`, async (t) => {
    const storeClient = await clientOf(kind)
    const s = api(new RedisStore({ client: storeClient }))
    for (const id of ['p1', 'p2', 'p3']) await s.set(id, { cookie: { expires: inAMinute() }, n: 0 })
    await s.destroy('p3')
    await redis.resetCommands()
    const outcomes = await Promise.all(['p1', 'p2', 'p3'].map(async (id) => await s.merge(id, new Map([['n', '1']]), [], undefined)))
    t.strictSame(outcomes, ['saved', 'saved', 'gone'])
    t.same(await redis.commands(), { hset: 3 })
    t.strictSame(await Promise.all(['p1', 'p2', 'p3'].map(async (id) => (await s.get(id))?.n ?? null)), [1, 1, null])
  })

  t.test(`never resurrect: after destroy, neither an HTTP save nor a merge-save brings the session back (${kind})`, async (t) => {
    const client = redis.client()
    const storeClient = await clientOf(kind)
    const s = api(new RedisStore({ client: storeClient, tombstoneTtl: 5000 }))
    await s.set('x', { cookie: { expires: inAMinute() }, user: 'ada' })
    await s.destroy('x')
    await t.rejects(s.set('x', { cookie: { expires: inAMinute() }, user: 'ada' }), { code: 'FST_SIO_SESSION_GONE' })
    t.equal(await s.merge('x', new Map([['user', '"eve"']]), [], undefined), 'gone', 'a tombstone: gone')
    t.equal(await s.get('x'), null)
    const ttl = await client.pttl('sess:x')
    t.ok(ttl > 0 && ttl <= 5000, `the tombstone expires with tombstoneTtl (${ttl} ms)`)
    t.equal(await s.merge('never-stored', new Map([['user', '"eve"']]), [], undefined), 'absent', 'a merge-save never creates')
    t.equal(await client.exists('sess:never-stored'), 0)
  })

  t.test(`merge-save writes only the changed keys, in one command (${kind})`, async (t) => {
    const client = redis.client()
    const storeClient = await clientOf(kind)
    const s = api(new RedisStore({ client: storeClient }))
    await s.set('m', { cookie: { expires: inAMinute() }, user: 'ada', cart: ['http'], old: 1 })
    // Scripts are loaded into Redis by their first use; then each is one EVALSHA.
    await s.merge('m', new Map(), ['none'], undefined)
    await redis.resetCommands()
    t.equal(await s.merge('m', new Map([['count', '1']]), ['old'], undefined), 'saved')
    t.same(await redis.commands(), { evalsha: 1 }, 'one command')
    const merged = await s.get('m')
    t.same(merged, { cookie: merged.cookie, user: 'ada', cart: ['http'], count: 1 })
    const before = await client.pttl('sess:m')
    await s.merge('m', new Map([['cookie', JSON.stringify({ expires: new Date(Date.now() + 600_000) })]]), [], { expires: new Date(Date.now() + 600_000) })
    t.ok(await client.pttl('sess:m') > before + 500_000, 'a changed cookie moves the TTL')
  })

  t.test(`Redis lost its scripts (restart, SCRIPT FLUSH): the store loads them again (${kind})`, async (t) => {
    const client = redis.client()
    const storeClient = await clientOf(kind)
    const s = api(new RedisStore({ client: storeClient }))
    await s.set('f', { cookie: {}, user: 'ada' })
    await client.script('FLUSH')
    t.equal((await s.get('f')).user, 'ada')
  })

  t.test(`corrupt data: a value that is not JSON fails clearly; a key of another type is no session (${kind})`, async (t) => {
    const client = redis.client()
    const storeClient = await clientOf(kind)
    const s = api(new RedisStore({ client: storeClient }))
    await client.hset('sess:bad', 'cookie', '{}', 'user', '{not json')
    await t.rejects(s.get('bad'), { code: 'FST_SIO_SESSION_CORRUPT', message: /key "user" is not JSON/ })
    await client.rpush('sess:list', 'x')
    t.equal(await s.get('list'), null)
    await protoSkipped(t, s, client, 'sess:')
  })
}

t.test('node-redis on RESP3: hashes answered as objects', async (t) => {
  const client = redis.client()
  const s = api(new RedisStore({ client: await redis.nodeClient(3), prefix: 'resp3:' }))
  await s.set('r', { cookie: { expires: inAMinute() }, user: 'ada', cart: [1, 2] })
  t.equal(await s.merge('r', new Map([['user', '"bob"']]), [], undefined), 'saved')
  const stored = await s.get('r')
  t.same(stored, { cookie: stored.cookie, user: 'bob', cart: [1, 2] })
  t.same(await client.hkeys('resp3:r'), ['cookie', 'user', 'cart'])
  t.equal(await s.get('nobody'), null)
  await protoSkipped(t, s, client, 'resp3:')
})

t.test('every call times out when Redis does not answer', async (t) => {
  // A server that accepts connections and never answers: ioredis waits for it to be ready, holding the commands.
  const silent = createServer(() => {})
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { silent.close() })
  const stalled = new Redis({ port: (silent.address() as AddressInfo).port, host: '127.0.0.1' })
  stalled.on('error', () => {})
  t.teardown(() => stalled.disconnect())
  const s = api(new RedisStore({ client: stalled, timeout: 100 }))
  const started = Date.now()
  await t.rejects(s.get('a'), { code: 'FST_SIO_SESSION_TIMEOUT', message: /did not answer within 100 ms/ })
  t.ok(Date.now() - started < 1000)
  await t.rejects(s.set('a', { cookie: {} }), { code: 'FST_SIO_SESSION_TIMEOUT' })
  await t.rejects(s.destroy('a'), { code: 'FST_SIO_SESSION_TIMEOUT' })

  const stalledNode = createClient({ socket: { port: (silent.address() as AddressInfo).port, host: '127.0.0.1' } })
  stalledNode.on('error', () => {})
  stalledNode.connect().catch(() => {})
  t.teardown(() => stalledNode.destroy())
  const n = api(new RedisStore({ client: stalledNode, timeout: 100 }))
  await t.rejects(n.get('a'), { code: 'FST_SIO_SESSION_TIMEOUT' }, 'node-redis too')
  await t.rejects(n.merge('a', new Map([['user', '"x"']]), [], undefined), { code: 'FST_SIO_SESSION_TIMEOUT' })
})

t.test('options are checked', async (t) => {
  t.throws(() => new RedisStore(undefined as any), { code: 'FST_SIO_SESSION_BAD_OPTION', message: /needs \{ client \}/ })
  t.throws(() => new RedisStore({ client: {} as any }), { code: 'FST_SIO_SESSION_BAD_OPTION' })
  t.throws(() => new RedisStore({ client: { evalsha () {}, eval () {} } as any }), { code: 'FST_SIO_SESSION_BAD_OPTION' })
  const client = redis.client()
  t.throws(() => new RedisStore({ client, prefix: 1 as any }), /"prefix" must be a string/)
  t.throws(() => new RedisStore({ client, ttl: 0 }), /"ttl" must be a positive number/)
  t.throws(() => new RedisStore({ client, timeout: Number.NaN }), /"timeout"/)
  t.throws(() => new RedisStore({ client, tombstoneTtl: -1 }), /"tombstoneTtl"/)
  t.throws(() => new RedisStore({ client, stream: 'yes' as any }), { code: 'FST_SIO_SESSION_BAD_OPTION', message: /"stream" must be true or false/ })
})

t.test('round trips: one per handshake, none per read-only event, one per changing event', async (t) => {
  const { login, connected } = await startApp(t, {
    redis: redis.url,
    setup: (app) => {
      app.io.on('connection', (socket) => {
        socket.on('read', (ack: (v: unknown) => void) => ack(socket.session.get('user' as never)))
        socket.on('inc', (ack: (v: unknown) => void) => {
          const s = socket.session as any
          s.count = (s.count ?? 0) + 1
          ack(s.count)
        })
      })
    }
  })
  const cookie = await login({ user: 'ada' })
  // Scripts are loaded into Redis by their first use; then each is one EVALSHA.
  t.equal(await call(await connected({ extraHeaders: { cookie } }), 'inc'), 1)
  await redis.resetCommands()
  const socket = await connected({ extraHeaders: { cookie } })
  t.same(await redis.commands(), { hgetall: 1 }, 'the handshake: one command')
  await redis.resetCommands()
  for (let i = 0; i < 20; i++) t.equal(await call(socket, 'read'), 'ada')
  t.same(await redis.commands(), {}, 'twenty read-only events: none')
  for (let i = 2; i <= 21; i++) t.equal(await call(socket, 'inc'), i)
  t.same(await redis.commands(), { hset: 20 }, 'twenty changing events: twenty commands (a plain HSET each)')
})

t.test('rolling on Redis: socket activity moves the key\'s TTL with the cookie', async (t) => {
  const { login, connected } = await startApp(t, {
    redis: redis.url,
    session: { cookie: { secure: false, maxAge: 60_000 } },
    plugin: { touchAfter: 20 },
    setup: (app) => { app.io.on('connection', (socket) => socket.on('ping', (ack: (v: unknown) => void) => ack('pong'))) }
  })
  const cookie = await login()
  const id = sessionIdOf(cookie)
  const client = redis.client()
  await client.pexpire(`sess:${id}`, 30_000)
  const socket = await connected({ extraHeaders: { cookie } })
  // Time passes: the extension is worth a write once it is touchAfter (20 ms) or more.
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.equal(await call(socket, 'ping'), 'pong')
  const ttl = await client.pttl(`sess:${id}`)
  t.ok(ttl > 58_000, `the TTL follows the extended cookie (${ttl} ms)`)
  const stored = JSON.parse(await client.hget(`sess:${id}`, 'cookie') as string)
  t.ok(new Date(stored.expires).getTime() > Date.now() + 58_000, 'and so does the stored cookie')
})

t.test('a key a socket handler deletes is removed from the stored hash; other keys stay', async (t) => {
  const { login, connected } = await startApp(t, {
    redis: redis.url,
    setup: (app) => {
      app.io.on('connection', (socket) => socket.on('drop', (key: string, ack: (v: unknown) => void) => {
        delete (socket.session as any)[key]
        ack('ok')
      }))
    }
  })
  const cookie = await login({ user: 'ada', cart: ['pen'] })
  const id = sessionIdOf(cookie)
  const socket = await connected({ extraHeaders: { cookie } })
  t.equal(await call(socket, 'drop', 'cart'), 'ok')
  t.same((await redis.client().hkeys(`sess:${id}`)).sort(), ['cookie', 'user'])
})

t.test('an HTTP request that loaded the session before a logout cannot bring it back: it is answered 410', async (t) => {
  let release: () => void = () => {}
  const held = new Promise<void>((resolve) => { release = resolve })
  let loaded: () => void = () => {}
  const started = new Promise<void>((resolve) => { loaded = resolve })
  const { url, login } = await startApp(t, {
    redis: redis.url,
    setup: (app) => {
      app.post('/slow', async (request) => {
        loaded()
        await held
        request.session.set('late' as never, true as never)
        return { ok: true }
      })
    }
  })
  const cookie = await login()
  const id = sessionIdOf(cookie)
  const slow = fetch(`${url}/slow`, { method: 'POST', headers: { cookie } })
  await started
  await fetch(`${url}/logout`, { method: 'POST', headers: { cookie } })
  release()
  const response = await slow
  t.equal(response.status, 410)
  t.match(await response.json(), { code: 'FST_SIO_SESSION_GONE' })
  t.equal(await redis.client().type(`sess:${id}`), 'string', 'still a tombstone')
})
