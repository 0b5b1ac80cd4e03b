import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { startRedis } from './redis-server.js'
import { Redis } from 'ioredis'
import { createAdapter } from '@socket.io/redis-adapter'
import { RedisStore } from '../plugin/index.js'
import { call, captureLogs, next, startApp, type AppOptions, type TestApp } from './helpers.js'

// ---- Messages lost while Redis or a node's connection was away: the nodes catch up when it returns ----
// The revalidation timer is set out of the way (10 minutes): what catches up here is the stream, or the reconnect.

const redis = await startRedis(t)
const admin = redis.client()

/** The stream that carries the nodes' messages (the Redis store's default prefix). */
const STREAM = '{sess:}:messages'

const routes = (app: FastifyInstance): void => {
  app.io.on('connection', (socket) => {
    const s = socket.session as any
    socket.on('get', (key: string, ack: (v: unknown) => void) => ack(s[key] ?? null))
    socket.on('logout', async (ack: (v: unknown) => void) => {
      try {
        await s.destroy()
        ack('bye')
      } catch (err) {
        ack((err as { code?: string }).code)
      }
    })
  })
}

/**
 * Two nodes on one Redis, with the Redis adapter. Their store is on the app's ioredis client (messages on the
 * stream), or on a node-redis client with `stream: false` when `adapterOnly` (messages over the adapter). B's stream reader is kept.
 */
async function nodes (t: Test, adapterOnly = false, fastify: AppOptions['fastify'] = {}): Promise<[TestApp, TestApp, { reader?: Redis }]> {
  const store = adapterOnly ? { session: { store: new RedisStore({ client: await redis.nodeClient(), stream: false }) } } : {}
  const opts: AppOptions = { redis: redis.url, redisStore: { timeout: 300 }, plugin: { requireSession: true, revalidateInterval: 600_000, storeTimeout: 500 }, setup: routes, ...store }
  const a = await startApp(t, { ...opts, fastify })
  const hello = new Promise((resolve) => a.app.io.on('fastify-socket.io-session', (kind: unknown) => { if (kind === 'hello') resolve(kind) }))
  const kept: { reader?: Redis } = {}
  // The reader is the one connection the plugin makes of the app's client.
  const keepReader = (app: FastifyInstance): void => {
    routes(app)
    const duplicate = app.redis.duplicate.bind(app.redis)
    app.redis.duplicate = (...args: Parameters<Redis['duplicate']>) => (kept.reader = duplicate(...args))
  }
  const b = await startApp(t, { ...opts, setup: keepReader })
  await hello
  return [a, b, kept]
}

/** Cuts B's stream reader off for `ms` (ioredis then connects it again); resolves once it is cut off. */
async function cutOff (reader: Redis | undefined, ms: number): Promise<void> {
  if (reader === undefined) throw new Error('no stream reader')
  for (let i = 0; i < 100 && reader.status !== 'ready'; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  reader.options.retryStrategy = () => ms
  const port = (reader as unknown as { stream: { localPort: number } }).stream.localPort
  await admin.client('KILL', 'ADDR', `127.0.0.1:${port}`)
  await within(1000, async () => reader.status !== 'ready', true)
}

/** Polls `read` until it gives `want` (at most `ms`); resolves with how long that took, or -1. */
async function within (ms: number, read: () => Promise<unknown>, want: unknown): Promise<number> {
  const start = Date.now()
  while (Date.now() - start < ms) {
    if (JSON.stringify(await read()) === JSON.stringify(want)) return Date.now() - start
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  return -1
}

t.test('over the adapter: a write announced while the other node\'s subscriber was disconnected: it reads its sessions again once back', async (t) => {
  const [a, b] = await nodes(t, true)
  const cookie = await a.login()
  const socket = await b.connected({ extraHeaders: { cookie } })
  t.equal(await call(socket, 'get', 'cart'), null)
  // Every subscriber connection drops (ioredis reconnects it); the write's message finds no one.
  await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
  await a.http('POST', '/set', cookie, { cart: ['book'] })
  const took = await within(2000, async () => await call(socket, 'get', 'cart'), ['book'])
  t.ok(took >= 0 && took < 1500, `B sees the write ${took} ms after it (revalidation is 10 minutes away)`)
})

t.test('a Redis blip of 5 s: what was written just after it reaches every node', async (t) => {
  const [a, b] = await nodes(t)
  const cookie = await a.login()
  const socket = await b.connected({ extraHeaders: { cookie } })
  t.equal(await call(socket, 'get', 'cart'), null)
  await redis.kill()
  await new Promise((resolve) => setTimeout(resolve, 5000))
  await redis.start()
  // The first HTTP write that Redis takes after it returns (the adapters' clients may still be reconnecting).
  let written = false
  for (let i = 0; i < 100 && !written; i++) {
    written = (await a.http('POST', '/set', cookie, { cart: ['pen'] }).catch(() => ({} as Record<string, unknown>))).ok === true
    if (!written) await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.ok(written, 'written once Redis is back')
  const took = await within(3000, async () => await call(socket, 'get', 'cart'), ['pen'])
  t.ok(took >= 0 && took < 1500, `B sees it ${took} ms after the write`)
})

t.test('on the stream: B away for 5 s; what A wrote and destroyed meanwhile reaches B once it is back, and B reads no other session again', async (t) => {
  const [a, b, kept] = await nodes(t)
  const [written, destroyed, untouched] = [await a.login(), await a.login(), await a.login()]
  const socket = await b.connected({ extraHeaders: { cookie: written } })
  const doomed = await b.connected({ extraHeaders: { cookie: destroyed } })
  const other = await b.connected({ extraHeaders: { cookie: untouched } })
  t.equal(await call(socket, 'get', 'cart'), null)
  await cutOff(kept.reader, 5000)
  const ended = next(doomed, 'disconnect')
  await a.http('POST', '/set', written, { cart: ['pen'] })
  t.same(await a.http('POST', '/logout', destroyed), { ok: true })
  await redis.resetCommands()
  await new Promise((resolve) => (kept.reader as Redis).once('ready', resolve))
  const back = Date.now()
  t.equal(await ended, 'io server disconnect', 'the destroyed session\'s socket is ended')
  const took = await within(1000, async () => await call(socket, 'get', 'cart'), ['pen'])
  t.ok(took >= 0, 'the write is seen')
  const since = Date.now() - back
  t.ok(since < 1000, `both within a second of B's return (${since} ms)`)
  t.equal(await call(other, 'get', 'user'), 'ada', 'the untouched session is still live')
  t.equal((await redis.commands()).hgetall, 1, 'B read the written session again, and no other')
})

t.test('on the stream: B away while the stream was trimmed past what it read: it reads all its sessions again', async (t) => {
  const [a, b, kept] = await nodes(t)
  const [written, destroyed, untouched] = [await a.login(), await a.login(), await a.login()]
  const socket = await b.connected({ extraHeaders: { cookie: written } })
  const doomed = await b.connected({ extraHeaders: { cookie: destroyed } })
  await b.connected({ extraHeaders: { cookie: untouched } })
  await cutOff(kept.reader, 3000)
  const ended = next(doomed, 'disconnect')
  await a.http('POST', '/set', written, { cart: ['cup'] })
  t.same(await a.http('POST', '/logout', destroyed), { ok: true })
  // What B missed is gone from the stream.
  await admin.xtrim(STREAM, 'MAXLEN', 0)
  await redis.resetCommands()
  t.equal(await ended, 'io server disconnect', 'the destroyed session\'s socket is ended')
  t.ok(await within(1000, async () => await call(socket, 'get', 'cart'), ['cup']) >= 0, 'the write is seen')
  t.ok((await redis.commands()).hgetall >= 2, 'B read its live sessions again, the untouched one too')
})

t.test('on the stream: a message that could not be added makes every node read its sessions again once one can', async (t) => {
  const { logs, logger } = captureLogs('warn')
  const [a, b] = await nodes(t, false, { logger })
  const cookie = await a.login()
  const there = await b.connected({ extraHeaders: { cookie } })
  // The stream's key holds something else for a while: A's messages cannot be added.
  await admin.del(STREAM)
  await admin.set(STREAM, 'not a stream')
  const ended = next(there, 'disconnect')
  t.same(await a.http('POST', '/logout', cookie), { ok: true })
  for (let i = 0; i < 100 && !logs.some((line) => /stream of messages/.test(line.msg)); i++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.ok(logs.some((line) => /stream of messages/.test(line.msg)), 'the failed command is logged')
  await admin.del(STREAM)
  t.equal(await ended, 'io server disconnect', 'B ends the socket of the destroyed session')
})

t.test('over the adapter: a message not sent (the publishing client was away) makes every node read its sessions again once it is back', async (t) => {
  const [a, b] = await nodes(t, true)
  const cookie = await a.login()
  const there = await b.connected({ extraHeaders: { cookie } })
  // A's publishing connection drops, and comes back only after 300 ms.
  const pub = (a.app.io.of('/').adapter as unknown as { pubClient: Redis }).pubClient
  pub.options.retryStrategy = () => 300
  await admin.call('CLIENT', 'KILL', 'ID', String(await pub.client('ID')))
  t.ok(await within(1000, async () => pub.status !== 'ready', true) >= 0, 'A cannot publish')
  // The logout's message cannot go out; B holds the session and hears nothing of it...
  const ended = next(there, 'disconnect')
  t.same(await a.http('POST', '/logout', cookie), { ok: true })
  // ...until A is back and asks every node to read its sessions again.
  t.equal(await ended, 'io server disconnect', 'B ends the socket of the destroyed session')
})

t.test('an adapter on node-redis clients: the nodes hear each other, and a write after their subscribers were cut off reaches the other node', async (t) => {
  const adapterOn = async () => {
    const pub = await redis.nodeClient()
    const sub = await redis.nodeClient()
    return createAdapter(pub, sub)
  }
  const opts = { redis: undefined, redisStore: undefined, plugin: { requireSession: true, revalidateInterval: 600_000 }, setup: routes }
  const store = new RedisStore({ client: redis.client() })
  const a = await startApp(t, { ...opts, session: { store }, io: { adapter: await adapterOn() } })
  const hello = new Promise((resolve) => a.app.io.on('fastify-socket.io-session', (kind: unknown) => { if (kind === 'hello') resolve(kind) }))
  const b = await startApp(t, { ...opts, session: { store }, io: { adapter: await adapterOn() } })
  t.equal(await hello, 'hello')
  const cookie = await a.login()
  const socket = await b.connected({ extraHeaders: { cookie } })
  await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
  await a.http('POST', '/set', cookie, { cart: ['cup'] })
  const took = await within(3000, async () => await call(socket, 'get', 'cart'), ['cup'])
  t.ok(took >= 0, `B sees the write ${took} ms after it`)
})
