import t from 'tap'
import { io as connectClient, type Socket as ClientSocket, type ManagerOptions, type SocketOptions } from 'socket.io-client'
import { build } from '../example-app/app.js'
import { call } from './helpers.js'

t.test('example app: login page, counter over Socket.IO, logout', async (t) => {
  const app = await build()
  const clients: ClientSocket[] = []
  t.teardown(async () => {
    for (const socket of clients) socket.disconnect()
    await app.close()
  })
  await app.listen({ host: '127.0.0.1', port: 0 })
  const address = app.server.address()
  const url = `http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`

  const page = async (cookie?: string): Promise<string> => {
    const response = await fetch(url + '/', { headers: cookie ? { cookie } : {} })
    t.equal(response.status, 200)
    t.match(response.headers.get('content-type'), /^text\/html/)
    return await response.text()
  }
  const post = async (path: string, form: Record<string, string>, cookie?: string): Promise<Response> => {
    return await fetch(url + path, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(cookie ? { cookie } : {}) },
      body: new URLSearchParams(form)
    })
  }
  /** Connects a client; resolves with it and the `count` it got on connect, or rejects with its `connect_error`. */
  const connect = async (opts: Partial<ManagerOptions & SocketOptions>): Promise<{ socket: ClientSocket, count: number }> => {
    const socket = connectClient(url, { transports: ['websocket'], reconnection: false, forceNew: true, autoConnect: false, query: { room: 'lobby' }, ...opts })
    clients.push(socket)
    return await new Promise((resolve, reject) => {
      socket.once('count', (count: number) => resolve({ socket, count }))
      socket.once('connect_error', reject)
      socket.connect()
    })
  }

  t.test('without a session, GET / shows the login form', async (t) => {
    const html = await page()
    t.match(html, '<form method="post" action="/login">')
    t.match(html, 'name="name"')
    t.notMatch(html, '/socket.io/socket.io.js')
  })

  t.test('an invalid or missing name is refused without a session', async (t) => {
    const forms: Array<Record<string, string>> = [{ name: 'x'.repeat(33) }, { name: '  ' }, {}]
    for (const form of forms) {
      const response = await post('/login', form)
      t.equal(response.status, 400)
      t.equal(response.headers.get('set-cookie'), null)
      t.match(await response.text(), '1 to 32 characters')
    }
  })

  t.test('the Socket.IO browser client is served', async (t) => {
    const response = await fetch(url + '/socket.io/socket.io.js')
    t.equal(response.status, 200)
    t.match(await response.text(), 'io')
  })

  t.test('a client without a cookie is refused', async (t) => {
    const err = await connect({}).then(() => undefined, (err: any) => err)
    t.ok(err, 'connect_error')
    t.equal(err.data.code, 'SESSION_REQUIRED')
  })

  t.test('after login, the counter is kept in the session across connections', async (t) => {
    const response = await post('/login', { name: 'Ada <3' })
    t.equal(response.status, 303)
    t.equal(response.headers.get('location'), '/')
    const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0]
    t.match(cookie, /^sessionId=/)

    const html = await page(cookie)
    t.match(html, 'Hello, Ada &#60;3')
    t.match(html, '<script src="/socket.io/socket.io.js"></script>')
    t.match(html, "io({ query: { room: 'lobby' } })")

    const first = await connect({ extraHeaders: { cookie } })
    t.equal(first.count, 0, 'count on connect')
    t.equal(await call(first.socket, 'increment'), 1)
    t.equal(await call(first.socket, 'increment'), 2)
    t.equal(await call(first.socket, 'increment'), 3)
    first.socket.disconnect()

    const second = await connect({ extraHeaders: { cookie } })
    t.equal(second.count, 3, 'count on reconnect')
    second.socket.disconnect()
    t.match(await page(cookie), '<p class="count" id="count">3</p>')

    const invalid = await connect({ extraHeaders: { cookie }, query: { room: 'x'.repeat(33) } }).then(() => undefined, (err: any) => err)
    t.equal(invalid?.data?.code, 'INVALID_QUERY')

    const logout = await post('/logout', {}, cookie)
    t.equal(logout.status, 303)
    t.match(await page(cookie), '<form method="post" action="/login">')
    const refused = await connect({ extraHeaders: { cookie } }).then(() => undefined, (err: any) => err)
    t.equal(refused?.data?.code, 'SESSION_REQUIRED', 'the old cookie no longer connects')
  })
})

t.test('in production, the example app needs SESSION_SECRET', async (t) => {
  const saved = { NODE_ENV: process.env.NODE_ENV, SESSION_SECRET: process.env.SESSION_SECRET }
  t.teardown(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key]
      else process.env[key] = value
    }
  })
  process.env.NODE_ENV = 'production'
  delete process.env.SESSION_SECRET
  await t.rejects(build(), /SESSION_SECRET/)

  process.env.SESSION_SECRET = 'a production secret of at least 32 characters'
  const app = await build()
  t.teardown(async () => await app.close())
  await app.ready()
  t.pass('builds with SESSION_SECRET set')
})
