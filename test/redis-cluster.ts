import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Cluster, Redis, type ClusterOptions } from 'ioredis'
import { freePort, launch } from './redis-server.js'

// ---- A real Redis Cluster of three masters on loopback ports, for one test file ----

const run = promisify(execFile)

/** A running three-master Redis Cluster. */
export interface RedisCluster {
  /** Its nodes' ports. */
  ports: number[]
  /** A new ioredis Cluster client (closed at teardown). */
  client: (options?: ClusterOptions) => Cluster
}

/** Starts three `redis-server --cluster-enabled yes`, joins them with `redis-cli --cluster create`; killed at teardown. */
export async function startRedisCluster (t: { teardown: (fn: () => unknown) => void }): Promise<RedisCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'redis-cluster-'))
  const ports: number[] = []
  while (ports.length < 3) {
    const port = await freePort()
    if (!ports.includes(port)) ports.push(port)
  }
  const children = await Promise.all(ports.map(async (port) => {
    const own = join(dir, String(port))
    rmSync(own, { recursive: true, force: true })
    await run('mkdir', ['-p', own])
    return await launch(port, own, ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000'])
  }))
  const clients: Array<Cluster | Redis> = []
  t.teardown(async () => {
    for (const client of clients) client.disconnect()
    await Promise.all(children.map(async (child) => await new Promise((resolve) => { child.once('exit', resolve); child.kill('SIGKILL') })))
    rmSync(dir, { recursive: true, force: true })
  })
  await run('redis-cli', ['--cluster', 'create', ...ports.map((port) => `127.0.0.1:${port}`), '--cluster-replicas', '0', '--cluster-yes'])
  // Every node agrees the cluster is up (all 16384 slots served) before clients connect.
  for (const port of ports) {
    const admin = new Redis({ port, host: '127.0.0.1' })
    clients.push(admin)
    for (let i = 0; i < 200 && !String(await admin.cluster('INFO')).includes('cluster_state:ok'); i++) {
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  }
  return {
    ports,
    client: (options) => {
      const client = new Cluster(ports.map((port) => ({ host: '127.0.0.1', port })), options)
      client.on('error', () => {})
      clients.push(client)
      return client
    }
  }
}
