import t from 'tap'
import { Server } from 'socket.io'
import { Type } from 'typebox'
import { startApp, next } from './helpers.js'

// ---- Server events: declared with a schema; with validateEmits, a bad payload throws where it is emitted ----

const Welcome = Type.Object({ n: Type.Number() })

/** An app declaring `welcome` (a payload), `notice` (none) on '/', and `line` on '/chat' and on a dynamic namespace. */
async function declaring (t: Parameters<typeof startApp>[0], validateEmits?: boolean) {
  const declared: unknown[] = []
  const started = await startApp(t, {
    plugin: validateEmits === undefined ? {} : { events: { validateEmits } },
    setup: (app) => {
      declared.push(app.io.serverEvent('welcome', { schema: Welcome }), app.io.serverEvent('notice'))
      declared.push(app.io.of('/chat').serverEvent('line', { schema: Type.String() }))
      declared.push(app.io.of(/^\/room-\d+$/).serverEvent('line', { schema: Type.String() }))
    }
  })
  return { ...started, declared }
}

/** The server-side socket of the only connected client of `nsp`. */
const serverSocket = (io: Server, nsp = '/') => [...io.of(nsp).sockets.values()][0]

t.test('declaring returns the event and namespace', async (t) => {
  const { declared } = await declaring(t)
  t.match(declared, [{ event: 'welcome', namespace: '/' }, { event: 'notice', namespace: '/' }, { event: 'line', namespace: '/chat' }, { event: 'line', namespace: /^\/_\d+$/ }], 'a dynamic namespace is named as Socket.IO names it')
})

t.test('a valid payload goes out; a bad one throws FST_SIO_SESSION_BAD_EMIT where it is emitted, and reaches nobody', async (t) => {
  const { app: { io }, connected } = await declaring(t)
  const client = await connected()
  const other = await connected()
  const socket = serverSocket(io)
  socket.join('room')
  const got: unknown[] = []
  client.on('welcome', (payload) => got.push(payload))
  other.on('welcome', (payload) => got.push(['other', payload]))
  const emits: Array<[string, () => unknown]> = [
    ['socket.emit', () => socket.emit('welcome', { n: 'x' })],
    ['io.emit', () => io.emit('welcome', { n: 'x' })],
    ['io.to(room).emit', () => io.to('room').emit('welcome', { n: 'x' })],
    ['socket.broadcast.emit', () => socket.broadcast.emit('welcome', { n: 'x' })],
    ['socket.to(room).emit', () => socket.to('room').emit('welcome', {})],
    ['a broadcast with an ack', () => io.timeout(50).emit('welcome', { n: 'x' }, () => {})],
    ['two payload arguments', () => socket.emit('welcome', { n: 1 }, { n: 2 })],
    ['a payload for an event that has none', () => socket.emit('notice', 1)]
  ]
  for (const [name, emit] of emits) {
    t.throws(emit, { code: 'FST_SIO_SESSION_BAD_EMIT' }, name)
  }
  t.throws(() => socket.emit('welcome', { n: 'x' }), { message: /^fastify-socket\.io-session: the payload of server event "welcome" does not match its schema: \/n / })
  t.throws(() => socket.emit('welcome'), { message: /expected one payload argument, got 0/ })
  await t.rejects(socket.timeout(50).emitWithAck('welcome', { n: 'x' }), { code: 'FST_SIO_SESSION_BAD_EMIT' }, 'emitWithAck rejects')
  // What is valid goes out, an ack included; then the first thing each client got is the valid one.
  const acked = new Promise((resolve) => socket.emit('welcome', { n: 1 }, resolve))
  client.once('welcome', (_payload: unknown, ack?: (v: string) => void) => ack?.('thanks'))
  const notice = next(client, 'notice')
  socket.emit('notice')
  await notice
  io.emit('welcome', { n: 2 })
  await next(other, 'welcome')
  t.same(got.slice(0, 1), [{ n: 1 }], 'the client got only valid payloads')
  t.same(got.filter((g) => Array.isArray(g)), [['other', { n: 2 }]], 'the other client too')
  t.ok(acked)
  // Undeclared events are not checked.
  t.equal(socket.emit('free', { anything: true }), true)
})

t.test('declared per namespace; children of a dynamic namespace share the declarations', async (t) => {
  const { app: { io }, connected } = await declaring(t)
  await connected({}, '/chat')
  await connected({}, '/room-1')
  t.throws(() => io.of('/chat').emit('line', 42), { code: 'FST_SIO_SESSION_BAD_EMIT' })
  t.throws(() => serverSocket(io, '/room-1').emit('line', 42), { code: 'FST_SIO_SESSION_BAD_EMIT' }, 'a child of the dynamic namespace')
  t.equal(io.of('/chat').emit('welcome', { n: 'not checked here' }), true, '"welcome" is declared on / only')
})

t.test('validateEmits: false lets anything out', async (t) => {
  const { app: { io }, connected } = await declaring(t, false)
  t.notOk(Object.hasOwn(io.of('/').adapter, 'broadcast'), 'nothing watches the broadcasts')
  const client = await connected()
  const got = next(client, 'welcome')
  serverSocket(io).emit('welcome', { n: 'x' })
  t.same(await got, { n: 'x' })
})

t.test('bad declarations are refused at once', async (t) => {
  const { app: { io } } = await declaring(t)
  const cases: Array<[unknown[], RegExp]> = [
    [[''], /needs a non-empty event name/],
    [[42], /needs a non-empty event name/],
    [['disconnect'], /"disconnect" is a reserved Socket\.IO event/],
    [['x', 'schema'], /the options of server event "x" must be an object/],
    [['x', null], /the options of server event "x" must be an object/],
    [['x', { payload: Welcome }], /unknown option "payload" of server event "x"; known are schema, summary, description, tags, deprecated/],
    [['x', { schema: 'string' }], /"schema" of server event "x" must be a TypeBox schema/],
    [['x', { schema: Type.String({ pattern: '(' }) }], /the schema of server event "x"/],
    [['welcome'], /server event "welcome" is already declared on namespace "\/"/]
  ]
  for (const [args, message] of cases) {
    t.throws(() => (io.serverEvent as (...a: unknown[]) => unknown)(...args), { code: 'FST_SIO_SESSION_BAD_ROUTE', message }, JSON.stringify(args))
  }
  const bare = new Server()
  t.throws(() => bare.of('/x').serverEvent('y'), { code: 'FST_SIO_SESSION_BAD_ROUTE', message: /register fastify-socket\.io-session on this Socket\.IO server before declaring server events/ })
})

t.test('closing the app takes the watch off: io.serverEvent and the adapters\' own broadcast', async (t) => {
  const { app } = await declaring(t)
  const { io } = app
  t.ok(Object.hasOwn(io.of('/').adapter, 'broadcast'))
  await app.close()
  t.notOk(Object.hasOwn(io.of('/').adapter, 'broadcast'))
  t.notOk(Object.hasOwn(io.of('/').adapter, 'broadcastWithAck'))
  t.equal((io as Partial<Server>).serverEvent, undefined)
})
