import t from 'tap'
import { Signer } from '@fastify/cookie'
import { startApp, call, sessionIdOf, SECRET, refused } from './helpers.js'
import { FakeStore } from './fake-store.js'

// ---- The HTTP session on every socket ----

/** The whoami ack. */
interface Who { user: string | null, same: boolean, id: string }

const echo = (app: any): void => {
  app.io.on('connection', (socket: any) => {
    socket.on('whoami', (ack: (v: unknown) => void) => {
      ack({ user: socket.session.user ?? null, same: socket.request.session === socket.session, id: typeof socket.session.sessionId })
    })
  })
}

for (const transport of ['websocket', 'polling']) {
  t.test(`the socket carries the HTTP session (${transport})`, async (t) => {
    const store = new FakeStore()
    const { login, connected } = await startApp(t, { session: { store }, setup: echo })
    const cookie = await login({ user: 'grace' })
    const writes = store.counts.set
    const socket = await connected({ transports: [transport as 'websocket'], extraHeaders: { cookie } })
    t.same(await call(socket, 'whoami'), { user: 'grace', same: true, id: 'string' })
    t.equal(store.counts.set, writes, 'the handshake and a read-only event write nothing')
  })
}

t.test('non-default cookieName and cookiePrefix are read as @fastify/session reads them', async (t) => {
  const { login, connected, http } = await startApp(t, {
    session: { cookieName: 'sid', cookiePrefix: 's:' },
    plugin: { cookiePrefix: 's:' },
    setup: echo
  })
  const cookie = await login({ user: 'linus' })
  t.match(cookie, /^sid=s%3A|^sid=s:/, 'the cookie has the configured name and prefix')
  t.equal((await http('GET', '/session', cookie)).user, 'linus')
  const socket = await connected({ extraHeaders: { cookie } })
  t.equal((await call<Who>(socket, 'whoami')).user, 'linus')
})

t.test('a prefix that does not match loads no session', async (t) => {
  const { login, connected } = await startApp(t, { session: { cookieName: 'sid', cookiePrefix: 's:' }, setup: echo })
  const cookie = await login({ user: 'linus' })
  const socket = await connected({ extraHeaders: { cookie } })
  t.equal((await call<Who>(socket, 'whoami')).user, null)
})

t.test('secret rotation: a cookie signed by an older secret still loads', async (t) => {
  const store = new FakeStore()
  const old = 'an older secret of at least thirty-two characters'
  const first = await startApp(t, { session: { store, secret: old }, setup: echo })
  const cookie = await first.login({ user: 'ken' })
  await first.close()
  const second = await startApp(t, { session: { store, secret: [SECRET, old] }, setup: echo })
  const socket = await second.connected({ extraHeaders: { cookie } })
  t.equal((await call<Who>(socket, 'whoami')).user, 'ken')
})

t.test('bad cookies give an empty session that is never written', async (t) => {
  const store = new FakeStore()
  const { app, login, connected, cookieName } = await startApp(t, {
    session: { store },
    setup: (app) => {
      echo(app)
      app.io.on('connection', (socket: any) => {
        socket.on('touchme', (ack: (v: unknown) => void) => {
          socket.session.mark = 'x'
          ack(socket.session.mark)
        })
      })
    }
  })
  const good = await login({ user: 'ada' })
  const value = decodeURIComponent(good.slice(cookieName.length + 1))
  const id = value.slice(0, value.lastIndexOf('.'))
  const foreign = new Signer('a foreign secret that is long enough to be valid').sign(id)
  const cases = {
    none: undefined,
    others: 'theme=dark; lang=en',
    malformed: `${cookieName}=%E0%A4%A; =;;; ${cookieName}`,
    unsigned: `${cookieName}=${encodeURIComponent(id)}`,
    tampered: `${cookieName}=${encodeURIComponent(value.slice(0, -2) + 'xx')}`,
    foreign: `${cookieName}=${encodeURIComponent(foreign)}`,
    unknown: `${cookieName}=${encodeURIComponent(new Signer(SECRET).sign('no-such-session'))}`
  }
  for (const [name, cookie] of Object.entries(cases)) {
    const writes = store.counts.set
    const socket = await connected(cookie === undefined ? {} : { extraHeaders: { cookie } })
    t.equal((await call<Who>(socket, 'whoami')).user, null, `${name}: no user`)
    t.equal(await call(socket, 'touchme'), 'x', `${name}: the empty session can be used`)
    t.equal(store.counts.set, writes, `${name}: nothing written`)
    socket.disconnect()
  }
  t.equal(store.store.size, 1, 'no orphan sessions in the store')
  t.ok(app.io.of('/').sockets.size >= 0)
})

t.test('an expired stored session is not loaded, and not rewritten', async (t) => {
  const store = new FakeStore()
  const { login, connected } = await startApp(t, { session: { store, cookie: { secure: false, maxAge: 50 } }, setup: echo })
  const cookie = await login({ user: 'old' })
  const [id] = [...store.store.keys()]
  const stored = store.store.get(id) as any
  stored.cookie.expires = new Date(Date.now() - 1000)
  stored.cookie.originalExpires = stored.cookie.expires
  const writes = store.counts.set
  const socket = await connected({ extraHeaders: { cookie } })
  t.equal((await call<Who>(socket, 'whoami')).user, null)
  t.equal(store.counts.set, writes)
  t.equal(store.store.size, 1)
})

t.test('requireSession refuses missing, unknown, expired and badly signed cookies alike', async (t) => {
  const store = new FakeStore()
  const { login, connected, cookieName } = await startApp(t, { session: { store }, plugin: { requireSession: true }, setup: echo })
  const cookie = await login({ user: 'ada' })
  const ok = await connected({ extraHeaders: { cookie } })
  t.equal((await call<Who>(ok, 'whoami')).user, 'ada')
  const bad = [
    undefined,
    `${cookieName}=${encodeURIComponent(new Signer(SECRET).sign('unknown'))}`,
    `${cookieName}=garbage`,
    `${cookieName}=${encodeURIComponent(new Signer('another secret, also thirty-two chars long').sign('x'))}`
  ]
  const seen = []
  for (const header of bad) {
    const err = await refused(connected(header === undefined ? {} : { extraHeaders: { cookie: header } }))
    seen.push([err.message, err.data])
  }
  for (const s of seen) t.same(s, seen[0], 'the same refusal for every kind of bad cookie')
  t.same(seen[0], ['a valid session is required', { code: 'SESSION_REQUIRED', message: 'a valid session is required' }])
})

t.test('a store that fails during the handshake: SESSION_STORE_ERROR, then recovery', async (t) => {
  const store = new FakeStore()
  const { login, connected } = await startApp(t, { session: { store }, setup: echo })
  const cookie = await login({ user: 'ada' })
  store.fail.get = new Error('store down')
  const err = await refused(connected({ extraHeaders: { cookie } }))
  t.same(err.data, { code: 'SESSION_STORE_ERROR', message: 'session store unavailable, retry later' })
  delete store.fail.get
  const socket = await connected({ extraHeaders: { cookie } })
  t.equal((await call<Who>(socket, 'whoami')).user, 'ada')
})

t.test('a store that throws, or reports ENOENT', async (t) => {
  const store = new FakeStore()
  const { login, connected } = await startApp(t, { session: { store }, setup: echo })
  const cookie = await login({ user: 'ada' })
  store.fail.get = () => { throw new Error('sync failure') }
  const err = await refused(connected({ extraHeaders: { cookie } }))
  t.equal(err.data.code, 'SESSION_STORE_ERROR')
  store.fail.get = 'a string, not an Error'
  const err2 = await refused(connected({ extraHeaders: { cookie } }))
  t.equal(err2.data.code, 'SESSION_STORE_ERROR')
  store.fail.get = Object.assign(new Error('missing'), { code: 'ENOENT' })
  const socket = await connected({ extraHeaders: { cookie } })
  t.equal((await call<Who>(socket, 'whoami')).user, null, 'ENOENT is no session, as in @fastify/session')
  delete store.fail.get
  store.store.set(sessionIdOf(cookie), { user: 'no cookie field' })
  const bare = await connected({ extraHeaders: { cookie } })
  t.equal((await call<Who>(bare, 'whoami')).user, 'no cookie field', 'a stored session without a cookie field loads')
})

t.test('sockets of other namespaces get the session too', async (t) => {
  const { login, connected } = await startApp(t, {
    setup: (app) => {
      app.io.of('/admin').on('connection', (socket: any) => {
        socket.on('whoami', (ack: (v: unknown) => void) => ack(socket.session.user ?? null))
      })
      app.io.of(/^\/room-\d+$/).on('connection', (socket: any) => {
        socket.on('whoami', (ack: (v: unknown) => void) => { socket.session.visited = socket.nsp.name; ack(socket.session.user ?? null) })
      })
    }
  })
  const cookie = await login({ user: 'root' })
  const admin = await connected({ extraHeaders: { cookie } }, '/admin')
  t.equal(await call(admin, 'whoami'), 'root')
  const room = await connected({ extraHeaders: { cookie } }, '/room-7')
  t.equal(await call(room, 'whoami'), 'root')
})
