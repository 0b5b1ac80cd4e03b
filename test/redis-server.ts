import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { createClient } from 'redis'

// ---- A real redis-server on a free loopback port, for one test file ----

/** A running redis-server that a test can stop and start again on the same port. */
export interface RedisServer {
  port: number
  url: string
  /** A new client (closed at teardown). */
  client: () => Redis
  /** A new, connected node-redis client (closed at teardown); RESP2 unless `resp` says 3. */
  nodeClient: (resp?: 2 | 3) => Promise<ReturnType<typeof createClient>>
  /** Kills the server (SIGKILL: no goodbye to clients). */
  kill: () => Promise<void>
  /** Starts it again on the same port, with the data it had. */
  start: () => Promise<void>
  /** Counts of the commands clients sent since the last reset, by command name (from MONITOR). */
  commands: () => Promise<Record<string, number>>
  /** The same counts by command name and first argument (`hgetall sess:<id>`). */
  commandsByKey: () => Promise<Record<string, number>>
  resetCommands: () => Promise<void>
}

export async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0))
    })
  })
}

export async function launch (port: number, dir: string, extra: string[] = []): Promise<ChildProcess> {
  // Every write is on disk before Redis answers, so a killed server comes back with the same data.
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, '--appendonly', 'yes', '--appendfsync', 'always', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] })
  await new Promise<void>((resolve, reject) => {
    let output = ''
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${output}`)))
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      if (output.includes('Ready to accept connections')) resolve()
    })
  })
  child.removeAllListeners('exit')
  return child
}

/** Starts redis-server for a test; it is killed at teardown. */
export async function startRedis (t: { teardown: (fn: () => unknown) => void }): Promise<RedisServer> {
  const port = await freePort()
  const dir = mkdtempSync(join(tmpdir(), 'redis-'))
  let child: ChildProcess | undefined = await launch(port, dir)
  const clients: Redis[] = []
  const nodeClients: Array<ReturnType<typeof createClient>> = []
  const admin = new Redis({ port, host: '127.0.0.1', maxRetriesPerRequest: 1 })
  // MONITOR sees every command a client sends (commands run by scripts are marked 'lua' and not counted).
  const watcher = new Redis({ port, host: '127.0.0.1', lazyConnect: true })
  const monitor = await watcher.monitor()
  for (const client of [watcher, monitor]) client.on('error', () => {})
  let counts: Record<string, number> = {}
  let byKey: Record<string, number> = {}
  let marker = 0
  let seen: (() => void) | undefined
  monitor.on('monitor', (_time: string, args: string[], source: string) => {
    if (source === 'lua') return
    const name = String(args[0]).toLowerCase()
    if (name === 'echo' && args[1] === `marker-${marker}`) return seen?.()
    counts[name] = (counts[name] ?? 0) + 1
    const keyed = `${name} ${String(args[1])}`
    byKey[keyed] = (byKey[keyed] ?? 0) + 1
  })
  /** Waits until the monitor saw every command sent before now. */
  const sync = async (): Promise<void> => {
    marker++
    const arrived = new Promise<void>((resolve) => { seen = resolve })
    await admin.echo(`marker-${marker}`)
    await arrived
  }
  const server: RedisServer = {
    port,
    url: `redis://127.0.0.1:${port}`,
    client: () => {
      const client = new Redis({ port, host: '127.0.0.1' })
      client.on('error', () => {})
      clients.push(client)
      return client
    },
    nodeClient: async (resp = 2) => {
      const client = createClient({ url: `redis://127.0.0.1:${port}`, RESP: resp })
      client.on('error', () => {})
      nodeClients.push(client)
      await client.connect()
      return client
    },
    kill: async () => {
      const dying = child
      child = undefined
      if (dying === undefined) return
      await new Promise((resolve) => {
        dying.once('exit', resolve)
        dying.kill('SIGKILL')
      })
    },
    start: async () => {
      child ??= await launch(port, dir)
    },
    commands: async () => {
      await sync()
      return { ...counts }
    },
    commandsByKey: async () => {
      await sync()
      return { ...byKey }
    },
    resetCommands: async () => {
      await sync()
      counts = {}
      byKey = {}
    }
  }
  admin.on('error', () => {})
  t.teardown(async () => {
    for (const client of clients) client.disconnect()
    for (const client of nodeClients) client.destroy()
    admin.disconnect()
    monitor.disconnect()
    watcher.disconnect()
    await server.kill()
    rmSync(dir, { recursive: true, force: true })
  })
  return server
}
