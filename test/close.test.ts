import t from 'tap'
import Fastify from 'fastify'
import socketio from 'fastify-socket.io'
import { io as connectClient } from 'socket.io-client'
import { startApp, call, next } from './helpers.js'
import { FakeStore } from './fake-store.js'

// ---- fastify.close() with clients connected ----

/** Resolves to 'closed', or to 'hung' when close() has not returned within `limit` ms. */
async function closeWithin (close: () => Promise<unknown>, limit: number): Promise<'closed' | 'hung'> {
  let timer: NodeJS.Timeout | undefined
  const hung = new Promise<'hung'>((resolve) => { timer = setTimeout(() => resolve('hung'), limit) })
  const result = await Promise.race([close().then(() => 'closed' as const), hung])
  clearTimeout(timer)
  return result
}

t.test('control: fastify-socket.io alone hangs in close() while a client is connected', async (t) => {
  const app = Fastify()
  await app.register(socketio.default)
  await app.listen({ host: '127.0.0.1', port: 0 })
  const client = connectClient(`http://127.0.0.1:${(app.server.address() as any).port}`, { transports: ['websocket'], reconnection: false })
  await next(client, 'connect')
  t.equal(await closeWithin(async () => await app.close(), 1000), 'hung')
  client.disconnect()
  await app.close()
})

for (const transport of ['websocket', 'polling'] as const) {
  t.test(`close() returns with ${transport} clients connected; clients may reconnect elsewhere`, async (t) => {
    const { app, login, connected } = await startApp(t)
    const cookie = await login()
    const clients = await Promise.all([1, 2, 3].map(async () => await connected({ transports: [transport], extraHeaders: { cookie } })))
    const reasons = clients.map(async (client) => await next(client, 'disconnect'))
    t.equal(await closeWithin(async () => await app.close(), 1000), 'closed')
    for (const reason of await Promise.all(reasons)) {
      t.match(reason, /^transport (close|error)$/, 'a transport close, after which a client reconnects (not "io server disconnect")')
    }
  })
}

t.test('close() flushes queued saves before it disconnects the sockets', async (t) => {
  const store = new FakeStore()
  const { app, login, connected } = await startApp(t, {
    session: { store },
    setup: (app) => {
      app.io.on('connection', (socket: any) => {
        socket.on('inc', () => { socket.session.count = (socket.session.count ?? 0) + 1 })
      })
    }
  })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  store.delay.set = 100
  const saving = store.called('set', store.counts.set + 1)
  socket.emit('inc')
  await saving
  socket.emit('inc')
  await call(socket, 'nothing').catch(() => undefined)
  t.equal(await closeWithin(async () => await app.close(), 2000), 'closed')
  const [id] = [...store.store.keys()]
  t.equal(store.store.get(id)?.count, 2, 'the save in flight and the queued one both landed')
})
