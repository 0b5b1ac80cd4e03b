import t from 'tap'
import { Type } from 'typebox'
import { startApp, call, refused } from './helpers.js'
import { withHandshakeData } from '../plugin/index.js'
import { FakeStore } from './fake-store.js'

// ---- Handshake schemas (TypeBox) and refusals ----

const Auth = Type.Object({ token: Type.String({ maxLength: 64 }) }, { additionalProperties: false })
const Query = Type.Object({
  room: Type.Number(),
  admin: Type.Boolean({ default: false }),
  tags: Type.Optional(Type.Array(Type.String()))
}, { additionalProperties: false })

const showData = (app: any): void => {
  app.io.on('connection', (socket: any) => {
    socket.on('data', (ack: (v: unknown) => void) => ack(socket.data))
  })
}

t.test('valid auth and query land typed in socket.data, coerced and with defaults', async (t) => {
  const { connected } = await startApp(t, { plugin: { auth: Auth, query: Query }, setup: showData })
  const socket = await connected({ auth: { token: 'abc' }, query: { room: '12' } })
  t.same(await call(socket, 'data'), { auth: { token: 'abc' }, query: { room: 12, admin: false } })
  const polling = await connected({ transports: ['polling'], auth: { token: 'x' }, query: { room: '3', admin: 'true' } })
  t.same(await call(polling, 'data'), { auth: { token: 'x' }, query: { room: 3, admin: true } }, 'engine parameters are not the application\'s')
})

t.test('withHandshakeData: the same server, its sockets\' data typed from the options (the types are in types.check.ts)', async (t) => {
  const options = { auth: Auth, query: Query }
  const { app, connected } = await startApp(t, {
    plugin: options,
    setup: (app) => {
      const io = withHandshakeData(app.io, options)
      t.equal(io, app.io, 'the object itself')
      io.on('connection', (socket) => {
        socket.on('room', (ack: (v: unknown) => void) => ack(socket.data.query.room + 1))
      })
    }
  })
  t.equal(withHandshakeData(app.io.of('/'), options), app.io.of('/'), 'a namespace too')
  const socket = await connected({ auth: { token: 'abc' }, query: { room: '41' } })
  t.equal(await call(socket, 'room'), 42, 'a number, coerced by the query schema')
})

t.test('invalid handshake data is refused with paths and reasons, never the values', async (t) => {
  const store = { reads: 0 }
  const { connected } = await startApp(t, {
    plugin: { auth: Auth, query: Query },
    setup: (app) => { app.addHook('onRequest', async () => { store.reads++ }) }
  })
  const secret = 'do-not-echo-me'
  const cases: Array<[string, Record<string, unknown>, string, string]> = [
    ['wrong type', { auth: { token: 42 }, query: { room: '1' } }, 'INVALID_AUTH', '/token'],
    ['missing auth field', { auth: {}, query: { room: '1' } }, 'INVALID_AUTH', ''],
    ['extra auth key', { auth: { token: 'a', [secret]: secret }, query: { room: '1' } }, 'INVALID_AUTH', `/${secret}`],
    ['prototype key', { auth: JSON.parse(`{"token":"a","__proto__":{"polluted":"${secret}"}}`), query: { room: '1' } }, 'INVALID_AUTH', '/__proto__'],
    ['nested constructor key', { auth: { token: 'a', x: { constructor: { prototype: {} } } }, query: { room: '1' } }, 'INVALID_AUTH', '/x/constructor'],
    ['900 KB string', { auth: { token: secret + 'x'.repeat(900 * 1024) }, query: { room: '1' } }, 'INVALID_AUTH', '/token'],
    ['long key', { auth: { token: 'a', ['k'.repeat(300)]: 1 }, query: { room: '1' } }, 'INVALID_AUTH', `/${'k'.repeat(199)}…`],
    ['query not a number', { auth: { token: 'a' }, query: { room: secret } }, 'INVALID_QUERY', '/room'],
    ['extra query key', { auth: { token: 'a' }, query: { room: '1', other: secret } }, 'INVALID_QUERY', '/other'],
  ]
  for (const [name, options, code, path] of cases) {
    const err = await refused(connected({ ...options, transports: ['websocket'], extraHeaders: {} }))
    t.equal(err.data?.code, code, `${name}: ${code}`)
    const { errors = [], ...rest } = err.data
    t.ok(errors.some((e) => e.path === path), `${name}: names ${path}`)
    t.notOk(JSON.stringify(rest).includes(secret) || errors.some((e) => e.message.includes(secret)), `${name}: the value is not echoed`)
    t.ok(errors.length <= 5)
  }
  t.equal(store.reads, 0, 'no Fastify route saw the handshakes')
  const many: Record<string, number> = { token: 1 }
  for (let i = 0; i < 30; i++) many[`k${i}`] = i
  const err = await refused(connected({ auth: many, query: { room: '1' } }))
  t.equal(err.data.errors?.length, 5, 'at most 5 problems are listed')
})

t.test('a handshake over Socket.IO\'s size limit (1 MB auth) is dropped; the server stays up', async (t) => {
  const { client, connected } = await startApp(t, { plugin: { auth: Auth }, setup: showData })
  const big = client({ auth: { token: 'x'.repeat(1024 * 1024) } })
  const closed = new Promise((resolve) => big.io.once('close', resolve))
  big.connect()
  t.ok(await closed, 'the oversized connection was closed')
  t.equal(big.connected, false)
  const socket = await connected({ auth: { token: 'ok' } })
  t.same(await call(socket, 'data'), { auth: { token: 'ok' } })
})

t.test('a raw __proto__ query parameter is refused (the client library cannot even send one)', async (t) => {
  const { url } = await startApp(t, { plugin: { query: Query } })
  const base = `${url}/socket.io/?EIO=4&transport=polling&room=1&__proto__=x`
  const open = await (await fetch(base)).text()
  const { sid } = JSON.parse(open.slice(1))
  await fetch(`${base}&sid=${sid}`, { method: 'POST', body: '40' })
  const reply = await (await fetch(`${base}&sid=${sid}`)).text()
  t.match(reply, /^44/, 'a CONNECT_ERROR packet')
  t.same(JSON.parse(reply.slice(2)).data, { code: 'INVALID_QUERY', message: 'invalid handshake query', errors: [{ path: '/__proto__', message: 'key not allowed' }] })
})

t.test('deeply nested handshake data is refused, not a stack overflow', async (t) => {
  const { connected } = await startApp(t, { plugin: { auth: Type.Object({ token: Type.String() }) } })
  let deep: any = {}
  const root = deep
  for (let i = 0; i < 1000; i++) { deep.a = {}; deep = deep.a }
  const err = await refused(connected({ auth: { token: 'x', deep: root } }))
  t.equal(err.data.code, 'INVALID_AUTH')
  t.match(err.data.errors?.[0].message, /nested deeper than 64 levels/)
})

t.test('a schema whose own code throws refuses the handshake instead of crashing', async (t) => {
  const Throwing = Type.Refine(Type.Object({ token: Type.String() }), () => { throw new Error('refinement bug') })
  const { connected } = await startApp(t, { plugin: { auth: Throwing } })
  const err = await refused(connected({ auth: { token: 'x' } }))
  t.same(err.data, { code: 'INVALID_AUTH', message: 'invalid handshake auth', errors: [{ path: '', message: 'could not be checked' }] })
})

t.test('invalid data is refused before the session is read', async (t) => {
  const store = new FakeStore()
  const { connected, login } = await startApp(t, { session: { store }, plugin: { auth: Auth } })
  const cookie = await login()
  const before = store.counts.get
  const err = await refused(connected({ auth: { token: 1 }, extraHeaders: { cookie } }))
  t.equal(err.data.code, 'INVALID_AUTH')
  t.equal(store.counts.get, before, 'the store was not read')
})

t.test('a client that disconnects mid-handshake leaves nothing behind', async (t) => {
  const store = new FakeStore()
  const { app, login, client, connected } = await startApp(t, { session: { store }, setup: showData })
  const cookie = await login()
  const held = store.hold('get')
  const reached = store.called('get', store.counts.get + 1)
  const socket = client({ extraHeaders: { cookie } })
  socket.connect()
  await reached
  socket.disconnect()
  await new Promise((resolve) => setTimeout(resolve, 20))
  held.open()
  await new Promise((resolve) => setTimeout(resolve, 20))
  t.equal(app.io.of('/').sockets.size, 0)
  const again = await connected({ extraHeaders: { cookie } })
  t.same(await call(again, 'data'), {}, 'the server still serves')
})
