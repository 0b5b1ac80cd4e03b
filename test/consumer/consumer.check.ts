import t from 'tap'
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { io as connectClient } from 'socket.io-client'

// ---- npm run test:consumer: the package as a new user gets it ----
// Packs the package, installs the tarball with the README's Install lines into an empty directory, runs the
// README's quick start as written (on a free port), compiles the README's TypeScript examples with
// skipLibCheck: false under NodeNext and bundler resolution, require()s the package from CommonJS (compiled
// TypeScript), and checks the tarball with @arethetypeswrong/cli and publint. Needs the npm registry.

const root = fileURLToPath(new URL('../..', import.meta.url))
const readme = await readFile(join(root, 'README.md'), 'utf8')
const SECRET = 'a consumer secret at least 32 characters long'

interface Result { code: number | null, stdout: string, stderr: string }

/** Runs a command to its end. */
async function run (cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Result> {
  return await new Promise((resolve) => {
    const child = execFile(cmd, args, { cwd, env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }, (_err, stdout, stderr) => {
      resolve({ code: child.exitCode, stdout, stderr })
    })
  })
}

/** A command's output, for an assertion's message when it failed. */
const output = (r: Result): string => `${r.stdout}\n${r.stderr}`.trim().slice(-4000)

/** The README's fenced blocks, each with its language and the `##` section it is in. */
function fences (markdown: string): Array<{ lang: string, section: string, text: string }> {
  const found: Array<{ lang: string, section: string, text: string }> = []
  let section = ''
  let open: { lang: string, lines: string[] } | undefined
  for (const line of markdown.split('\n')) {
    if (open !== undefined) {
      if (line.startsWith('```')) {
        found.push({ lang: open.lang, section, text: open.lines.join('\n') + '\n' })
        open = undefined
      } else open.lines.push(line)
    } else if (line.startsWith('```')) open = { lang: line.slice(3).trim(), lines: [] }
    else if (line.startsWith('## ')) section = line.slice(3).trim()
  }
  return found
}

const blocks = fences(readme)
const inSection = (section: string, lang: string) => blocks.filter((b) => b.section === section && b.lang === lang)

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
    server.on('error', reject)
  })
}

const dir = await mkdtemp(join(tmpdir(), 'fastify-socket.io-session-consumer-'))
t.teardown(async () => await rm(dir, { recursive: true, force: true }))
let tarball = ''

t.test('npm pack, then the README\'s Install lines in an empty directory', async (t) => {
  const packed = await run('npm', ['pack', '--pack-destination', dir, '--silent'], root)
  t.equal(packed.code, 0, 'npm pack', { output: output(packed) })
  tarball = join(dir, (await readdir(dir)).find((name) => name.endsWith('.tgz')) as string)
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }, null, 2))
  const lines = inSection('Install', 'sh')[0].text.split('\n').filter((line) => line.startsWith('npm install '))
  t.equal(lines.length, 3, 'an Install line, one for Redis, and one for the types ioredis 6.1 needs under skipLibCheck: false')
  for (const line of lines) {
    // The package itself comes from the tarball; everything else from the registry, as written.
    const args = line.split(/\s+/).slice(2).map((word) => word === 'fastify-socket.io-session' ? tarball : word)
    const installed = await run('npm', ['install', '--no-audit', '--no-fund', ...args], dir)
    t.equal(installed.code, 0, line, { output: output(installed) })
  }
  // What the checks below need besides: a compiler, Node's types, a client, the limiter one example uses.
  const tools = await run('npm', ['install', '--no-audit', '--no-fund', '-D', 'typescript@5', '@types/node@20', 'socket.io-client@4', 'rate-limiter-flexible'], dir)
  t.equal(tools.code, 0, 'typescript@5, @types/node, socket.io-client, rate-limiter-flexible', { output: output(tools) })
})

/** Starts `file` under node; resolves once it logs that it listens, or rejects with its output when it exits. */
async function start (file: string, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const child = spawn(process.execPath, [file], { cwd: dir, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let seen = ''
  return await new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk) => {
      seen += String(chunk)
      if (seen.includes('Server listening')) resolve(child)
    })
    child.stderr?.on('data', (chunk) => { seen += String(chunk) })
    child.on('exit', (code) => reject(new Error(`exited with ${code}: ${seen.slice(-2000)}`)))
  })
}

t.test('the quick start, as written, runs: login over HTTP, then a socket with the session', async (t) => {
  const port = await freePort()
  const code = inSection('Quick start', 'js')[0].text
  t.match(code, /port: 3000/)
  await writeFile(join(dir, 'quick-start.mjs'), code.replace('port: 3000', `port: ${port}`))
  const server = await start('quick-start.mjs', { SESSION_SECRET: SECRET })
  t.teardown(() => { server.kill() })
  const url = `http://127.0.0.1:${port}`
  const login = await fetch(`${url}/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'ada' }) })
  t.same(await login.json(), { ok: true })
  const cookie = (login.headers.get('set-cookie') ?? '').split(';')[0]
  t.match(cookie, /^sessionId=/)
  const socket = connectClient(url, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token: 't' }, query: { room: '12' }, extraHeaders: { cookie } })
  t.teardown(() => { socket.disconnect() })
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('connect_error', reject) })
  t.equal(await socket.timeout(5000).emitWithAck('chat', 'hello'), 'ok', 'the ack, after the save')
  const refused = connectClient(url, { transports: ['websocket'], reconnection: false, forceNew: true, auth: { token: 't' } })
  const error = await new Promise<any>((resolve) => refused.once('connect_error', resolve))
  refused.disconnect()
  t.equal(error.data?.code, 'SESSION_REQUIRED', 'no cookie: refused, as requireSession says')
})

t.test('the quick start with a SESSION_SECRET under 32 characters stops at start-up, as the README says', async (t) => {
  const port = await freePort()
  await writeFile(join(dir, 'quick-start-short.mjs'), inSection('Quick start', 'js')[0].text.replace('port: 3000', `port: ${port}`))
  const failed = await start('quick-start-short.mjs', { SESSION_SECRET: 'too short' }).then((child) => { child.kill(); return 'started' }, (err: Error) => err.message)
  t.match(failed, /secret/i, 'it does not start, and says why')
})

/** The README's TypeScript examples, each with what it takes from the code around it in the README. */
const prelude = `import Fastify from 'fastify'
import cookie from '@fastify/cookie'
import session from '@fastify/session'
import { Server } from 'socket.io'
import socketSession from 'fastify-socket.io-session'

declare module 'fastify' { interface Session { user?: string, sent?: number } }

export const app = Fastify()
await app.register(cookie)
await app.register(session, { secret: '${SECRET}' })
app.decorate('io', new Server(app.server))
await app.register(socketSession)
`

function examples (): Record<string, string> {
  const ts = blocks.filter((b) => b.lang === 'ts')
  const bySection = (section: string, i = 0) => ts.filter((b) => b.section === section)[i].text
  // "type error" comments mark lines the README says do not compile: they must not.
  const expectErrors = (code: string) => code.replace(/^(.*\/\/ type error.*)$/gm, '// @ts-expect-error\n$1')
  return {
    'prelude.ts': prelude,
    'server.ts': `import { app } from './prelude.js'\n${bySection('Event routes', 0)}`,
    'shared-limit.ts': `import '@fastify/redis'\nimport { Type } from 'typebox'\nimport { EventError, type PreHandlerHook } from 'fastify-socket.io-session'\nimport { app } from './prelude.js'\nconst Chat = Type.Object({ room: Type.String(), text: Type.String() })\ndeclare const handler: any\n${bySection('Event routes', 1)}`,
    'client.ts': `import { io, type Socket } from 'socket.io-client'\ndeclare const url: string\n${expectErrors(bySection('Event routes', 2))}`,
    'typescript.ts': `import { app } from './prelude.js'\ninterface ClientEvents { hello: () => void }\ninterface ServerEvents { welcome: () => void }\n${bySection('TypeScript', 0)}`
  }
}

const compilerOptions = { target: 'es2022', strict: true, skipLibCheck: false, noEmit: true, types: ['node'] }
for (const [name, options] of [
  ['NodeNext', { module: 'nodenext', moduleResolution: 'nodenext' }],
  ['bundler', { module: 'esnext', moduleResolution: 'bundler' }]
] as const) {
  t.test(`the README's TypeScript examples compile with skipLibCheck: false under ${name} resolution`, async (t) => {
    const sub = join(dir, `ts-${name}`)
    await run('mkdir', ['-p', sub], dir)
    const files = examples()
    for (const [file, text] of Object.entries(files)) await writeFile(join(sub, file), text)
    await writeFile(join(sub, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...compilerOptions, ...options }, files: Object.keys(files) }))
    const compiled = await run(join(dir, 'node_modules/.bin/tsc'), ['-p', sub], dir)
    t.equal(compiled.code, 0, `tsc, ${name}`, { output: output(compiled) })
  })
}

t.test('require() from CommonJS: TypeScript compiles it (NodeNext) and Node runs it', async (t) => {
  const sub = join(dir, 'cjs')
  await run('mkdir', ['-p', sub], dir)
  await writeFile(join(sub, 'app.cts'), `import Fastify = require('fastify')
import cookie = require('@fastify/cookie')
import session = require('@fastify/session')
import { Server } from 'socket.io'
import socketSession = require('fastify-socket.io-session')

async function main (): Promise<void> {
  const app = Fastify()
  await app.register(cookie)
  await app.register(session, { secret: '${SECRET}' })
  app.decorate('io', new Server(app.server))
  await app.register(socketSession.default, { requireSession: true })
  const store: typeof socketSession.RedisStore = socketSession.RedisStore
  await app.ready()
  console.log(JSON.stringify({ routes: typeof app.io.event, store: typeof store }))
  await app.close()
}
void main()
`)
  await writeFile(join(sub, 'tsconfig.json'), JSON.stringify({ compilerOptions: { ...compilerOptions, noEmit: false, outDir: 'out', module: 'nodenext', moduleResolution: 'nodenext' }, files: ['app.cts'] }))
  const compiled = await run(join(dir, 'node_modules/.bin/tsc'), ['-p', sub], dir)
  t.equal(compiled.code, 0, 'tsc, app.cts', { output: output(compiled) })
  const ran = await run(process.execPath, [join(sub, 'out/app.cjs')], dir)
  t.equal(ran.code, 0, 'node out/app.cjs', { output: output(ran) })
  t.same(JSON.parse(ran.stdout.trim().split('\n').pop() as string), { routes: 'function', store: 'function' })
})

t.test('@arethetypeswrong/cli and publint find nothing wrong with the tarball', async (t) => {
  // esm-only: the package is an ES module; CommonJS loads it with require() on Node ≥ 20.19 (tested above),
  // which TypeScript's node16 resolution from CommonJS does not model.
  const attw = await run(join(root, 'node_modules/.bin/attw'), [tarball, '--profile', 'esm-only', '--no-color', '--no-emoji'], root)
  t.equal(attw.code, 0, 'attw --profile esm-only', { output: output(attw) })
  const publint = await run(join(root, 'node_modules/.bin/publint'), [tarball, '--strict'], root)
  t.equal(publint.code, 0, 'publint --strict', { output: output(publint) })
  t.match(publint.stdout, /All good/)
})
