import t, { type Test } from 'tap'
import { Manager, type Socket as ClientSocket } from 'socket.io-client'
import { call, captureLogs, startApp, type AppOptions, type MaybeError } from './helpers.js'

// ---- Who shares a bucket: the sockets, namespaces and reconnects of a session ----

const limited = { rateLimit: { max: 5, timeWindow: 60_000 } }

/** An app whose `send` route is limited to 5 per minute; counts the events its handler ran. */
async function limitedApp (t: Test, options: AppOptions = {}): Promise<Awaited<ReturnType<typeof startApp>> & { handled: () => number }> {
  let handled = 0
  const app = await startApp(t, { ...options, setup: (app) => { app.io.event('send', limited, () => ++handled) } })
  return { ...app, handled: () => handled }
}

/** Sends `event` `times` times from each socket at once; resolves with how many replies were not errors. */
async function burst (sockets: ClientSocket[], times: number, event = 'send'): Promise<number> {
  const replies = await Promise.all(sockets.flatMap((socket) => Array.from({ length: times }, async () => await call<MaybeError>(socket, event))))
  for (const reply of replies) if (reply?.error !== undefined && reply.error.code !== 'RATE_LIMITED') throw new Error(`unexpected ${JSON.stringify(reply)}`)
  return replies.filter((reply) => reply?.error === undefined).length
}

t.test('the sockets of one session share its buckets', async (t) => {
  const { connected, login, handled } = await limitedApp(t)
  const cookie = await login()
  const sockets = await Promise.all(Array.from({ length: 10 }, async () => await connected({ extraHeaders: { cookie } })))
  t.equal(await burst(sockets, 5), 5, '5 of 50 events')
  t.equal(handled(), 5)
})

t.test('a reconnect does not refill the buckets', async (t) => {
  const { connected, login, handled } = await limitedApp(t)
  const cookie = await login()
  let passed = 0
  for (let i = 0; i < 5; i++) {
    const socket = await connected({ extraHeaders: { cookie } })
    passed += await burst([socket], 5)
    socket.disconnect()
  }
  t.equal(passed, 5, '5 of 25 events over five connections')
  t.equal(handled(), 5)
})

t.test('two sessions do not share', async (t) => {
  const { connected, login, handled } = await limitedApp(t)
  const a = await connected({ extraHeaders: { cookie: await login({ user: 'ada' }) } })
  const b = await connected({ extraHeaders: { cookie: await login({ user: 'bob' }) } })
  t.equal(await burst([a], 6), 5)
  t.equal(await burst([b], 6), 5, 'the second session has its own bucket')
  t.equal(handled(), 10)
})

t.test('sockets without a stored session share the bucket of their address', async (t) => {
  const { connected, login, handled } = await limitedApp(t)
  const anonymous = await Promise.all([connected(), connected(), connected()])
  t.equal(await burst(anonymous, 5), 5, '5 of 15 events from one address')
  const member = await connected({ extraHeaders: { cookie: await login() } })
  t.equal(await burst([member], 5), 5, 'a session of that address has its own bucket')
  t.equal(handled(), 10)
})

/** Connects one client to each namespace over one connection (a shared Manager); disconnected at teardown. */
async function multiplexed (t: Test, url: string, cookie: string, namespaces: string[]): Promise<ClientSocket[]> {
  const manager = new Manager(url, { transports: ['websocket'], reconnection: false, autoConnect: false, extraHeaders: { cookie } })
  const sockets = namespaces.map((nsp) => manager.socket(nsp))
  t.teardown(() => { for (const socket of sockets) socket.disconnect() })
  await Promise.all(sockets.map(async (socket) => await new Promise((resolve, reject) => {
    socket.once('connect', () => resolve(undefined))
    socket.once('connect_error', reject)
    socket.connect()
  })))
  return sockets
}

const rooms = Array.from({ length: 20 }, (_, i) => `/room-${i + 1}`)

t.test('one connection over 20 child namespaces shares the route bucket of their parent', async (t) => {
  let handled = 0
  const connections = new Set<unknown>()
  const { url, login } = await startApp(t, {
    setup: (app) => {
      const parent = app.io.of(/^\/room-\d+$/)
      parent.event('send', limited, () => ++handled)
      parent.on('connection', (socket) => { connections.add(socket.conn) })
    }
  })
  const sockets = await multiplexed(t, url, await login(), rooms)
  t.equal(connections.size, 1, 'one Engine.IO connection')
  t.equal(await burst(sockets, 5), 5, '5 of 100 events')
  t.equal(handled, 5)
})

t.test('the global limit is shared across namespaces', async (t) => {
  const { url, login } = await startApp(t, {
    plugin: { events: { rateLimit: { max: 5, timeWindow: 60_000 } } },
    setup: (app) => {
      app.io.event('send', () => 'main')
      app.io.of(/^\/room-\d+$/).event('send', () => 'room')
    }
  })
  const sockets = await multiplexed(t, url, await login(), ['/', ...rooms.slice(0, 4)])
  t.equal(await burst(sockets, 5), 5, '5 of 25 events')
})

t.test('keyGenerator: one bucket per user, over the sessions of that user', async (t) => {
  const { connected, login, handled } = await limitedApp(t, {
    plugin: { events: { keyGenerator: (socket) => `user:${String(socket.session.user)}` } }
  })
  const phone = await connected({ extraHeaders: { cookie: await login({ user: 'ada' }) } })
  const laptop = await connected({ extraHeaders: { cookie: await login({ user: 'ada' }) } })
  t.equal(await burst([phone, laptop], 5), 5, '5 of 10 events from two sessions of ada')
  const bob = await connected({ extraHeaders: { cookie: await login({ user: 'bob' }) } })
  t.equal(await burst([bob], 5), 5, 'another user has his own')
  t.equal(handled(), 10)
})

t.test('a keyGenerator that throws or gives no key is logged, and the session is the key', async (t) => {
  const { logs, logger } = captureLogs('error')
  const keys: unknown[] = [new Error('no key today'), '', 42]
  let calls = 0
  const { connected, login, handled } = await limitedApp(t, {
    fastify: { logger },
    plugin: {
      events: {
        keyGenerator: () => {
          const key = keys[calls++ % keys.length]
          if (key instanceof Error) throw key
          return key as string
        }
      }
    }
  })
  const cookie = await login()
  const sockets = [await connected({ extraHeaders: { cookie } }), await connected({ extraHeaders: { cookie } })]
  t.equal(await burst(sockets, 3), 5, 'the sockets of one session share its bucket')
  const other = await connected({ extraHeaders: { cookie: await login() } })
  t.equal(await burst([other], 1), 1, 'another session has its own')
  t.equal(handled(), 6)
  const failures = logs.filter((line) => /keyGenerator/.test(line.msg))
  t.equal(failures.length, 7, 'each event is logged')
  t.match(failures[0], { level: 50, event: 'send', err: { message: 'no key today' } })
  t.match(failures[1], { level: 50, event: 'send', got: 'an empty string' })
  t.match(failures[2], { level: 50, event: 'send', got: 'number' })
})
