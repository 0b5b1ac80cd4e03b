import t from 'tap'
import { spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { io as connectClient, type Socket as ClientSocket } from 'socket.io-client'
import { build } from '../example-app/app.js'
import { redisHistory } from '../example-app/chat.js'
import { startRedis } from './redis-server.js'
import { call, next } from './helpers.js'

// ---- The example app on Redis: two nodes share sessions; logout on one ends the sockets on the other ----

const redis = await startRedis(t)

t.test('two nodes of the example app on one Redis', async (t) => {
  const urls: string[] = []
  const clients: ClientSocket[] = []
  for (let i = 0; i < 2; i++) {
    const app = await build({}, { redisUrl: redis.url, nodeName: `node ${'AB'[i]}` })
    t.teardown(async () => await app.close())
    await app.listen({ host: '127.0.0.1', port: 0 })
    const address = app.server.address()
    urls.push(`http://127.0.0.1:${typeof address === 'object' && address !== null ? address.port : 0}`)
  }
  t.teardown(() => { for (const socket of clients) socket.disconnect() })
  const [a, b] = urls
  const form = async (url: string, path: string, body: Record<string, string>, cookie = ''): Promise<Response> => await fetch(url + path, {
    method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie }, body: new URLSearchParams(body)
  })
  const cookie = ((await form(a, '/login', { name: 'Ada' })).headers.get('set-cookie') ?? '').split(';')[0]
  const connect = async (url: string): Promise<[ClientSocket, number]> => {
    const socket = connectClient(url, { transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: { cookie }, query: { room: 'lobby' } })
    clients.push(socket)
    return [socket, await next(socket, 'counter') as number]
  }
  const [onA] = await connect(a)
  t.equal(await call(onA, 'counter:increment'), 1)
  const sent = await call<{ id: string }>(onA, 'chat:send', { text: 'from node A' })
  const later = connectClient(b, { transports: ['websocket'], reconnection: false, forceNew: true, extraHeaders: { cookie }, query: { room: 'lobby' } })
  clients.push(later)
  t.match(await next(later, 'chat:history'), [{ id: sent.id, text: 'from node A' }], 'a new tab on node B gets the history node A kept')
  const [onB, count] = await connect(b)
  t.equal(count, 1, 'node B reads the session node A wrote')
  t.equal(await call(onB, 'counter:increment'), 2)
  const pageA = await (await fetch(a + '/', { headers: { cookie } })).text()
  t.match(pageA, '<p id="count" class="count">2</p>')
  t.match(pageA, '>node A</span>', 'the page says which node served it')
  t.match(await (await fetch(b + '/', { headers: { cookie } })).text(), '>node B</span>')

  const told = next(onB, 'session:error')
  const reason = next(onB, 'disconnect')
  await form(a, '/logout', {}, cookie)
  t.equal((await told).code, 'SESSION_DESTROYED', 'logout on A reaches the tab on B')
  t.equal(await reason, 'io server disconnect')
})

/** Whether nothing listens on 127.0.0.1:`port`. */
async function free (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const server = createServer()
    server.once('error', () => resolve(false))
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)))
  })
}

/** A port that is free, with the next one free too (the cluster listens on both). */
async function twoFreePorts (): Promise<number> {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 20000)
    if (await free(port) && await free(port + 1)) return port
  }
}

t.test('npm run start:cluster starts two nodes on two ports', async (t) => {
  const port = await twoFreePorts()
  const child = spawn(process.execPath, ['example-app/cluster.js'], {
    env: { ...process.env, PORT: String(port), REDIS_URL: redis.url, LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  t.teardown(() => { child.kill('SIGTERM') })
  let output = ''
  await new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`cluster exited with ${code}: ${output}`)))
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if ((output.match(/example app: open/g) ?? []).length === 2) resolve()
    })
  })
  for (const p of [port, port + 1]) {
    const response = await fetch(`http://127.0.0.1:${p}/`)
    t.equal(response.status, 200, `a node answers on port ${p}`)
    const login = await fetch(`http://127.0.0.1:${p}/login`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'name=Ada' })
    const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]
    t.match(await (await fetch(`http://127.0.0.1:${p}/`, { headers: { cookie } })).text(), `>node :${p}</span>`, 'its pages name it')
  }
  const exited = new Promise((resolve) => child.once('exit', resolve))
  child.kill('SIGTERM')
  t.equal(await exited, 0, 'both nodes close on SIGTERM')
})

t.test('on Redis, the history keeps the last 50 messages of each room', async (t) => {
  const history = redisHistory(redis.client())
  for (let i = 0; i < 55; i++) await history.add('capped', { id: String(i), from: 'Ada', text: `#${i}`, at: i })
  const kept = await history.last('capped')
  t.equal(kept.length, 50)
  t.same([kept[0].text, kept[49].text], ['#5', '#54'], 'the oldest went first')
  t.equal(await redis.client().llen('chat:history:capped'), 50, 'the list is trimmed in Redis too')
  t.same(await history.last('never'), [])
})

t.test('Redis unreachable: build() rejects with one sentence; the server and the cluster print one line each and exit', async (t) => {
  const port = await twoFreePorts()
  const url = `redis://127.0.0.1:${port}`
  await t.rejects(build({}, { redisUrl: url }), { message: `Redis is not reachable at ${url} (start redis-server, or set REDIS_URL)` })
  for (const script of ['example-app/server.js', 'example-app/cluster.js']) {
    const child = spawn(process.execPath, [script], { env: { ...process.env, PORT: String(port), REDIS_URL: url }, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
    const code = await new Promise((resolve) => child.once('exit', resolve))
    t.not(code, 0, `${script} exits with an error`)
    const lines = stderr.trim().split('\n')
    t.ok(lines.length >= 1 && lines.length <= (script.endsWith('cluster.js') ? 2 : 1), `${script}: one line per node (${lines.length})`)
    for (const line of lines) t.equal(line, `example app: could not start: Redis is not reachable at ${url} (start redis-server, or set REDIS_URL)`, script)
  }
})
