import t from 'tap'
import { MemoryStore } from '@fastify/session'
import { startApp, call, next, type CodedError } from './helpers.js'
import { FakeStore } from './fake-store.js'

// ---- socket.session has the API of request.session ----

const api = (app: any): void => {
  app.io.on('connection', (socket: any) => {
    const s = socket.session
    socket.on('get', (key: string, ack: (v: unknown) => void) => ack(s.get(key) ?? null))
    socket.on('set', (key: string, value: unknown, ack: (v: unknown) => void) => { s.set(key, value); ack(s.isModified()) })
    socket.on('modified', (ack: (v: unknown) => void) => ack(s.isModified()))
    socket.on('save-cb', (ack: (v: unknown) => void) => { s.save((err?: CodedError) => ack(err?.code ?? 'ok')) })
    socket.on('save', async (ack: (v: unknown) => void) => { await s.save().then(() => ack('ok'), (err: CodedError) => ack(err.code)) })
    socket.on('reload', async (ack: (v: unknown) => void) => { await s.reload().then(() => ack(s.user ?? null), (err: CodedError) => ack(err.code)) })
    socket.on('reload-cb', (ack: (v: unknown) => void) => { s.reload((err?: CodedError) => ack(err?.code ?? s.user ?? null)) })
    socket.on('destroy', async (ack: (v: unknown) => void) => { await s.destroy().then(() => ack('ok'), (err: CodedError) => ack(err.code)) })
    socket.on('destroy-cb', (ack: (v: unknown) => void) => { s.destroy((err?: CodedError) => ack(err?.code ?? 'ok')) })
    socket.on('regenerate', async (ack: (v: unknown) => void) => { await s.regenerate().then(() => ack('ok'), (err: CodedError) => ack(err.code)) })
    socket.on('regenerate-cb', (ack: (v: unknown) => void) => { s.regenerate(['user'], (err: any) => ack(err?.code ?? 'ok')) })
    socket.on('regenerate-cb-only', (ack: (v: unknown) => void) => { s.regenerate((err?: CodedError) => ack(err?.code ?? 'ok')) })
    socket.on('touch', (ack: (v: unknown) => void) => { s.touch(); ack(new Date(s.cookie.expires).getTime()) })
    socket.on('id', (ack: (v: unknown) => void) => ack([typeof s.sessionId, typeof s.encryptedSessionId]))
  })
}

t.test('get, set, isModified, sessionId', async (t) => {
  const { login, connected, http } = await startApp(t, { setup: api })
  const cookie = await login({ user: 'ada' })
  const socket = await connected({ extraHeaders: { cookie } })
  t.equal(await call(socket, 'get', 'user'), 'ada')
  t.equal(await call(socket, 'modified'), false)
  t.equal(await call(socket, 'set', 'theme', 'dark'), true, 'isModified right after a change')
  t.equal(await call(socket, 'modified'), false, 'and false once it was saved')
  t.equal((await http('GET', '/session', cookie)).theme, 'dark')
  t.same(await call(socket, 'id'), ['string', 'string'])
})

t.test('save() and save(callback) merge; reload() takes the store copy', async (t) => {
  const { login, connected, http } = await startApp(t, {
    plugin: { autoSave: false },
    setup: (app) => {
      api(app)
      app.post('/undefine', async (request) => { (request.session as any).a = undefined; return {} })
    }
  })
  const cookie = await login({ user: 'ada' })
  const socket = await connected({ extraHeaders: { cookie } })
  await call(socket, 'set', 'a', 1)
  t.equal(await call(socket, 'save-cb'), 'ok')
  t.equal(await call(socket, 'save'), 'ok', 'a save with nothing changed succeeds')
  t.equal((await http('GET', '/session', cookie)).a, 1)
  await http('POST', '/set', cookie, { user: 'grace' })
  await call(socket, 'set', 'local', true)
  t.equal(await call(socket, 'reload'), 'grace')
  t.equal(await call(socket, 'get', 'local'), null, 'reload drops unsaved local changes')
  await http('POST', '/set', cookie, { user: 'linus' })
  t.equal(await call(socket, 'reload-cb'), 'linus')
  await http('POST', '/undefine', cookie)
  t.equal(await call(socket, 'reload'), 'linus')
  t.equal(await call(socket, 'get', 'a'), null, 'a stored undefined value reloads as absent')
})

t.test('touch() extends the expiry and saves the cookie', async (t) => {
  const store = new MemoryStore()
  const { login, connected } = await startApp(t, { session: { store, cookie: { secure: false, maxAge: 60_000 } }, setup: api })
  const cookie = await login({ user: 'ada' })
  const socket = await connected({ extraHeaders: { cookie } })
  const [id] = [...(store as any).store.keys()]
  const before = new Date((store as any).store.get(id).cookie.expires).getTime()
  await new Promise((resolve) => setTimeout(resolve, 20))
  const touched = await call<number>(socket, 'touch')
  t.ok(touched > before, 'the expiry moved forward')
  t.equal(new Date((store as any).store.get(id).cookie.expires).getTime(), touched, 'and was written to the store')
  t.equal(await call(socket, 'reload'), 'ada', 'a reload keeps the cookie\'s expiry')
  t.equal(await call<number>(socket, 'touch') >= touched, true)
})

t.test('destroy() removes the session, answers the ack, then ends every socket of the session', async (t) => {
  const store = new MemoryStore()
  const { login, connected, http } = await startApp(t, { session: { store }, setup: api })
  const cookie = await login({ user: 'ada' })
  const socket = await connected({ extraHeaders: { cookie } })
  const other = await connected({ extraHeaders: { cookie } })
  const told = [next(socket, 'session:error'), next(other, 'session:error')]
  const reasons = [next(socket, 'disconnect'), next(other, 'disconnect')]
  t.equal(await call(socket, 'destroy'), 'ok', 'the ack of the destroying event arrives first')
  t.equal((store as any).store.size, 0)
  const ended = { error: { code: 'SESSION_DESTROYED', message: 'the session ended (logout or a new login)' }, code: 'SESSION_DESTROYED', message: 'the session ended (logout or a new login)' }
  t.same(await Promise.all(told), [ended, ended])
  t.same(await Promise.all(reasons), ['io server disconnect', 'io server disconnect'])
  t.same(await http('GET', '/session', cookie), {}, 'HTTP sees no session')
})

t.test('a session destroyed over HTTP ends its sockets; a reconnect with the old cookie gets no session', async (t) => {
  const store = new MemoryStore()
  const { url, login, connected } = await startApp(t, {
    session: { store },
    plugin: { requireSession: true },
    setup: api
  })
  const cookie = await login({ user: 'ada' })
  const socket = await connected({ extraHeaders: { cookie } })
  const told = next(socket, 'session:error')
  const reason = next(socket, 'disconnect')
  await fetch(`${url}/logout`, { method: 'POST', headers: { cookie } })
  t.equal((await told).code, 'SESSION_DESTROYED')
  t.equal(await reason, 'io server disconnect')
  t.equal((store as any).store.size, 0, 'still gone')
  const refused = await connected({ extraHeaders: { cookie } }).catch((err) => err)
  t.equal(refused.data?.code, 'SESSION_REQUIRED')
})

t.test('destroy(callback), and a destroy that fails', async (t) => {
  const store = new FakeStore()
  const { login, connected } = await startApp(t, { session: { store }, setup: api })
  const cookie = await login({ user: 'ada' })
  const socket = await connected({ extraHeaders: { cookie } })
  store.fail.destroy = new Error('cannot delete')
  const ended = next(socket, 'disconnect')
  t.equal(await call(socket, 'destroy-cb'), 'FST_SIO_SESSION_STORE', 'the caller is told')
  t.equal(await ended, 'io server disconnect', 'and the socket is ended anyway: a logout that failed still logs out here')
  delete store.fail.destroy
  const again = await connected({ extraHeaders: { cookie } })
  t.equal(await call(again, 'get', 'user'), 'ada', 'the store still has the session')
  t.equal(await call(again, 'destroy-cb'), 'ok')
})

t.test('regenerate() is refused over a socket, with the reason', async (t) => {
  const { login, connected } = await startApp(t, { setup: api })
  const socket = await connected({ extraHeaders: { cookie: await login({ user: 'ada' }) } })
  t.equal(await call(socket, 'regenerate'), 'FST_SIO_SESSION_REGENERATE')
  t.equal(await call(socket, 'regenerate-cb'), 'FST_SIO_SESSION_REGENERATE')
  t.equal(await call(socket, 'regenerate-cb-only'), 'FST_SIO_SESSION_REGENERATE')
  t.equal(await call(socket, 'get', 'user'), 'ada')
})

t.test('a socket without a stored session cannot save, reload or destroy it', async (t) => {
  const { connected } = await startApp(t, { setup: api })
  const socket = await connected()
  t.equal(await call(socket, 'set', 'x', 1), true)
  t.equal(await call(socket, 'save'), 'ok', 'nothing to write: the empty session is never stored')
  t.equal(await call(socket, 'reload'), 'FST_SIO_SESSION_NOT_STORED')
  t.equal(await call(socket, 'destroy'), 'FST_SIO_SESSION_NOT_STORED')
})
