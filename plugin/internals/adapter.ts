import type { Server } from 'socket.io'
import { namespaces } from './socket-io.js'

// ---- What the plugin reads of Socket.IO adapters (socket.io-adapter, @socket.io/redis-adapter) ----

/**
 * Whether an adapter sends server-side messages to other nodes: Socket.IO's in-memory adapter defines
 * `serverSideEmit` (to warn that it cannot), and an adapter that can overrides it.
 */
export function carriesMessages (adapter: object): boolean {
  let owners = 0
  for (let proto = Object.getPrototypeOf(adapter); proto !== null; proto = Object.getPrototypeOf(proto)) {
    if (Object.hasOwn(proto, 'serverSideEmit')) owners++
  }
  return owners > 1
}

/** An event emitter, as far as an adapter's Redis clients are watched. */
export interface RedisClientEvents { on: (event: string, fn: () => void) => unknown, off: (event: string, fn: () => void) => unknown }

/** The adapter's Redis clients, when it has them (`@socket.io/redis-adapter`, plain and sharded, keeps them on these fields). */
export function adapterClients (adapter: object): { subClient?: RedisClientEvents, pubClient?: RedisClientEvents } {
  return adapter as { subClient?: RedisClientEvents, pubClient?: RedisClientEvents }
}

/** Whether a Redis client is connected: ioredis (plain or Cluster) says `status`, node-redis `isReady`. */
export function clientReady (client: object): boolean {
  return (client as { status?: unknown }).status === 'ready' || (client as { isReady?: unknown }).isReady === true
}

/** Whether the adapter's publishing client is connected, when it tells (an ioredis client's `status`). */
export function adapterReady (adapter: object): boolean {
  const status = (adapter as { pubClient?: { status?: unknown } }).pubClient?.status
  return status === undefined || status === 'ready'
}

// ---- Closing a Redis adapter while Redis is down ----

/** The unsubscribe commands a Redis adapter sends from `close()` (ioredis, node-redis, sharded) and never awaits. */
const UNSUBSCRIBES = new Set<unknown>(['unsubscribe', 'punsubscribe', 'pUnsubscribe', 'sunsubscribe', 'sUnsubscribe'])

/** An adapter holding Redis clients (`@socket.io/redis-adapter` keeps them on these fields). */
interface RedisAdapterLike { close: (...args: unknown[]) => unknown, subClient: object, pubClient: object }

/** The client, with the promises of its unsubscribe commands handled (their failure is of no use to anyone). */
function quiet (client: object): object {
  return new Proxy(client, {
    get (target, name) {
      const value = Reflect.get(target, name) as unknown
      if (typeof value !== 'function') return value
      if (!UNSUBSCRIBES.has(name)) return value.bind(target)
      return (...args: unknown[]) => {
        const result: unknown = value.apply(target, args)
        void Promise.resolve(result).catch(() => {})
        return result
      }
    }
  })
}

/**
 * Before Socket.IO closes its namespaces' adapters: a Redis adapter's `close()` sends unsubscribe commands it
 * never awaits, which reject, unhandled, when Redis is down or its clients are closed already. During that
 * call the adapter sees its clients through `quiet`; it closes as it always does.
 */
export function quietAdapterClose (io: Server): void {
  for (const nsp of namespaces(io)) {
    const adapter = nsp.adapter as Partial<RedisAdapterLike>
    if (typeof adapter.subClient !== 'object') continue
    const close = (adapter as RedisAdapterLike).close
    adapter.close = function (this: RedisAdapterLike, ...args: unknown[]) {
      const { subClient, pubClient } = this
      this.subClient = quiet(subClient)
      this.pubClient = quiet(pubClient)
      try {
        return close.apply(this, args)
      } finally {
        this.subClient = subClient
        this.pubClient = pubClient
      }
    }
  }
}
