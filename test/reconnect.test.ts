import t, { type Test } from 'tap'
import type { FastifyInstance } from 'fastify'
import { startRedis } from './redis-server.js'
import { Redis } from 'ioredis'
import { createAdapter } from '@socket.io/redis-adapter'
import { RedisStore } from '../plugin/index.js'
import { call, next, startApp, type TestApp } from './helpers.js'

// ---- Messages lost while Redis or a node's subscriber was away: the nodes catch up when it returns ----
// The revalidation timer is set out of the way (10 minutes): what catches up here is the reconnect.

const redis = await startRedis(t)
const admin = redis.client()

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

async function nodes (t: Test): Promise<[TestApp, TestApp]> {
  const opts = { redis: redis.url, redisStore: { timeout: 300 }, plugin: { requireSession: true, revalidateInterval: 600_000, storeTimeout: 500 }, setup: routes }
  const a = await startApp(t, opts)
  const hello = new Promise((resolve) => a.app.io.on('fastify-socket.io-session', resolve))
  const b = await startApp(t, opts)
  await hello
  return [a, b]
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

t.test('a write announced while the other node\'s subscriber was disconnected: it reads its sessions again once back', async (t) => {
  const [a, b] = await nodes(t)
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

t.test('a message not sent (the publishing client was away) makes every node read its sessions again once it is back', async (t) => {
  const [a, b] = await nodes(t)
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
  const hello = new Promise((resolve) => a.app.io.on('fastify-socket.io-session', resolve))
  const b = await startApp(t, { ...opts, session: { store }, io: { adapter: await adapterOn() } })
  t.equal(await hello, 'hello')
  const cookie = await a.login()
  const socket = await b.connected({ extraHeaders: { cookie } })
  await admin.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
  await a.http('POST', '/set', cookie, { cart: ['cup'] })
  const took = await within(3000, async () => await call(socket, 'get', 'cart'), ['cup'])
  t.ok(took >= 0, `B sees the write ${took} ms after it`)
})
