import type { Socket } from 'socket.io'
import { FST_SIO_SESSION_BACKLOG } from '../errors.js'
import { EventError } from '../client-errors.js'
import { limitKey } from './limit-key.js'
import { BACKLOG, notify, sendAck, whenSaved } from '../session/after-save.js'
import { MAX_WAITING, type LiveSession } from '../session/live-session.js'
import { isThenable } from '../thenable.js'
import type { Route, Routing } from './compile.js'
import { issuesOf } from '../schemas.js'
import { begin, channels, type EventTrace, type Trace } from '../tracing.js'

// ---- Running one routed event: limits, payload, hooks, handler, save, reply ----

type Ack = (...reply: unknown[]) => void

/** Event names are the client's text: an error event repeats at most this much of one. */
const MAX_NAME = 200

/** One routed event, from its arguments to its reply (an object per event, no closures until something is async). */
class RouteCall {
  private payload: unknown
  /** The next preHandler hook to run. */
  private hook = 0
  /** Set while something subscribes to `fastify-socket.io-session:event`. */
  trace: Trace<EventTrace> | undefined
  /** Called once the reply went out (a shared session's lease waits for it). */
  onEnd: (() => void) | undefined

  constructor (readonly socket: Socket, readonly live: LiveSession, readonly route: Route, readonly ack: Ack | undefined) {}

  /** Answers at once, without running: too many events of this session wait for the store, or its lease failed. */
  backlogged (err: Error = new FST_SIO_SESSION_BACKLOG(MAX_WAITING)): void {
    void this.fail(err, new EventError('SESSION_SAVE_FAILED'), true)
  }

  /** Checks the rate limits and the payload, then runs the hooks and the handler. */
  start (args: unknown[]): void {
    const { limits } = this.route
    if (limits.length > 0) {
      const key = limitKey(this.route, this.socket, this.live)
      const now = Date.now()
      for (const limit of limits) {
        const wait = this.route.routing.buckets.take(key, limit, now)
        if (wait > 0) return this.refuse(new EventError('RATE_LIMITED', undefined, { retryAfter: wait }))
      }
    }
    const checked = this.route.payload(args)
    if (!checked.ok) return this.refuse(new EventError('INVALID_PAYLOAD', undefined, { errors: checked.errors }))
    this.payload = checked.value
    this.run()
  }

  /** Runs the remaining hooks, then the handler; synchronously as long as they return no promise. */
  private run (): void {
    const { preHandler, handler, name } = this.route
    let result: unknown
    try {
      while (this.hook < preHandler.length) {
        result = preHandler[this.hook++](this.socket, this.payload, name)
        if (isThenable(result)) {
          result.then(() => this.run(), (err) => this.refuse(err))
          return
        }
      }
      result = handler(this.socket, this.payload, name)
    } catch (err) {
      return this.refuse(err)
    }
    if (isThenable(result)) result.then((value) => this.reply(value), (err) => this.refuse(err))
    else this.reply(result)
  }

  /** The handler's value: checked against the ack schema, then sent after the save. */
  private reply (value: unknown): void {
    const { ack, routing, name } = this.route
    if (ack !== undefined && !ack.Check(value)) {
      routing.log.error({ event: name, errors: issuesOf(ack, value) }, `fastify-socket.io-session: the reply of event "${name}" does not match its ack schema`)
      return void this.fail(new TypeError(`the reply of event "${name}" does not match its ack schema`), new EventError('HANDLER_ERROR'), false)
    }
    this.settle(value === undefined ? [] : [value], false)
  }

  /** A refusal (an EventError) goes to the client as it is; any other error is logged and sent as HANDLER_ERROR. */
  private refuse (thrown: unknown): void {
    if (thrown instanceof EventError) return void this.fail(thrown, thrown, false)
    this.route.routing.log.error({ err: thrown, event: this.route.name }, `fastify-socket.io-session: event "${this.route.name}" failed`)
    void this.fail(thrown, new EventError('HANDLER_ERROR'), false)
  }

  /** Runs the onError hooks (their own failures are logged), then saves (unless done) and sends the error reply. */
  private async fail (thrown: unknown, error: EventError, saved: boolean): Promise<void> {
    const { onError, routing, name } = this.route
    for (const hook of onError) {
      try {
        await hook(this.socket, thrown, name)
      } catch (err) {
        routing.log.error({ err, event: name }, `fastify-socket.io-session: an onError hook of event "${name}" failed`)
      }
    }
    if (saved) this.deliver([error.reply()], true)
    else this.settle([error.reply()], true)
  }

  /** Saves a changed session (with autoSave), then sends; a failed save turns a reply into `SESSION_SAVE_FAILED`. */
  private settle (reply: unknown[], error: boolean): void {
    if (!this.live.ctx.options.autoSave) return this.deliver(reply, error)
    whenSaved(this.live, (outcome) => {
      if (outcome === BACKLOG) this.backlogged()
      else if (outcome === undefined || error) this.deliver(reply, error)
      else void this.fail(outcome, new EventError('SESSION_SAVE_FAILED'), true)
    })
  }

  /** The reply goes to the ack (one it cannot encode becomes HANDLER_ERROR); an error without an ack goes out as the error event. */
  private deliver (reply: unknown[], error: boolean): void {
    this.trace?.settled({ outcome: error ? (reply[0] as { error: { code: string } }).error.code : 'ok' })
    if (this.ack === undefined) {
      if (error) sendError(this.socket, this.route.routing.events.errorEvent, this.route.name, reply[0])
      return this.onEnd?.()
    }
    if (!sendAck(this.live, this.route.name, this.ack, reply)) this.ack(new EventError('HANDLER_ERROR').reply())
    this.onEnd?.()
  }
}

function sendError (socket: Socket, errorEvent: string, event: string, reply: unknown): void {
  if (socket.connected) socket.emit(errorEvent, { event, ...(reply as object) })
}

/** Takes the ack off the arguments, when the client sent one. */
function ackOf (args: unknown[]): Ack | undefined {
  return typeof args[args.length - 1] === 'function' ? args.pop() as Ack : undefined
}

/** Runs `what` on a call of `route`, traced on `fastify-socket.io-session:event` when something subscribes. */
function traced (socket: Socket, live: LiveSession, route: Route, args: unknown[], what: (call: RouteCall) => void, onEnd?: () => void): void {
  const call = new RouteCall(socket, live, route, ackOf(args))
  call.onEnd = onEnd
  call.trace = begin(channels.event, () => ({ event: route.name, namespace: socket.nsp.name }))
  what(call)
  call.trace?.returned()
}

/** Runs a routed event of `socket` (bound to `live`); `onEnd` is called once its reply went out. */
export function runRoute (socket: Socket, live: LiveSession, route: Route, args: unknown[], onEnd?: () => void): void {
  traced(socket, live, route, args, (call) => call.start(args), onEnd)
}

/**
 * An event not run because too many events of its session wait for the store: a route answers
 * `SESSION_SAVE_FAILED`; listeners' sockets get the error event (their acks stay unsent: nothing ran).
 */
export function backlogged (socket: Socket, live: LiveSession, route: Route | undefined, args: unknown[], err?: Error): void {
  if (route === undefined) return notify(live, socket)
  traced(socket, live, route, args, (call) => call.backlogged(err))
}

/** An event with no route and no listener: answered with `UNKNOWN_EVENT` when the `unknownEvent` option says so. */
export function unknownEvent ({ events }: Routing, socket: Socket, event: unknown, args: unknown[]): boolean {
  if (events.unknownEvent === 'ignore') return false
  const reply = new EventError('UNKNOWN_EVENT').reply()
  const ack = ackOf(args)
  if (ack !== undefined) ack(reply)
  else sendError(socket, events.errorEvent, String(event).slice(0, MAX_NAME), reply)
  return false
}

/** Routes whose shadowed `socket.on` listeners were reported. */
const warned = new WeakSet<Route>()

/** Says once per route that `socket.on` listeners of a routed event do not run. */
export function warnShadowed (route: Route): void {
  if (warned.has(route)) return
  warned.add(route)
  route.routing.log.warn({ event: route.name }, `fastify-socket.io-session: event "${route.name}" has a route, so its socket.on listeners do not run`)
}
