import type { Server } from 'socket.io'
import { sessionKey } from '../session/registry.js'

// ---- Messages between nodes, as Socket.IO server-side events over the adapter ----

/** The server-side event that carries the plugin's messages between nodes. */
export const PEER_EVENT = 'fastify-socket.io-session'

/** A publishing client of the adapter, when it tells whether it is connected (ioredis does). */
interface AdapterWithClient { pubClient?: { status?: unknown } }

/**
 * Whether an adapter sends server-side messages to other nodes: Socket.IO's in-memory adapter defines
 * `serverSideEmit` (to warn that it cannot), and an adapter that can overrides it.
 */
function carriesMessages (adapter: object): boolean {
  let owners = 0
  for (let proto = Object.getPrototypeOf(adapter); proto !== null; proto = Object.getPrototypeOf(proto)) {
    if (Object.hasOwn(proto, 'serverSideEmit')) owners++
  }
  return owners > 1
}

/** The other nodes: whether there are any, and how to tell them about a session (named by a hash of its id). */
export class Peers {
  /** The adapter carries messages to other nodes (the in-memory one cannot). */
  readonly remote: boolean
  /** Other nodes are known to exist: only then do saves cost a message. */
  multi = false

  constructor (private readonly io: Server, private readonly onMessage: (kind: unknown, key: unknown) => void) {
    this.remote = carriesMessages(io.of('/').adapter)
  }

  /** Listens to the other nodes, counts them, then says hello (a node that starts later is heard of at once). */
  start (): void {
    this.io.on(PEER_EVENT, this.receive)
    // Counting waits for the adapter's client to be ready; then the others hear of this node.
    void this.countNodes().then(() => this.publish('hello'))
  }

  stop (): void {
    this.io.off(PEER_EVENT, this.receive)
  }

  /** Sends a message about session `id`, when there may be other nodes and the adapter is connected. */
  publish (kind: string, id?: string): void {
    if (!this.remote) return
    const adapter = this.io.of('/').adapter as unknown as AdapterWithClient
    // A publish on a disconnected client would reject where nobody listens; revalidation covers the loss.
    const status = adapter.pubClient?.status
    if (status !== undefined && status !== 'ready') return
    this.io.serverSideEmit(PEER_EVENT, kind, id === undefined ? undefined : sessionKey(id))
  }

  /** Asks the adapter how many nodes there are (the Redis adapter counts its subscribers). */
  async countNodes (): Promise<void> {
    if (!this.remote) return
    try {
      this.multi = (await this.io.of('/').adapter.serverCount()) > 1
    } catch {}
  }

  private readonly receive = (kind: unknown, key: unknown): void => {
    this.multi = true
    if (kind === 'hello') return this.publish('here')
    this.onMessage(kind, key)
  }
}
