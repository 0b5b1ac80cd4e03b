import t from 'tap'
import { io as connectClient, type Socket as ClientSocket, type ManagerOptions, type SocketOptions } from 'socket.io-client'
import { Parser } from '@asyncapi/parser'
import { build, Query } from '../example-app/app.js'
import { ChatMessage, HISTORY, memoryHistory, Message, Sent } from '../example-app/chat.js'
import { call, next, type MaybeError } from './helpers.js'

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
  /** Connects a client; resolves with it and the `counter` it got on connect, or rejects with its `connect_error`. */
  const connect = async (opts: Partial<ManagerOptions & SocketOptions>): Promise<{ socket: ClientSocket, count: number }> => {
    const socket = connectClient(url, { transports: ['websocket'], reconnection: false, forceNew: true, autoConnect: false, query: { room: 'lobby' }, ...opts })
    clients.push(socket)
    return await new Promise((resolve, reject) => {
      socket.once('counter', (count: number) => resolve({ socket, count }))
      socket.once('connect_error', reject)
      socket.connect()
    })
  }

  t.test('without a session, GET / shows the login form', async (t) => {
    const html = await page()
    t.match(html, '<form method="post" action="/login" id="login">')
    t.match(html, 'name="name"')
    t.notMatch(html, '/socket.io/socket.io.js')
  })

  t.test('an invalid or missing name is refused without a session, back on the page, which says why', async (t) => {
    const forms: Array<Record<string, string>> = [{ name: 'x'.repeat(33) }, { name: '  ' }, {}]
    for (const form of forms) {
      const response = await post('/login', form)
      t.equal(response.status, 303)
      t.equal(response.headers.get('location'), '/?error=name', 'a reload of where it lands shows the form again')
      t.equal(response.headers.get('set-cookie'), null)
    }
    t.match(await (await fetch(url + '/?error=name')).text(), '1 to 32 characters')
    t.notMatch(await page(), '1 to 32 characters', 'no error without one')
    t.notMatch(await (await fetch(url + '/?error=other')).text(), 'class="error"', 'an unknown error shows nothing')
  })

  t.test('GET /login (a reload after the form was posted) leads to the page', async (t) => {
    const response = await fetch(url + '/login', { redirect: 'manual' })
    t.equal(response.status, 303)
    t.equal(response.headers.get('location'), '/')
  })

  t.test('a new tab gets the room\'s history', async (t) => {
    const cookie = ((await post('/login', { name: 'Cy' })).headers.get('set-cookie') ?? '').split(';')[0]
    const first = await connect({ extraHeaders: { cookie }, query: { room: 'history' } })
    const sent = [await call<{ id: string }>(first.socket, 'chat:send', { text: 'one' }), await call<{ id: string }>(first.socket, 'chat:send', { text: 'two' })]
    first.socket.disconnect()
    const client = connectClient(url, { transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: { cookie }, query: { room: 'history' } })
    t.teardown(() => { client.disconnect() })
    const history = await next(client, 'chat:history') as Array<{ id: string, from: string, text: string }>
    t.same(history.map((m) => [m.id, m.from, m.text]), [[sent[0].id, 'Cy', 'one'], [sent[1].id, 'Cy', 'two']])
    const other = connectClient(url, { transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: { cookie }, query: { room: 'elsewhere' } })
    t.teardown(() => { other.disconnect() })
    t.same(await next(other, 'chat:history'), [], 'another room has its own')
  })

  t.test('the Socket.IO browser client and the page\'s own files are served', async (t) => {
    const response = await fetch(url + '/socket.io/socket.io.js')
    t.equal(response.status, 200)
    t.match(await response.text(), 'io')
    const script = await fetch(url + '/static/chat.js')
    t.match(script.headers.get('content-type'), /^text\/javascript/)
    t.match(await script.text(), "io({ query: { room } })")
    const style = await fetch(url + '/static/style.css')
    t.match(style.headers.get('content-type'), /^text\/css/)
    t.equal((await fetch(url + '/static/../app.js')).status, 404)
    t.equal((await fetch(url + '/static/app.js')).status, 404)
  })

  t.test('the app serves the AsyncAPI document of its events, valid, with their schemas', async (t) => {
    const response = await fetch(url + '/asyncapi.json')
    t.match(response.headers.get('content-type'), /^application\/json/)
    const doc = await response.json()
    const { diagnostics } = await new Parser().parse(doc)
    t.same(diagnostics.filter((d) => d.severity <= 1).map((d) => d.message), [], 'no errors, no warnings')
    t.equal(doc.info.title, 'Example chat')
    const json = (schema: unknown) => JSON.parse(JSON.stringify(schema))
    const { messages } = doc.channels.main
    t.same(messages.chat_send.payload, json(Message))
    t.same(messages['chat_send.ack'].payload, json(Sent))
    t.same(messages['chat_message'].payload, json(ChatMessage))
    t.same(Object.values(doc.operations).map((o: any) => `${o.action} ${o.messages[0].$ref.split('/').pop()}`), [
      'receive handshake', 'receive chat_send', 'receive counter_increment',
      'send counter', 'send chat_history', 'send chat_message', 'send presence', 'send eventError', 'send sessionError'
    ])
    t.match(doc.components.securitySchemes.sessionCookie, { in: 'cookie', name: 'sessionId', description: /required/ })
    t.same(doc.channels.main.bindings.ws.query, json(Query))
  })

  t.test('pages run only their own scripts', async (t) => {
    const response = await fetch(url + '/')
    t.match(response.headers.get('content-security-policy'), "script-src 'self'")
    t.notMatch(await response.text(), /<script>/, 'no inline script')
  })

  t.test('a client without a cookie is refused', async (t) => {
    const err = await connect({}).then(() => undefined, (err: any) => err)
    t.ok(err, 'connect_error')
    t.equal(err.data.code, 'SESSION_REQUIRED')
  })

  t.test('chat: messages are checked, reach the room, and are limited; who is online is told', async (t) => {
    const login = async (name: string): Promise<string> => ((await post('/login', { name })).headers.get('set-cookie') ?? '').split(';')[0]
    const ada = await connect({ extraHeaders: { cookie: await login('Ada') } })
    const presence = next(ada.socket, 'presence')
    const bob = await connect({ extraHeaders: { cookie: await login('Bob') } })
    t.same(await presence, ['Ada', 'Bob'])
    const received = next(bob.socket, 'chat:message')
    const reply = await call<{ id: string }>(ada.socket, 'chat:send', { text: 'hello' })
    t.match(reply, { id: /^[0-9a-f-]{36}$/ })
    t.match(await received, { id: reply.id, from: 'Ada', text: 'hello' })
    t.match(await call(ada.socket, 'chat:send', { text: '' }), { error: { code: 'INVALID_PAYLOAD', errors: [{ path: '/text' }] } })
    t.match(await call(ada.socket, 'chat:send', { text: 'x', admin: true }), { error: { code: 'INVALID_PAYLOAD' } })
    t.match(await call(ada.socket, 'chat:send', { text: 'x'.repeat(501) }), { error: { code: 'INVALID_PAYLOAD' } })
    const burst = await Promise.all(Array.from({ length: 6 }, async () => await call<MaybeError>(ada.socket, 'chat:send', { text: 'again' })))
    t.equal(burst.filter((r) => r.error?.code === 'RATE_LIMITED').length, 5, 'five messages per three seconds (hello was one)')
    const left = next(ada.socket, 'presence')
    bob.socket.disconnect()
    t.same(await left, ['Ada'])
    ada.socket.disconnect()
  })

  t.test('after login, the counter is kept in the session across connections', async (t) => {
    const response = await post('/login', { name: 'Ada <3' })
    t.equal(response.status, 303)
    t.equal(response.headers.get('location'), '/')
    const cookie = (response.headers.get('set-cookie') ?? '').split(';')[0]
    t.match(cookie, /^sessionId=/)

    const html = await page(cookie)
    t.match(html, '<b id="user">Ada &#60;3</b>')
    t.match(html, '<script src="/socket.io/socket.io.js"></script>')
    t.match(html, '<script src="/static/chat.js"></script>')

    const first = await connect({ extraHeaders: { cookie } })
    t.equal(first.count, 0, 'count on connect')
    t.equal(await call(first.socket, 'counter:increment'), 1)
    t.equal(await call(first.socket, 'counter:increment'), 2)
    t.equal(await call(first.socket, 'counter:increment'), 3)
    first.socket.disconnect()

    const second = await connect({ extraHeaders: { cookie } })
    t.equal(second.count, 3, 'count on reconnect')
    second.socket.disconnect()
    t.match(await page(cookie), '<p id="count" class="count">3</p>')

    const invalid = await connect({ extraHeaders: { cookie }, query: { room: 'x'.repeat(33) } }).then(() => undefined, (err: any) => err)
    t.equal(invalid?.data?.code, 'INVALID_QUERY')

    const logout = await post('/logout', {}, cookie)
    t.equal(logout.status, 303)
    t.match(await page(cookie), '<form method="post" action="/login" id="login">')
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

t.test('the history keeps the last 50 messages of each room', async (t) => {
  const history = memoryHistory()
  for (let i = 0; i < 55; i++) await history.add('lobby', { id: String(i), from: 'Ada', text: `#${i}`, at: i })
  const kept = await history.last('lobby')
  t.equal(HISTORY, 50)
  t.equal(kept.length, 50)
  t.same([kept[0].text, kept[49].text], ['#5', '#54'], 'the oldest went first')
  t.same(await history.last('other'), [])
})
