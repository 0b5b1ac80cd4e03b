import type { SessionStore } from '@fastify/session'
import { FST_SIO_SESSION_BAD_OPTION, FST_SIO_SESSION_CORRUPT, FST_SIO_SESSION_GONE, FST_SIO_SESSION_TIMEOUT } from '../errors.js'
import { Batch, type Command, type RedisPipeline } from './batch.js'
import { HoldersSeen } from './holders.js'
import { ACQUIRE, DESTROY, JOIN, LEAVE, MERGE, READ, RELEASE, SET, SETTLE, type Script } from './scripts.js'
import { kShared, type SharedSessions } from '../session/lease.js'
import { nodeRedisStream, nodeRedisStreamCapable, streamCapable } from './stream.js'
import { expiryOf, kMergeSave, kRead, kStream, type MergeResult, type MergeSave, type StreamLink } from '../session/store.js'

// ---- A session store on the app's Redis client (@fastify/redis) ----

/** The part of an ioredis client (`fastify.redis`) the store uses. */
export interface RedisClient {
  hgetall: (key: string) => Promise<Record<string, string>>
  hset: (key: string, ...fieldsAndValues: string[]) => Promise<number>
  evalsha: (sha: string, numKeys: number, ...args: Array<string | number>) => Promise<unknown>
  eval: (script: string, numKeys: number, ...args: Array<string | number>) => Promise<unknown>
  /** An ioredis pipeline: the commands of one event loop turn are sent together when the client has it. */
  pipeline?: () => RedisPipeline
}

/**
 * The part of a node-redis client (`createClient()` of the `redis` package, 4.x or 5.x) the store uses. node-redis
 * writes the commands of one tick together itself.
 */
export interface NodeRedisClient {
  sendCommand: (args: string[]) => Promise<unknown>
  hGetAll: (...args: never[]) => unknown
}

/** Options of the Redis session store. */
export interface RedisStoreOptions {
  /**
   * The Redis client: ioredis (usually `fastify.redis` from @fastify/redis, or an ioredis `Cluster`) or node-redis
   * (`createClient()` of `redis`).
   */
  client: RedisClient | NodeRedisClient
  /** Prefix of every session key. @default 'sess:' */
  prefix?: string
  /** Lifetime in ms of sessions whose cookie has no expiry (browser-session cookies). @default 86400000 (a day) */
  ttl?: number
  /** How long in ms any Redis call may take before it fails; ioredis alone waits and retries for long. @default 2000 */
  timeout?: number
  /** Longest time in ms a destroyed session's tombstone stays, refusing late saves. @default 3600000 (an hour) */
  tombstoneTtl?: number
  /**
   * Whether the plugin's messages between nodes go on a Redis stream (`{<prefix>}:messages`), read by each node on a
   * connection of its own (a duplicate of `client`) from where it left off; false: as Socket.IO server-side events
   * over the adapter, with no connection of the plugin's own. @default true
   */
  stream?: boolean
}

/** How long (ms) a session's list of nodes lasts after the last node joined (a node that stops without leaving stays that long). */
const NODES_TTL = 86_400_000

/** What the merge script answers. */
const merged: Record<number, MergeResult> = { 0: 'gone', 1: 'saved', 2: 'absent' }

/** @fastify/session's store callbacks (its types ask for its Session class; any session object is accepted here). */
type Callback = (err?: any, value?: any) => void

/** Whether `err` is Redis's error reply of that kind (`WRONGTYPE`: a tombstone where a hash was asked for). */
function isReply (err: unknown, kind: string): boolean {
  return String((err as Error | undefined)?.message).startsWith(kind)
}

/** A hash as HGETALL answers it through node-redis's `sendCommand`: field, value, … (RESP2), or an object (RESP3). */
function hashOf (reply: unknown): Record<string, string> {
  if (!Array.isArray(reply)) return reply as Record<string, string>
  const hash: Record<string, string> = {}
  for (let i = 0; i < reply.length; i += 2) hash[String(reply[i])] = String(reply[i + 1])
  return hash
}

/** Whether `client` is a node-redis client (ioredis has no camel-case `hGetAll`). */
function isNodeRedis (client: object): client is NodeRedisClient {
  return typeof (client as Partial<NodeRedisClient>).hGetAll === 'function' && typeof (client as Partial<NodeRedisClient>).sendCommand === 'function'
}

/** The commands the store sends, over a node-redis client. */
function nodeRedisCommands (client: NodeRedisClient): Record<Command | 'eval', (...args: Array<string | number>) => Promise<unknown>> {
  const send = async (...args: Array<string | number>): Promise<unknown> => await client.sendCommand(args.map(String))
  return {
    hgetall: async (key) => hashOf(await send('HGETALL', key)),
    hset: async (...args) => await send('HSET', ...args),
    evalsha: async (...args) => await send('EVALSHA', ...args),
    eval: async (...args) => await send('EVAL', ...args)
  }
}

/** Milliseconds until a cookie expires; `fallback` when it has no expiry. At least 1. */
export function ttlOf (cookie: { expires?: unknown } | undefined, fallback: number): number {
  const at = expiryOf(cookie)
  return at === undefined ? fallback : Math.max(1, Math.round(at - Date.now()))
}

function positive (value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new FST_SIO_SESSION_BAD_OPTION(`RedisStore option "${name}" must be a positive number of milliseconds`)
  }
  return Math.round(value)
}

/**
 * A @fastify/session store on Redis. Sessions are hashes (one field per key), so a socket's save writes only
 * the keys it changed, atomically, in one command; TTL follows the cookie; destroyed sessions are never recreated.
 */
export class RedisStore implements SessionStore {
  /** Sends a command: with ioredis, together with the others of this event loop turn; with node-redis, at once. */
  private readonly send: (command: Command, ...args: Array<string | number>) => Promise<unknown>
  private readonly eval: (script: string, numKeys: number, ...args: Array<string | number>) => Promise<unknown>
  private readonly prefix: string
  private readonly ttl: number
  private readonly timeout: number
  private readonly tombstoneTtl: number
  /** Set once the plugin counts the nodes that hold each session: reads then say which do. */
  private holders: HoldersSeen | undefined

  constructor (options: RedisStoreOptions) {
    const client = options?.client as Partial<RedisClient> | undefined
    if (client != null && isNodeRedis(client)) {
      const commands = nodeRedisCommands(client)
      this.send = (command, ...args) => commands[command](...args)
      this.eval = commands.eval
    } else if (typeof client?.evalsha !== 'function' || typeof client.eval !== 'function' || typeof client.hgetall !== 'function' || typeof client.hset !== 'function') {
      throw new FST_SIO_SESSION_BAD_OPTION('RedisStore needs { client }, an ioredis client such as fastify.redis from @fastify/redis, or a node-redis client')
    } else if ((client as { isCluster?: unknown }).isCluster === true) {
      // A Redis Cluster pipeline takes the keys of one slot only: each command goes by itself, to its slot's node.
      const cluster = client as unknown as Record<Command, (...args: Array<string | number>) => Promise<unknown>>
      this.send = (command, ...args) => cluster[command](...args)
      this.eval = client.eval.bind(client)
    } else {
      const batch = new Batch(client as never)
      this.send = batch.send.bind(batch)
      this.eval = client.eval.bind(client)
    }
    if (options.prefix !== undefined && typeof options.prefix !== 'string') {
      throw new FST_SIO_SESSION_BAD_OPTION('RedisStore option "prefix" must be a string')
    }
    this.prefix = options.prefix ?? 'sess:'
    this.ttl = positive(options.ttl, 'ttl', 86_400_000)
    this.timeout = positive(options.timeout, 'timeout', 2000)
    this.tombstoneTtl = positive(options.tombstoneTtl, 'tombstoneTtl', 3_600_000)
    if (options.stream !== undefined && typeof options.stream !== 'boolean') {
      throw new FST_SIO_SESSION_BAD_OPTION('RedisStore option "stream" must be true or false')
    }
    if (options.stream === false) return
    // The nodes' messages go on a stream of their own, read on a duplicate of the client.
    const key = `{${this.prefix}}:messages`
    if (streamCapable(client)) this[kStream] = { client, key }
    else if (nodeRedisStreamCapable(client)) this[kStream] = { client: nodeRedisStream(client), key }
  }

  /** Where the plugin's messages between nodes go, when the client can read a stream (see stream.ts). */
  [kStream]: StreamLink | undefined

  get (id: string, callback: Callback): void {
    this.read(id, this.holders).then(parse).then((data) => callback(null, data), callback)
  }

  /** The plugin's own reads (handshakes, reading again after a write elsewhere, revalidation): the session alone, one HGETALL. */
  [kRead] (id: string, callback: Callback): void {
    this.read(id, undefined).then(parse).then((data) => callback(null, data), callback)
  }

  /** A session's hash (empty when there is none); with the nodes that hold it when they are counted (same command). */
  private async read (id: string, holders: HoldersSeen | undefined): Promise<Record<string, string>> {
    if (holders !== undefined) {
      const [hash, nodes] = await this.run(READ, [this.prefix + id, this.tagged(id, 'nodes')]) as [unknown, unknown[]]
      holders.found(id, nodes.map(String))
      return hashOf(hash)
    }
    return await (this.timed(this.send('hgetall', this.prefix + id)) as Promise<Record<string, string>>).catch((err: Error) => {
      // A tombstone is a string: WRONGTYPE means the session was destroyed.
      if (isReply(err, 'WRONGTYPE')) return {}
      throw err
    })
  }

  set (id: string, session: any, callback: Callback): void {
    const data = session as Record<string, unknown>
    const args: Array<string | number> = [ttlOf(data.cookie as { expires?: unknown }, this.ttl)]
    for (const key of Object.keys(data)) {
      const text = JSON.stringify(data[key])
      if (text !== undefined) args.push(key, text)
    }
    this.run(SET, id, ...args).then((written) => callback(written === 1 ? null : new FST_SIO_SESSION_GONE()), callback)
  }

  destroy (id: string, callback: Callback): void {
    this.run(DESTROY, id, this.tombstoneTtl).then(() => callback(null), callback)
  }

  /** The plugin's save: only the changed keys, over what is stored, in one atomic command; never creates a session. */
  [kMergeSave]: MergeSave = async (id, changed, removed, cookie) => {
    if (removed.length === 0 && !changed.has('cookie')) return await this.update(id, changed)
    const ttl = changed.has('cookie') ? ttlOf(cookie, this.ttl) : ''
    const args: Array<string | number> = [ttl, removed.length, ...removed]
    for (const [key, text] of changed) args.push(key, text)
    return merged[await this.run(MERGE, id, ...args) as number]
  }

  /**
   * Sessions live on several nodes: which nodes hold one, and its lease. Their keys are `{<session key>}:nodes` and
   * `{<session key>}:lease`, whose hash tag puts them in the session key's slot on a Redis Cluster.
   */
  [kShared]: SharedSessions = {
    join: async (id, node) => await this.run(JOIN, [this.tagged(id, 'nodes')], node, NODES_TTL) as number,
    leave: async (id, node) => { await this.run(LEAVE, [this.tagged(id, 'nodes')], node) },
    acquire: async (id, token, ms) => {
      const reply = await this.run(ACQUIRE, [this.prefix + id, this.tagged(id, 'lease')], token, ms)
      if (reply === 1) return 'busy'
      return reply === 0 ? null : parse(hashOf(reply)) as Record<string, unknown>
    },
    release: async (id, token) => { await this.run(RELEASE, [this.tagged(id, 'lease')], token) },
    track: () => { this.holders ??= new HoldersSeen() },
    // Called once the store tracks (the plugin calls `track` first).
    heldBy: (id) => (this.holders as HoldersSeen).of(id)
  }

  /** A key of session `id` besides its own, in the same Redis Cluster slot. */
  private tagged (id: string, name: string): string {
    return `{${this.prefix}${id}}:${name}`
  }

  /**
   * The common save, keys written and none removed, the lifetime unchanged: a plain HSET, the cheapest write Redis
   * has. A tombstone refuses it (WRONGTYPE). When every field was new, the session may have been missing: then
   * HSET made a hash of these fields alone, without a cookie, which reads as no session and is removed at once.
   */
  private async update (id: string, changed: Map<string, string>): Promise<MergeResult> {
    const fields: string[] = []
    for (const [key, text] of changed) fields.push(key, text)
    let added: number
    try {
      added = await this.timed(this.send('hset', this.prefix + id, ...fields)) as number
    } catch (err) {
      if (isReply(err, 'WRONGTYPE')) return 'gone'
      throw err
    }
    if (added < changed.size) return 'saved'
    return merged[await this.run(SETTLE, id) as number]
  }

  /**
   * Runs a script on the session's key, or on `keys` (EVALSHA, and EVAL once after Redis lost its script cache),
   * with the timeout.
   */
  private async run (s: Script, id: string | string[], ...args: Array<string | number>): Promise<unknown> {
    const keys = typeof id === 'string' ? [this.prefix + id] : id
    return await this.timed(this.send('evalsha', s.sha, keys.length, ...keys, ...args).catch((err: Error) => {
      if (!isReply(err, 'NOSCRIPT')) throw err
      return this.eval(s.source, keys.length, ...keys, ...args)
    }))
  }

  /** A Redis call, failed with FST_SIO_SESSION_TIMEOUT when it takes longer than `timeout`. */
  private async timed<T> (call: Promise<T>): Promise<T> {
    return await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new FST_SIO_SESSION_TIMEOUT(this.timeout)), this.timeout)
      timer.unref()
      call.then((value) => {
        clearTimeout(timer)
        resolve(value)
      }, (err) => {
        clearTimeout(timer)
        reject(err)
      })
    })
  }
}

/**
 * A stored session from its hash (null when there is none: no hash, or one without a cookie, which only a save
 * racing the session's end leaves for a moment); a value that is not JSON fails with FST_SIO_SESSION_CORRUPT.
 */
function parse (hash: Record<string, string>): Record<string, unknown> | null {
  if (!Object.hasOwn(hash, 'cookie')) return null
  const data: Record<string, unknown> = {}
  for (const key of Object.keys(hash)) {
    // A field named __proto__ cannot come from a session object: it would set the prototype, so it is skipped.
    if (key === '__proto__') continue
    try {
      data[key] = JSON.parse(hash[key])
    } catch {
      throw new FST_SIO_SESSION_CORRUPT(key.slice(0, 100))
    }
  }
  return data
}
