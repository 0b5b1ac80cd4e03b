import t from 'tap'
import { call, captureLogs, next, startApp } from './helpers.js'
import { FakeStore } from './fake-store.js'

// ---- Values that cannot be saved: a failed save, never a crashed process ----

/** Events that put values JSON cannot write into the session, next to a value it can. */
function hostile (app: any): void {
  app.io.on('connection', (socket: any) => {
    // The quick start's listener: whatever the client sent goes into the session.
    socket.on('chat', (message: unknown, ack: (v: unknown) => void) => {
      socket.session.lastMessage = message
      ack('ok')
    })
    socket.on('bigint', (ack: (v: unknown) => void) => {
      socket.session.fine = 'saved'
      socket.session.big = 10n
      ack('ok')
    })
    socket.on('cycle', async (ack: (v: unknown) => void) => {
      await new Promise((resolve) => setImmediate(resolve))
      const loop: Record<string, unknown> = {}
      loop.self = loop
      socket.session.fine = 'saved too'
      socket.session.loop = loop
      ack('ok')
    })
    socket.on('throwing', (ack: (v: unknown) => void) => {
      socket.session.secret = { toJSON () { throw new Error('value: hunter2') } }
      ack('ok')
    })
    socket.on('read', (key: string, ack: (v: unknown) => void) => ack(socket.session[key] ?? null))
  })
  app.io.event('route-bigint', (socket: any) => {
    socket.session.big = 1n
    return 'ok'
  })
}

/** A Socket.IO event packet nested `depth` arrays deep, as raw text (no client library can encode it). */
const deepPacket = (depth: number): string => `2["chat",${'['.repeat(depth)}${']'.repeat(depth)}]`

t.test('a 5,000-level payload put in the session fails its save; the process and the socket carry on', async (t) => {
  const { logs, logger } = captureLogs('error')
  const store = new FakeStore()
  const { login, connected, http } = await startApp(t, { fastify: { logger }, session: { store }, plugin: { requireSession: true }, setup: hostile })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  t.equal(await call(socket, 'chat', 'hello'), 'ok')
  const failed = next(socket, 'session:error')
  ;(socket.io as any).engine.write(deepPacket(5000))
  t.same(await failed, { error: { code: 'SESSION_SAVE_FAILED', message: 'the session could not be saved' }, code: 'SESSION_SAVE_FAILED', message: 'the session could not be saved' })
  t.equal(await call(socket, 'read', 'lastMessage'), 'hello', 'the key keeps its last saved value')
  t.equal(await call(socket, 'chat', 'still here'), 'ok')
  t.equal((await http('GET', '/session', cookie)).lastMessage, 'still here')
  const logged = logs.find((l) => /could not be serialized/.test(l.msg))
  t.same(logged?.keys, ['lastMessage'], 'the log names the key')
  t.ok(socket.connected)
})

t.test('a BigInt, a cycle or a throwing toJSON fails the save of that key only, logged without its value', async (t) => {
  const { logs, logger } = captureLogs('error')
  const { login, connected, http } = await startApp(t, { fastify: { logger }, setup: hostile })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  const order: string[] = []
  socket.on('session:error', (payload) => order.push(payload.code))
  t.equal(await call(socket, 'bigint'), 'ok')
  t.same(order, ['SESSION_SAVE_FAILED'], 'told before the ack (sync listener)')
  t.equal((await http('GET', '/session', cookie)).fine, 'saved', 'the other keys were saved')
  t.equal(await call(socket, 'read', 'big'), null, 'the unsaved key is gone from the live session')
  t.equal(await call(socket, 'cycle'), 'ok')
  t.same(order, ['SESSION_SAVE_FAILED', 'SESSION_SAVE_FAILED'], 'and after an async listener')
  t.equal((await http('GET', '/session', cookie)).fine, 'saved too')
  t.equal(await call(socket, 'throwing'), 'ok')
  t.equal(order.length, 3)
  t.same(await call(socket, 'route-bigint'), { error: { code: 'SESSION_SAVE_FAILED', message: 'the session could not be saved' } }, 'a route replies SESSION_SAVE_FAILED')
  t.same(logs.filter((l) => /could not be serialized/.test(l.msg)).map((l) => l.keys), [['big'], ['loop'], ['secret'], ['big']])
  t.notOk(JSON.stringify(logs).includes('hunter2'), 'no value reaches the log')
  t.ok(socket.connected)
})

t.test('a cookie field JSON cannot write is reported at each save; the other keys are still saved', async (t) => {
  const { logs, logger } = captureLogs('error')
  const { login, connected, http } = await startApp(t, {
    fastify: { logger },
    setup: (app) => {
      app.io.on('connection', (socket: any) => {
        socket.on('break-cookie', (ack: (v: unknown) => void) => { socket.session.cookie.domain = Symbol('no text'); ack('ok') })
        socket.on('inc', (ack: (v: unknown) => void) => { socket.session.count = (socket.session.count ?? 0) + 1; ack(socket.session.count) })
      })
    }
  })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  const codes: string[] = []
  socket.on('session:error', (payload) => codes.push(payload.code))
  t.equal(await call(socket, 'break-cookie'), 'ok')
  t.equal(await call(socket, 'inc'), 1)
  t.same(codes, ['SESSION_SAVE_FAILED', 'SESSION_SAVE_FAILED'])
  t.equal((await http('GET', '/session', cookie)).count, 1)
  t.same(logs.filter((l) => /could not be serialized/.test(l.msg)).map((l) => l.keys), [['cookie'], ['cookie']])
})
