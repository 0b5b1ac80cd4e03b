import t from 'tap'
import { readFileSync } from 'node:fs'
import { request } from 'node:https'
import { startApp, call } from './helpers.js'

// ---- Over HTTPS, with @fastify/session's default secure cookie ----

const ca = readFileSync(new URL('./fixtures/localhost.crt', import.meta.url))
const key = readFileSync(new URL('./fixtures/localhost.key', import.meta.url))

/** POST /login over HTTPS, trusting the test certificate; resolves to the Cookie header value. */
async function login (url: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    const req = request(`${url}/login`, { method: 'POST', ca, headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume()
      resolve(String(res.headers['set-cookie']?.[0] ?? '').split(';')[0])
    })
    req.on('error', reject)
    req.end('{"user":"tls"}')
  })
}

for (const transport of ['websocket', 'polling'] as const) {
  t.test(`secure cookies reach the socket over HTTPS (${transport})`, async (t) => {
    const { url, connected } = await startApp(t, {
      fastify: { https: { key, cert: ca } } as any,
      session: { cookie: { secure: true } },
      setup: (app) => {
        app.io.on('connection', (socket: any) => {
          socket.on('whoami', (ack: (v: unknown) => void) => ack(socket.session.user ?? null))
          socket.on('auto', (ack: (v: unknown) => void) => ack(socket.session.cookie.secure))
        })
      }
    })
    const cookie = await login(url)
    t.match(cookie, /^sessionId=/, 'the session cookie was set over HTTPS')
    const socket = await connected({ transports: [transport], extraHeaders: { cookie }, ca } as any)
    t.equal(await call(socket, 'whoami'), 'tls')
    const anonymous = await connected({ transports: [transport], ca } as any)
    t.equal(await call(anonymous, 'auto'), true, 'an empty session on a TLS socket has a secure cookie')
  })
}

t.test('an http page is not the https server\'s own origin', async (t) => {
  const { url, connected } = await startApp(t, { fastify: { https: { key, cert: ca } } as any })
  const { port } = new URL(url)
  t.ok(await connected({ extraHeaders: { origin: url }, ca } as any), url)
  const err: any = await connected({ extraHeaders: { origin: `http://127.0.0.1:${port}` }, ca } as any).catch((e) => e)
  t.equal(err.data?.code, 'ORIGIN_NOT_ALLOWED', `http://127.0.0.1:${port}`)
})
