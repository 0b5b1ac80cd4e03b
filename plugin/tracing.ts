import { tracingChannel, type TracingChannel } from 'node:diagnostics_channel'

// ---- diagnostics_channel tracing: the handshake, each routed event, each save ----
// Each operation publishes `start` when it begins and `end` when its synchronous part returned, then `asyncStart`
// and `asyncEnd` once its outcome is known (`error` before them when it failed), on one context object: a span
// starts at `start` and ends at `asyncEnd`. Contexts carry names and outcomes, never a session id or value.

/** A handshake: its namespace and transport, then how it ended. */
export interface HandshakeTrace {
  namespace: string
  transport: string
  /** `'accepted'` (a stored session), `'anonymous'` (none, allowed), or the refusal's code (`SESSION_REQUIRED`, ...). */
  outcome?: string
}

/** One routed event: its name and namespace, then how it was answered. */
export interface EventTrace {
  event: string
  namespace: string
  /** `'ok'`, or the code of the error reply (`INVALID_PAYLOAD`, `HANDLER_ERROR`, ...). */
  outcome?: string
}

/** One save of a live session: how many keys it writes and removes, then how it ended. */
export interface SaveTrace {
  changed: number
  removed: number
  /** `'saved'`, `'gone'` (the store no longer had the session) or `'failed'` (`error` holds why). */
  outcome?: 'saved' | 'gone' | 'failed'
  error?: unknown
}

/** The channels, by the names subscribers use: `tracingChannel('fastify-socket.io-session:event')`. */
export const channels = {
  handshake: tracingChannel<HandshakeTrace, HandshakeTrace>('fastify-socket.io-session:handshake'),
  event: tracingChannel<EventTrace, EventTrace>('fastify-socket.io-session:event'),
  save: tracingChannel<SaveTrace, SaveTrace>('fastify-socket.io-session:save')
}

/** A traced operation in progress. */
export class Trace<T extends object> {
  /** Whether the synchronous part returned (`end` was published). */
  private done = false
  /** An outcome that came before `end` (the operation ended synchronously): published after it. */
  private early: { error: unknown } | undefined

  constructor (readonly channel: TracingChannel<T, T>, readonly context: T) {
    channel.start.publish(context)
  }

  /** The operation's synchronous part returned. */
  returned (): void {
    this.done = true
    this.channel.end.publish(this.context)
    if (this.early !== undefined) this.publishOutcome(this.early.error)
  }

  /** The operation ended with `fields` (its outcome); an `error` is published on the error channel first. */
  settled (fields: Partial<T>, error?: unknown): void {
    Object.assign(this.context, fields)
    if (this.done) this.publishOutcome(error)
    else this.early = { error }
  }

  private publishOutcome (error: unknown): void {
    if (error !== undefined) {
      (this.context as { error?: unknown }).error = error
      this.channel.error.publish(this.context)
    }
    this.channel.asyncStart.publish(this.context)
    this.channel.asyncEnd.publish(this.context)
  }
}

/** Starts tracing `context()` on `channel` when something subscribes to it (the context is built only then). */
export function begin<T extends object> (channel: TracingChannel<T, T>, context: () => NoInfer<T>): Trace<T> | undefined {
  return channel.hasSubscribers ? new Trace(channel, context()) : undefined
}
