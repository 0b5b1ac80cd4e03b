import t from 'tap'
import { request as httpRequest } from 'node:http'
import type { Socket } from 'socket.io'
import { startApp, captureLogs } from './helpers.js'

// ---- Every HTTP request of a connection is checked: handshake, polling GETs and POSTs, upgrades ----

const PATH = '/socket.io/?EIO=4&transport=polling'
const REFUSED = JSON.stringify({ code: 'ORIGIN_NOT_ALLOWED', message: 'origin not allowed' })

/** One raw Engine.IO polling request; resolves with its status and body. */
async function raw (url: string, query: string, init: RequestInit = {}): Promise<{ status: number, body: string }> {
  const response = await fetch(url + PATH + query, init)
  return { status: response.status, body: await response.text() }
}

/** An Engine.IO handshake (polling); `sid` is set when it was accepted. */
async function open (url: string, headers: Record<string, string> = {}, query = ''): Promise<{ status: number, body: string, sid: string }> {
  const answer = await raw(url, query, { headers })
  return { ...answer, sid: answer.body.startsWith('0{') ? JSON.parse(answer.body.slice(1)).sid : '' }
}

/** A polling POST of one packet. */
const post = async (url: string, sid: string, packet: string, headers: Record<string, string> = {}): Promise<{ status: number, body: string }> =>
  await raw(url, `&sid=${sid}`, { method: 'POST', body: packet, headers: { 'content-type': 'text/plain;charset=UTF-8', ...headers } })

/** A polling GET (answers at once when packets are waiting). */
const poll = async (url: string, sid: string, headers: Record<string, string> = {}): Promise<{ status: number, body: string }> =>
  await raw(url, `&sid=${sid}`, { headers })

/** Opens a connection and connects the main namespace with `headers` on every request; resolves with the sid. */
async function connect (url: string, headers: Record<string, string> = {}): Promise<string> {
  const { sid } = await open(url, headers)
  await post(url, sid, '40', headers)
  const answer = await poll(url, sid, headers)
  if (!answer.body.startsWith('40{')) throw new Error(`not connected: ${answer.body}`)
  return sid
}

/** Records the server's sockets, how each disconnected, and counts the `touch` events they receive. */
function tracked (): { sockets: Socket[], closed: Array<Promise<string>>, touches: number, setup: (app: any) => void } {
  const state = {
    sockets: [] as Socket[],
    closed: [] as Array<Promise<string>>,
    touches: 0,
    setup: (app: any) => {
      app.io.on('connection', (socket: Socket) => {
        state.sockets.push(socket)
        state.closed.push(new Promise((resolve) => socket.once('disconnect', resolve)))
        socket.on('touch', () => { state.touches++ })
      })
    }
  }
  return state
}

/** Resolves with the reason the socket disconnected, or 'still connected' after two seconds. */
async function disconnected (closed: Promise<string>): Promise<string> {
  let timer: NodeJS.Timeout | undefined
  const waited = new Promise<string>((resolve) => { timer = setTimeout(() => resolve('still connected'), 2000) })
  return await Promise.race([closed, waited]).finally(() => clearTimeout(timer))
}

t.test('JSONP polling is refused with 403, unless allowJsonp', async (t) => {
  const { logs, logger } = captureLogs('warn')
  const strict = await startApp(t, { fastify: { logger } })
  const refused = await open(strict.url, { cookie: 'sessionId=secret-cookie-value' }, '&j=0')
  t.equal(refused.status, 403)
  t.equal(refused.body, REFUSED)
  t.match(logs[0], { level: 40, code: 'ORIGIN_NOT_ALLOWED', reason: 'jsonp', address: /127\.0\.0\.1/ }, 'logged as a warning')
  t.notOk(JSON.stringify(logs).includes('secret-cookie-value'), 'never with the cookie')

  const open_ = await startApp(t, { plugin: { allowJsonp: true } })
  const allowed = await open(open_.url, {}, '&j=0')
  t.equal(allowed.status, 200, 'a non-browser client may use JSONP with allowJsonp')
  t.match(allowed.body, /^___eio\[0\]\("0\{/)
  const crossSite = await open(open_.url, { 'sec-fetch-site': 'same-site' }, '&j=0')
  t.equal(crossSite.status, 403, 'the other checks still apply')
})

t.test('without an Origin, fetch metadata decides', async (t) => {
  const { url } = await startApp(t)
  for (const site of ['same-site', 'cross-site', 'same-origin, same-site']) {
    const answer = await open(url, { 'sec-fetch-site': site })
    t.equal(answer.status, 403, `Sec-Fetch-Site: ${site}`)
    t.equal(answer.body, REFUSED)
  }
  for (const site of ['same-origin', 'none']) t.equal((await open(url, { 'sec-fetch-site': site })).status, 200, `Sec-Fetch-Site: ${site}`)
  t.equal((await open(url, { 'sec-fetch-site': 'cross-site' }, '&sid=')).status, 403, 'an empty sid is a handshake')
  t.equal((await open(url)).status, 200, 'no Origin and no fetch metadata: a non-browser client')
  t.ok(await connect(url), 'which may connect by default')
})

t.test('a same-origin request without Origin is the server\'s own, even with allowMissingOrigin: false', async (t) => {
  const { url } = await startApp(t, { plugin: { allowMissingOrigin: false } })
  t.ok(await connect(url, { 'sec-fetch-site': 'same-origin' }), 'Sec-Fetch-Site: same-origin connects')
  const { sid } = await open(url, { 'sec-fetch-site': 'none' })
  await post(url, sid, '40', { 'sec-fetch-site': 'none' })
  t.match((await poll(url, sid, { 'sec-fetch-site': 'none' })).body, /^44\{"message":"origin not allowed","data":\{"code":"ORIGIN_NOT_ALLOWED"/, 'Sec-Fetch-Site: none is no origin')
})

t.test('a connection opened without an Origin cannot be driven from a foreign one', async (t) => {
  const { logs, logger } = captureLogs('warn')
  const state = tracked()
  const { url } = await startApp(t, { fastify: { logger }, setup: state.setup })
  const sid = await connect(url)
  t.equal(state.sockets.length, 1)
  // A browser without fetch metadata: no Origin on its same-origin polling GETs, its own on POSTs.
  t.equal((await post(url, sid, '42["touch"]', { origin: url })).status, 200, 'the server\'s own origin')
  const answer = await post(url, sid, '42["touch"]', { origin: 'https://evil.example' })
  t.equal(answer.status, 403)
  t.equal(answer.body, REFUSED)
  t.equal(await disconnected(state.closed[0]), 'forced close', 'the connection was closed')
  t.equal(state.touches, 1, 'the refused event never ran')
  t.match(logs.at(-1), { level: 40, code: 'ORIGIN_NOT_ALLOWED', reason: 'origin changed', origin: 'https://evil.example' })
})

t.test('a connection opened from an allowed origin cannot be used from another', async (t) => {
  const A = 'https://a.example'
  const state = tracked()
  const { url } = await startApp(t, { plugin: { allowedOrigins: [A, 'https://b.example'] }, setup: state.setup })
  const sid = await connect(url, { origin: A })
  t.equal((await post(url, sid, '42["touch"]', { origin: A })).status, 200, 'the same origin')
  t.equal((await post(url, sid, '42["touch"]', { origin: url })).status, 200, 'the server\'s own origin')
  await t.resolveMatch(poll(url, sid, { origin: 'https://b.example' }), { status: 403 }, 'another allowed origin')
  t.equal(await disconnected(state.closed[0]), 'forced close')

  const other = await connect(url, { origin: A })
  await t.resolveMatch(post(url, other, '42["touch"]', { 'sec-fetch-site': 'cross-site' }), { status: 403 }, 'no Origin, from another site')
  t.equal(await disconnected(state.closed[1]), 'forced close')
  t.equal(state.touches, 2)
})

t.test('a WebSocket upgrade from another origin is refused with 403 and closes the connection', async (t) => {
  const state = tracked()
  const { url } = await startApp(t, { setup: state.setup })
  const sid = await connect(url)
  const answer = await new Promise<{ status?: number, body: string }>((resolve, reject) => {
    const req = httpRequest(`${url}/socket.io/?EIO=4&transport=websocket&sid=${sid}`, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        origin: 'https://evil.example'
      }
    })
    req.on('upgrade', () => reject(new Error('upgraded')))
    req.on('response', (res) => {
      let body = ''
      res.on('data', (chunk) => { body += chunk })
      res.on('end', () => resolve({ status: res.statusCode, body }))
    })
    req.on('error', reject)
    req.end()
  })
  t.equal(answer.status, 403)
  t.equal(answer.body, REFUSED)
  t.equal(await disconnected(state.closed[0]), 'forced close')
})

t.test('an unknown sid is left to Engine.IO', async (t) => {
  const { url } = await startApp(t)
  for (const sid of ['unknown', '__proto__', 'constructor']) {
    const answer = await poll(url, sid, { origin: 'https://evil.example' })
    t.equal(answer.status, 400, sid)
    t.same(JSON.parse(answer.body), { code: 1, message: 'Session ID unknown' })
  }
})
