// ---- The store's commands, sent together: one write to Redis for all commands of an event loop turn ----
// Redis spends far more on reading and answering each write from a client than on an HSET itself (measured here:
// 11-13 µs of Redis CPU per command sent alone, about 1 µs in a pipeline). Commands made during one turn of the
// event loop (the events of many sockets that arrived together) go out as one ioredis pipeline.

/** The commands the store sends. */
export type Command = 'hgetall' | 'hset' | 'evalsha'

/** An ioredis pipeline, as far as the batch uses it. */
export interface RedisPipeline {
  hgetall: (...args: never[]) => unknown
  hset: (...args: never[]) => unknown
  evalsha: (...args: never[]) => unknown
  exec: () => Promise<Array<[Error | null, unknown]> | null>
}

/** A client that can send commands one by one, and in pipelines when it has them. */
export type Sender = Record<Command, (...args: never[]) => Promise<unknown>> & { pipeline?: () => RedisPipeline }

interface Queued { command: Command, args: Array<string | number>, resolve: (value: unknown) => void, reject: (err: unknown) => void }

/** Collects the commands of one event loop turn and sends them as one pipeline (a lone command as itself). */
export class Batch {
  private queue: Queued[] | undefined

  constructor (private readonly client: Sender) {}

  /** Sends `command` with the others of this turn; resolves to its own reply. */
  send (command: Command, ...args: Array<string | number>): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.queue === undefined) {
        this.queue = []
        setImmediate(() => this.flush())
      }
      this.queue.push({ command, args, resolve, reject })
    })
  }

  private flush (): void {
    const queue = this.queue as Queued[]
    this.queue = undefined
    const { client } = this
    if (queue.length === 1 || typeof client.pipeline !== 'function') {
      for (const q of queue) (client[q.command] as (...args: unknown[]) => Promise<unknown>)(...q.args).then(q.resolve, q.reject)
      return
    }
    const pipeline = client.pipeline()
    for (const q of queue) (pipeline[q.command] as (...args: unknown[]) => unknown)(...q.args)
    pipeline.exec().then((replies) => {
      queue.forEach((q, i) => {
        const reply = replies?.[i]
        if (reply === undefined) q.reject(new Error('Redis answered no reply to a pipelined command'))
        else if (reply[0] !== null) q.reject(reply[0])
        else q.resolve(reply[1])
      })
    }, (err: unknown) => { for (const q of queue) q.reject(err) })
  }
}
