import t from 'tap'
import cookie from '@fastify/cookie'
import session from '@fastify/session'
import socketio from 'fastify-socket.io'
import { Namespace, Socket, type Server } from 'socket.io'
import socketSession from '../plugin/index.js'
import { SECRET, call, registrationError, startApp } from './helpers.js'

// ---- What the plugin relies on in Socket.IO: checked at registration, undone at close ----

type Members = Record<string | symbol, unknown>
const emitter = Object.getPrototypeOf(Socket.prototype) as Members
const socket = Socket.prototype as unknown as Members
const namespace = Namespace.prototype as unknown as Members

/** Runs `test` with `proto[name]` set to `value` (deleted when undefined), then puts back what was there. */
async function withMember (proto: Members, name: string, value: unknown, test: () => Promise<void>): Promise<void> {
  const before = Object.getOwnPropertyDescriptor(proto, name)
  if (value === undefined) delete proto[name]
  else Object.defineProperty(proto, name, { value, configurable: true, writable: true })
  try {
    await test()
  } finally {
    if (before === undefined) delete proto[name]
    else Object.defineProperty(proto, name, before)
  }
}

/** The registration error of an app whose Socket.IO server is changed by `change` before the plugin registers. */
async function errorWith (change: (io: Server) => void): Promise<{ code?: string, message: string } | undefined> {
  return await registrationError(async (app) => {
    await app.register(cookie)
    await app.register(session, { secret: SECRET })
    await app.register(socketio.default)
    await app.after()
    change(app.io)
    await app.register(socketSession)
  })
}

t.test('a Socket.IO without a member the plugin relies on is refused at registration, naming it', async (t) => {
  const prototypes: Array<[string, Members, string, unknown, RegExp]> = [
    ['no emitUntyped', emitter, 'emitUntyped', null, /Socket's emitUntyped is missing/],
    ['no emitReserved', emitter, 'emitReserved', null, /Socket's emitReserved is missing/],
    ['no onAny', socket, 'onAny', null, /Socket's onAny is missing/],
    ['no listenersAny', socket, 'listenersAny', null, /Socket's listenersAny is missing/],
    ['a dispatch that does not call emitUntyped', socket, 'dispatch', function dispatch () {}, /Socket#dispatch does not hand events to emitUntyped/],
    ['another event method on Namespace', namespace, 'event', function event () {}, /Namespace already has an event method/]
  ]
  for (const [name, proto, member, value, message] of prototypes) {
    await withMember(proto, member, value, async () => {
      const err = await errorWith(() => {})
      t.match(err, { code: 'FST_SIO_SESSION_UNSUPPORTED_SOCKETIO', message }, name)
      t.match(err?.message, /install socket\.io@4\.8/, `${name}: the message names the fix`)
    })
  }
  const servers: Array<[string, (io: Server) => void, RegExp]> = [
    ['a server of another copy of socket.io', (io) => { Object.defineProperty(io, 'sockets', { value: {} }) }, /another copy of socket\.io/],
    ['an _nsps without the main namespace', (io) => { Reflect.set(io, '_nsps', new Map()) }, /Server#_nsps is missing/],
    ['no parentNsps', (io) => { Reflect.deleteProperty(io, 'parentNsps') }, /Server#parentNsps is missing/],
    ['no parentNamespacesFromRegExp', (io) => { Reflect.deleteProperty(io, 'parentNamespacesFromRegExp') }, /Server#parentNamespacesFromRegExp is missing/],
    ['no engine clients', (io) => { Reflect.set(io.engine, 'clients', null) }, /the engine's clients are missing/],
    ['an engine that keeps no _query', (io) => { Reflect.set(io.engine, 'prepare', function prepare () {}) }, /does not parse the query into _query/]
  ]
  for (const [name, change, message] of servers) {
    t.match(await errorWith(change), { code: 'FST_SIO_SESSION_UNSUPPORTED_SOCKETIO', message }, name)
  }
})

t.test('what the plugin changes in Socket.IO is undone when the last registration closes', async (t) => {
  const before = { emitUntyped: emitter.emitUntyped, onAny: socket.onAny, ownEmitReserved: Object.hasOwn(socket, 'emitReserved') }
  t.equal(namespace.event, undefined, 'no event method before the plugin')
  const first = await startApp(t)
  const second = await startApp(t)
  t.not(emitter.emitUntyped, before.emitUntyped, 'events come to the plugin while it is registered')
  t.type(namespace.event, 'function')
  for (const [app, reply] of [[first.app, 1], [second.app, 2]] as const) {
    app.io.on('connection', (s) => {
      s.on('count', (ack: (n: number) => void) => {
        const data = s.session as unknown as Record<string, number | undefined>
        data.n = (data.n ?? 0) + 1
        ack(reply)
      })
    })
  }
  await first.close()
  t.not(emitter.emitUntyped, before.emitUntyped, 'another registration still uses the prototypes')
  t.type(first.app.io.event, 'undefined', 'the closed server has no event method')
  const cookie = await second.login()
  const client = await second.connected({ extraHeaders: { cookie } })
  t.equal(await call(client, 'count'), 2, 'the other app still answers')
  const stored = await second.http('GET', '/session', cookie)
  t.equal(stored.n, 1, 'and still saves after its listeners')
  client.disconnect()
  await second.close()
  t.equal(emitter.emitUntyped, before.emitUntyped, 'emitUntyped is Socket.IO\'s own again')
  t.equal(socket.onAny, before.onAny, 'onAny is Socket.IO\'s own again')
  t.equal(Object.hasOwn(socket, 'emitReserved'), before.ownEmitReserved, 'emitReserved is inherited again')
  t.equal(namespace.event, undefined, 'namespaces have no event method any more')
})
