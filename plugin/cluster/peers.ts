import type { Server } from 'socket.io'
import { adapterClients, adapterReady, carriesMessages, clientReady } from '../internals/adapter.js'
import { MessageStream } from '../redis/stream.js'
import type { StreamLink } from '../session/store.js'
import { sessionKey } from '../session/registry.js'

// ---- Messages between nodes, as Socket.IO server-side events over the adapter ----

/** The server-side event that carries the plugin's messages between nodes. */
export const PEER_EVENT = 'fastify-socket.io-session'

/** Messages about the nodes themselves: they go over the adapter, whose servers they count. */
const ABOUT_NODES = new Set(['hello', 'here'])

/**
 * The other nodes: whether there are any, and how to tell them about a session (named by a hash of its id). With a
 * store that carries them (the Redis store), the messages about sessions go on its stream, where a node
 * that was away reads what it missed; otherwise over the adapter, where a node whose subscriber was away reads all
 * its live sessions again.
 */
export class Peers {
  /** The adapter carries messages to other nodes (the in-memory one cannot). */
  readonly remote: boolean
  /** Other nodes are known to exist: only then do saves cost a message. */
  multi = false

  /** Where messages from other nodes go, once started. */
  private onMessage!: (kind: unknown, key: unknown, ...more: unknown[]) => void
  /** What runs when messages may have been lost. */
  private onResync!: () => void
  /** The subscriber has not connected yet: its first 'ready' is no return. */
  private firstConnection = false
  /** A message could not be sent while the adapter's publishing client was away. */
  private dropped = false
  private stopped = false
  /** The next hello, and how many were said. */
  private greeting: NodeJS.Timeout | undefined
  private greeted = 0

  /** The store's stream, once started. */
  private stream: MessageStream | undefined

  constructor (
    private readonly io: Server,
    /** The store's stream, when it has one. */
    private readonly link?: StreamLink,
    /** This node's name (its own entries in the stream are skipped), and where a failed stream command is logged. */
    private readonly self?: { node: string, warn: (err: unknown) => void }
  ) {
    this.remote = carriesMessages(io.of('/').adapter)
  }

  /**
   * Listens to the other nodes, counts them, then says hello (a node that starts later is heard of at once).
   * `onResync` runs when messages may have been lost: the adapter's subscriber connected again, or another node
   * could not send one.
   */
  start (onMessage: (kind: unknown, key: unknown, ...more: unknown[]) => void, onResync: () => void): void {
    this.onMessage = onMessage
    this.onResync = onResync
    this.io.on(PEER_EVENT, this.receive)
    if (this.remote && this.link !== undefined) {
      const { node, warn } = this.self as NonNullable<Peers['self']>
      // Delivered as the adapter delivers server-side events: to the listeners of PEER_EVENT.
      const deliver = (message: unknown[]): void => { this.io.of('/')._onServerSideEmit([PEER_EVENT, ...message]) }
      this.stream = new MessageStream(this.link, node, deliver, () => this.onResync(), warn)
      this.stream.start()
    }
    const { subClient, pubClient } = adapterClients(this.io.of('/').adapter)
    // A subscriber that is not connected yet: its first 'ready' is its first connection, not a return.
    this.firstConnection = subClient !== undefined && !clientReady(subClient)
    subClient?.on('ready', this.subscribed)
    pubClient?.on('ready', this.connected)
    // Counting waits for the adapter's client to be ready; then the others hear of this node. An adapter that takes
    // long to count (the sharded one on an ioredis Cluster) holds the hello back one second at most.
    let timer: NodeJS.Timeout | undefined
    const late = new Promise<void>((resolve) => { timer = setTimeout(resolve, 1000) })
    void Promise.race([this.countNodes(), late]).then(() => {
      clearTimeout(timer)
      this.greet()
    })
  }

  stop (): void {
    this.stopped = true
    clearTimeout(this.greeting)
    this.io.off(PEER_EVENT, this.receive)
    this.stream?.stop()
    const { subClient, pubClient } = adapterClients(this.io.of('/').adapter)
    subClient?.off('ready', this.subscribed)
    pubClient?.off('ready', this.connected)
  }

  /**
   * The subscriber is connected (again): what was published while it was away never reached this node, so its live
   * sessions are read again (a moment later, once the client subscribed again).
   */
  private readonly subscribed = (): void => {
    // Messages about sessions on the stream are read from where the node left off.
    if (this.firstConnection || this.stream !== undefined) {
      this.firstConnection = false
      return
    }
    setTimeout(() => { if (!this.stopped) this.onResync() }, 100).unref()
  }

  /** The publishing client is back: if a message could not be sent meanwhile, every node reads its sessions again. */
  private readonly connected = (): void => {
    if (!this.dropped) return
    this.dropped = false
    this.publish('revalidate')
  }

  /** Says hello once the adapter's client is connected (trying again every 50 ms until then), and a second later. */
  private readonly greet = (): void => {
    if (!this.remote || this.stopped) return
    const ready = adapterReady(this.io.of('/').adapter)
    if (ready) this.publish('hello')
    // Once more a second later: a node that started at the same time may not have been subscribed yet.
    if (ready && this.greeted++ > 0) return
    this.greeting = setTimeout(this.greet, ready ? 1000 : 50)
    this.greeting.unref()
  }


  /** Sends a message about session `id`, when there may be other nodes and the adapter is connected. */
  publish (kind: string, id?: string, ...more: unknown[]): void {
    this.send(kind, id === undefined ? undefined : sessionKey(id), ...more)
  }

  /** Sends a message about the session named `key` (none once stopped: the adapter may be closing). */
  send (kind: string, key: string | undefined, ...more: unknown[]): void {
    if (!this.remote || this.stopped) return
    if (this.stream !== undefined && !ABOUT_NODES.has(kind)) return this.stream.send([kind, key, ...more])
    // A publish on a disconnected client would reject where nobody listens: the others are asked to read their
    // sessions again once it is back.
    if (!adapterReady(this.io.of('/').adapter)) {
      this.dropped = true
      return
    }
    this.io.serverSideEmit(PEER_EVENT, kind, key, ...more)
  }

  /** Asks the adapter how many nodes there are (the Redis adapter counts its subscribers). */
  async countNodes (): Promise<void> {
    if (!this.remote) return
    try {
      this.multi = (await this.io.of('/').adapter.serverCount()) > 1
    } catch {}
  }

  private readonly receive = (kind: unknown, key: unknown, ...more: unknown[]): void => {
    this.multi = true
    if (kind === 'hello') return this.publish('here')
    if (kind === 'revalidate') return this.onResync()
    this.onMessage(kind, key, ...more)
  }
}
