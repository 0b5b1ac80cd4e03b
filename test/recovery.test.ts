import t from 'tap'
import { startApp, call, next } from './helpers.js'
import { FakeStore } from './fake-store.js'

// ---- Connection-state recovery: Socket.IO skips middlewares, the session is still loaded ----

const recovery = { connectionStateRecovery: { maxDisconnectionDuration: 60_000 } }

const handlers = (app: any): void => {
  app.io.on('connection', (socket: any) => {
    socket.session.connections = (socket.session.connections ?? 0) + 1
    // A broadcast gives the client an offset, which Socket.IO needs to recover the socket later.
    app.io.to(socket.id).emit('welcome')
    socket.on('whoami', (ack: (v: unknown) => void) => ack({ user: socket.session.user ?? null, recovered: socket.recovered }))
    socket.on('inc', (ack: (v: unknown) => void) => { socket.session.count = (socket.session.count ?? 0) + 1; ack(socket.session.count) })
  })
}

/** A client that reconnects by itself, once it got the welcome broadcast. */
async function recoverable (connected: any, cookie: string): Promise<any> {
  const socket = await connected({ extraHeaders: { cookie }, reconnection: true, reconnectionDelay: 10 })
  if (socket._lastOffset === undefined) await next(socket, 'welcome')
  return socket
}

/** Drops the client's transport; the client reconnects and Socket.IO recovers the socket. */
async function dropAndRecover (socket: any): Promise<void> {
  const reconnected = next(socket, 'connect')
  socket.io.engine.close()
  await reconnected
}

t.test('a recovered socket gets its session, and its connection listeners run with it', async (t) => {
  const { login, connected, http } = await startApp(t, { io: recovery, setup: handlers })
  const cookie = await login({ user: 'ada' })
  const socket = await recoverable(connected, cookie)
  t.equal(await call(socket, 'inc'), 1)
  await http('POST', '/set', cookie, { user: 'grace' })
  await dropAndRecover(socket)
  t.equal(socket.recovered, true, 'Socket.IO recovered the socket')
  t.same(await call(socket, 'whoami'), { user: 'grace', recovered: true }, 'the session was read again')
  t.equal(await call(socket, 'inc'), 2)
  t.equal((await http('GET', '/session', cookie)).connections, 2, 'the connection listener ran with the session and saved')
})

t.test('events sent right after recovery wait for the session', async (t) => {
  const store = new FakeStore()
  const { login, connected } = await startApp(t, { io: recovery, session: { store }, setup: handlers })
  const cookie = await login({ user: 'ada' })
  const socket = await recoverable(connected, cookie)
  store.delay.get = 50
  socket.io.engine.close()
  const answers = await Promise.all([call(socket, 'inc'), call(socket, 'whoami')])
  t.same(answers, [1, { user: 'ada', recovered: true }], 'buffered events ran after the session loaded')
})

t.test('a recovered socket whose session was destroyed while it was away is told why and disconnected', async (t) => {
  const store = new FakeStore()
  const { url, login, connected } = await startApp(t, {
    io: recovery,
    session: { store },
    plugin: { requireSession: true },
    setup: handlers
  })
  const cookie = await login({ user: 'ada' })
  const socket = await recoverable(connected, cookie)
  const told = next(socket, 'session:error')
  const gone = new Promise((resolve) => socket.on('disconnect', (reason: string) => { if (reason !== 'forced close') resolve(reason) }))
  const answered: unknown[] = []
  store.delay.get = 100
  // Logout while the client is away; then an event sent while disconnected, which the client buffers
  // and sends right after the recovery handshake.
  socket.once('disconnect', () => {
    void fetch(`${url}/logout`, { method: 'POST', headers: { cookie } })
    socket.emit('inc', (n: unknown) => answered.push(n))
  })
  socket.io.engine.close()
  t.same(await told, { error: { code: 'SESSION_REQUIRED', message: 'a valid session is required' }, code: 'SESSION_REQUIRED', message: 'a valid session is required' })
  t.equal(await gone, 'io server disconnect', 'a server-side disconnect: the client does not reconnect by itself')
  t.same(answered, [], 'the event sent during recovery never reached a listener')
})

t.test('a recovered socket is checked for its origin too: a foreign one is told why and disconnected', async (t) => {
  const { login, connected } = await startApp(t, { io: recovery, setup: handlers })
  const cookie = await login({ user: 'ada' })
  const socket = await recoverable(connected, cookie)
  const told = next(socket, 'session:error')
  // The next connection of the same client comes from another origin.
  socket.io.opts.extraHeaders = { cookie, origin: 'https://evil.example' }
  socket.io.engine.close()
  t.same(await told, { error: { code: 'ORIGIN_NOT_ALLOWED', message: 'origin not allowed' }, code: 'ORIGIN_NOT_ALLOWED', message: 'origin not allowed' })
  t.equal(socket.recovered, true, 'Socket.IO recovered it without its middlewares')
})
