import type { Server } from 'socket.io'
import { adapterReady, carriesMessages } from '../internals/adapter.js'
import { sessionKey } from '../session/registry.js'

// ---- Messages between nodes, as Socket.IO server-side events over the adapter ----

/** The server-side event that carries the plugin's messages between nodes. */
export const PEER_EVENT = 'fastify-socket.io-session'

/** The other nodes: whether there are any, and how to tell them about a session (named by a hash of its id). */
export class Peers {
  /** The adapter carries messages to other nodes (the in-memory one cannot). */
  readonly remote: boolean
  /** Other nodes are known to exist: only then do saves cost a message. */
  multi = false

  /** Where messages from other nodes go, once started. */
  private onMessage!: (kind: unknown, key: unknown) => void

  constructor (private readonly io: Server) {
    this.remote = carriesMessages(io.of('/').adapter)
  }

  /** Listens to the other nodes, counts them, then says hello (a node that starts later is heard of at once). */
  start (onMessage: (kind: unknown, key: unknown) => void): void {
    this.onMessage = onMessage
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
    // A publish on a disconnected client would reject where nobody listens; revalidation covers the loss.
    if (!adapterReady(this.io.of('/').adapter)) return
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
