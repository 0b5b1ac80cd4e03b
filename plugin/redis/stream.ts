// ---- The plugin's messages between nodes, on a Redis stream: read from where each node left off ----

import type { StreamClient, StreamEntry as Entry, StreamLink } from '../session/store.js'

/** Whether `client` has what the stream needs (ioredis does; node-redis has other method names: see below). */
export function streamCapable (client: object): client is StreamClient {
  const c = client as Partial<Record<keyof StreamClient, unknown>>
  return typeof c.xadd === 'function' && typeof c.xread === 'function' && typeof c.xrange === 'function' && typeof c.duplicate === 'function'
}

/** The part of a node-redis client (`redis` 4/5, one server) the stream uses. */
export interface NodeRedisStreamClient {
  sendCommand: (args: string[]) => Promise<unknown>
  duplicate: () => NodeRedisStreamClient
  connect: () => Promise<unknown>
  on: (event: string, listener: () => void) => unknown
  disconnect: () => Promise<unknown>
}

/** Whether `client` is a node-redis client the stream can use: one whose duplicate it can connect for its reads. */
export function nodeRedisStreamCapable (client: object): client is NodeRedisStreamClient {
  const c = client as Partial<Record<keyof NodeRedisStreamClient, unknown>>
  return typeof c.sendCommand === 'function' && typeof c.duplicate === 'function' && typeof c.connect === 'function' && typeof c.disconnect === 'function'
}

/** A node-redis client as the stream's client: each command through `sendCommand`, its replies as ioredis gives them. */
export function nodeRedisStream (client: NodeRedisStreamClient): StreamClient {
  const send = async (...args: Array<string | number>): Promise<unknown> => await client.sendCommand(args.map(String))
  return {
    xadd: async (...args) => await send('XADD', ...args) as string,
    // RESP3 answers XREAD with a map (an object here): key → entries.
    xread: async (...args) => {
      const reply = await send('XREAD', ...args) as Array<[string, Entry[]]> | Record<string, Entry[]>
      return Array.isArray(reply) ? reply : Object.entries(reply)
    },
    xrange: async (...args) => await send('XRANGE', ...args) as Entry[],
    duplicate: () => {
      const copy = client.duplicate()
      // A node-redis client starts unconnected; a failure to connect reaches its 'error' listeners, and it tries again.
      copy.connect().catch(() => {})
      return nodeRedisStream(copy)
    },
    disconnect: () => { client.disconnect().catch(() => {}) },
    on: (event, listener) => client.on(event, listener)
  }
}

/** Entries the stream keeps (about: Redis trims whole nodes): what a node that was away can still catch up on. */
export const KEEP = 100_000

/** How long (ms) a failed read or hello waits before it tries again. */
const RETRY_MS = 200

/**
 * Every node appends its messages to one Redis stream (`XADD`), and reads the others' with a blocking `XREAD` on a
 * connection of its own, from the last entry it read: a message sent while a node's connection was away reaches it
 * when it is back, in order. A node that was away so long that its last entry was trimmed may have missed some:
 * `onGap` then asks it to read its live sessions again. An idle node costs Redis nothing but its waiting read.
 */
export class MessageStream {
  private reader: StreamClient | undefined
  /** The id of the last entry this node read (or wrote when it started); undefined until its first entry landed. */
  private last: string | undefined
  private stopped = false
  /** A message could not be added: the others are asked to read their sessions again once one can. */
  private dropped = false

  constructor (
    private readonly link: StreamLink,
    private readonly node: string,
    private readonly deliver: (message: unknown[]) => void,
    private readonly onGap: () => void,
    private readonly warn: (err: unknown) => void
  ) {}

  /** Starts reading: from this node's first entry, which marks where it joined. */
  start (): void {
    void this.run()
  }

  stop (): void {
    this.stopped = true
    this.reader?.disconnect()
  }

  /** Appends a message (an array of JSON values) for the other nodes. */
  send (message: unknown[]): void {
    this.add(JSON.stringify(message)).catch((err: unknown) => {
      if (this.stopped || this.dropped) return
      this.warn(err)
      this.dropped = true
      void this.revalidate()
    })
  }

  private async add (text: string): Promise<string | null> {
    return await this.link.client.xadd(this.link.key, 'MAXLEN', '~', KEEP, '*', 'n', this.node, 'm', text)
  }

  /** After a lost message: asks every node, until it can, to read its sessions again. */
  private async revalidate (): Promise<void> {
    while (!this.stopped) {
      try {
        await this.add('["revalidate"]')
        this.dropped = false
        return
      } catch {
        await pause(RETRY_MS)
      }
    }
  }

  /** Joins the stream (one entry, until Redis takes it), then reads until stopped. */
  private async run (): Promise<void> {
    while (!this.stopped && this.last === undefined) {
      try {
        this.last = await this.add('["up"]') as string
      } catch {
        await pause(RETRY_MS)
      }
    }
    if (this.stopped) return
    const reader = this.reader = this.link.client.duplicate()
    let first = true
    // Its errors are the read's (tried again below); ioredis would print them for want of a listener.
    reader.on('error', () => {})
    // Its connection came back: the read in flight is sent again from the same entry; was anything trimmed meanwhile?
    reader.on('ready', () => {
      if (first) first = false
      else void this.checkGap()
    })
    while (!this.stopped) {
      try {
        const reply = await reader.xread('COUNT', 1000, 'BLOCK', 0, 'STREAMS', this.link.key, this.last as string)
        // BLOCK 0 answers only with entries.
        for (const [, entries] of reply as Array<[string, Entry[]]>) for (const entry of entries) this.take(entry)
      } catch {
        if (this.stopped) return
        await pause(RETRY_MS)
        await this.checkGap()
      }
    }
  }

  /** An entry: delivered unless this node wrote it or it is not a message. */
  private take ([id, fields]: Entry): void {
    this.last = id
    if (fields[1] === this.node) return
    let message: unknown
    try {
      message = JSON.parse(fields[3])
    } catch {
      return
    }
    if (Array.isArray(message)) this.deliver(message)
  }

  /** The last entry read was trimmed while this node was away: entries after it may have been too. */
  private async checkGap (): Promise<void> {
    const seen = this.last as string
    try {
      if ((await this.link.client.xrange(this.link.key, seen, seen)).length === 0) this.onGap()
    } catch (err) {
      // Not known: read again, to be safe.
      this.warn(err)
      this.onGap()
    }
  }
}

async function pause (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms).unref())
}
