import t from 'tap'
import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import { EventError } from '../plugin/index.js'
import { call, next, startApp, type AppOptions, captureLogs } from './helpers.js'
import { FakeStore } from './fake-store.js'

// ---- Event routes: payload in, handler, reply out after the save ----

declare module 'fastify' {
  interface Session { count?: number, last?: string, silent?: string }
}

const Chat = Type.Object({ room: Type.String(), text: Type.String({ maxLength: 100 }) })
const Reply = Type.Object({ id: Type.Number(), count: Type.Number() })

/** Routes used by most tests. */
function routes (app: FastifyInstance): void {
  app.io.event('chat', { schema: { payload: Chat, ack: Reply } }, async (socket, message) => {
    socket.session.count = (socket.session.count ?? 0) + 1
    socket.session.last = message.text
    return { id: message.text.length, count: socket.session.count }
  })
  app.io.event('ping', () => 'pong')
  app.io.event('silent', { schema: { payload: Type.String() } }, (socket, text) => { socket.session.silent = text })
  app.io.event('sync-throw', () => { throw new Error('secret detail at /srv/app.js') })
  app.io.event('async-throw', async () => { throw new Error('secret async detail') })
  app.io.event('throw-string', () => { throw 'a string' as unknown as Error })
  app.io.event('refuse', () => { throw new EventError('NOT_FOUND', 'no such room') })
  app.io.event('teapot', () => { throw new EventError('TEAPOT') })
  app.io.event('circular', () => { const reply: Record<string, unknown> = {}; reply.self = reply; return reply })
  app.io.event('bad-reply', { schema: { ack: Reply } }, () => ({ id: 'one' }) as unknown as { id: number, count: number })
}

/** An app with the routes above, logging errors and warnings into `logs`. */
async function routedApp (t: { teardown: (fn: () => unknown) => void }, options: AppOptions = {}): Promise<Awaited<ReturnType<typeof startApp>> & { logs: any[] }> {
  const { logs, logger } = captureLogs('warn')
  const app = await startApp(t, { fastify: { logger }, setup: routes, ...options })
  return { ...app, logs }
}

t.test('a valid payload reaches the handler; its value is the ack, sent after the session was saved', async (t) => {
  const store = new FakeStore()
  const { login, connected, http } = await routedApp(t, { session: { store } })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  t.same(await call(socket, 'chat', { room: 'a', text: 'hello' }), { id: 5, count: 1 })
  t.same(await call(socket, 'chat', { room: 'a', text: 'hi' }), { id: 2, count: 2 })
  t.equal(store.counts.set, 3, 'the login and one write per changing event')
  t.equal(await call(socket, 'ping'), 'pong', 'an event without a payload schema takes none')
  t.equal(store.counts.set, 3, 'an event that changes nothing writes nothing')
  t.match(await http('GET', '/session', cookie), { count: 2, last: 'hi' }, 'saved before the ack')
})

t.test('the ack waits for a slow save', async (t) => {
  const store = new FakeStore()
  const { login, connected } = await routedApp(t, { session: { store } })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  store.delay.set = 50
  const reply = await call(socket, 'chat', { room: 'a', text: 'slow' })
  t.same(reply, { id: 4, count: 1 })
  t.equal([...store.store.values()].map((s) => JSON.parse(JSON.stringify(s)))[0].last, 'slow', 'the store held the change when the ack arrived')
})

t.test('a handler that returns nothing acks with no value; without an ack nothing is sent back', async (t) => {
  const { login, connected, http } = await routedApp(t)
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  t.same(await socket.timeout(5000).emitWithAck('silent', 'quiet'), undefined)
  const errors: any[] = []
  socket.on('error', (e) => errors.push(e))
  socket.emit('silent', 'no ack')
  // An erroring event sent next: the first error event to arrive is its own.
  socket.emit('sync-throw')
  const first = await next(socket, 'error')
  t.equal(first.event, 'sync-throw')
  t.equal(errors.length, 1, 'the event without an ack got no reply')
  t.match(await http('GET', '/session', cookie), { silent: 'no ack' }, 'and was saved')
})

t.test('a failing handler: HANDLER_ERROR, nothing of the error reaches the client, the log has it', async (t) => {
  const { connected, logs } = await routedApp(t)
  const socket = await connected()
  for (const event of ['sync-throw', 'async-throw', 'throw-string']) {
    const reply = await call(socket, event)
    t.same(reply, { error: { code: 'HANDLER_ERROR', message: 'the event could not be handled' } }, event)
  }
  t.notOk(JSON.stringify(await call(socket, 'sync-throw')).includes('secret'), 'no message or stack leaks')
  const failures = logs.filter((l) => /event "(sync|async)-throw" failed/.test(l.msg))
  t.equal(failures.length, 3)
  t.match(failures[0].err.stack, /secret detail/, 'the log has the stack')
  t.equal(await call(socket, 'ping'), 'pong', 'the socket and the process carry on')
})

t.test('an EventError chooses the code and message of the reply', async (t) => {
  const { connected } = await routedApp(t)
  const socket = await connected()
  t.same(await call(socket, 'refuse'), { error: { code: 'NOT_FOUND', message: 'no such room' } })
  t.same(await call(socket, 'teapot'), { error: { code: 'TEAPOT', message: 'event refused' } }, 'a code of your own without a message')
})

t.test('without an ack the error arrives as the error event, naming the event', async (t) => {
  const { connected } = await routedApp(t)
  const socket = await connected()
  socket.emit('async-throw')
  t.same(await next(socket, 'error'), { event: 'async-throw', error: { code: 'HANDLER_ERROR', message: 'the event could not be handled' } })
  socket.emit('chat', { room: 1 })
  t.match(await next(socket, 'error'), { event: 'chat', error: { code: 'INVALID_PAYLOAD' } })
})

t.test('the error event can be renamed', async (t) => {
  const { connected } = await routedApp(t, { plugin: { events: { errorEvent: 'route:error' } } })
  const socket = await connected()
  socket.emit('refuse')
  t.match(await next(socket, 'route:error'), { event: 'refuse', error: { code: 'NOT_FOUND' } })
})

t.test('a reply that does not match the ack schema is logged and sent as HANDLER_ERROR', async (t) => {
  const { connected, logs } = await routedApp(t)
  const socket = await connected()
  t.match(await call(socket, 'bad-reply'), { error: { code: 'HANDLER_ERROR' } })
  const logged = logs.find((l) => /reply of event "bad-reply" does not match its ack schema/.test(l.msg))
  t.match(logged?.errors, [{ path: '', message: 'must have required properties count' }, { path: '/id', message: 'must be number' }])
})

t.test('a reply Socket.IO cannot encode is logged and sent as HANDLER_ERROR; the socket carries on', async (t) => {
  const { connected, logs } = await routedApp(t)
  const socket = await connected()
  t.same(await call(socket, 'circular'), { error: { code: 'HANDLER_ERROR', message: 'the event could not be handled' } })
  t.ok(logs.some((l) => /the ack of event "circular" could not be sent/.test(l.msg) && l.err), 'logged with the error')
  t.ok(socket.connected)
  t.equal(await call(socket, 'ping'), 'pong')
})

t.test('validateAck: false sends replies unchecked', async (t) => {
  const { connected } = await routedApp(t, { plugin: { events: { validateAck: false } } })
  const socket = await connected()
  t.same(await call(socket, 'bad-reply'), { id: 'one' })
})

t.test('a failed save turns the reply into SESSION_SAVE_FAILED', async (t) => {
  const store = new FakeStore()
  const seen: unknown[] = []
  const { login, connected } = await routedApp(t, { session: { store }, plugin: { events: { onError: (_s: unknown, err: unknown) => { seen.push(err) } } } })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  store.fail.set = new Error('disk full')
  t.same(await call(socket, 'chat', { room: 'a', text: 'lost' }), { error: { code: 'SESSION_SAVE_FAILED', message: 'the session could not be saved' } })
  t.match(seen, [{ message: /disk full/ }], 'onError saw the store error')
  t.same(await call(socket, 'refuse'), { error: { code: 'NOT_FOUND', message: 'no such room' } }, 'an error reply stays as it is')
  delete store.fail.set
  t.same(await call(socket, 'chat', { room: 'a', text: 'kept' }), { id: 4, count: 2 }, 'the failed change is still there and is saved next time')
})

t.test('autoSave: false runs routes without saving', async (t) => {
  const store = new FakeStore()
  const { login, connected, http } = await routedApp(t, { session: { store }, plugin: { autoSave: false } })
  const cookie = await login()
  const socket = await connected({ extraHeaders: { cookie } })
  t.same(await call(socket, 'chat', { room: 'a', text: 'hello' }), { id: 5, count: 1 })
  t.equal(store.counts.set, 1, 'only the login wrote')
  t.notOk('count' in await http('GET', '/session', cookie), 'nothing was saved')
  t.match(await call(socket, 'chat', { room: 'a', text: 1 }), { error: { code: 'INVALID_PAYLOAD' } }, 'validation still runs')
})

t.test('socket.on listeners work next to routes; a routed event does not run them, and says so once', async (t) => {
  const { connected, logs } = await routedApp(t, {
    setup: (app) => {
      routes(app)
      app.io.on('connection', (socket) => {
        socket.on('plain', (ack: (v: string) => void) => { ack('plain ' + String(socket.session.count ?? 0)) })
        socket.on('ping', (ack: (v: string) => void) => { ack('shadowed') })
      })
    }
  })
  const socket = await connected()
  t.equal(await call(socket, 'plain'), 'plain 0')
  t.equal(await call(socket, 'ping'), 'pong')
  t.equal(await call(socket, 'ping'), 'pong')
  t.equal(logs.filter((l) => /event "ping" has a route, so its socket.on listeners do not run/.test(l.msg)).length, 1)
})

t.test('routes belong to their namespace; dynamic namespaces share their parent routes', async (t) => {
  const { connected } = await routedApp(t, {
    plugin: { events: { unknownEvent: 'reply' } },
    setup: (app) => {
      routes(app)
      const admin = app.io.of('/admin')
      t.same(admin.event('stats', () => ({ sockets: admin.sockets.size })), { event: 'stats', namespace: '/admin' })
      app.io.of(/^\/room-\d+$/).event('where', (socket) => socket.nsp.name)
    }
  })
  const admin = await connected({}, '/admin')
  t.same(await call(admin, 'stats'), { sockets: 1 })
  t.match(await call(admin, 'ping'), { error: { code: 'UNKNOWN_EVENT' } }, 'the main namespace routes are not the admin ones')
  const room = await connected({}, '/room-7')
  t.equal(await call(room, 'where'), '/room-7')
  const main = await connected()
  t.match(await call(main, 'stats'), { error: { code: 'UNKNOWN_EVENT' } })
})
