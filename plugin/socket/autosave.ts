import type { Socket } from 'socket.io'
import { sessionError } from '../client-errors.js'
import type { Context, LiveSession } from '../session/live-session.js'

// ---- Save after every listener; hold its ack until the save finished ----

/** The live session of a socket (set when the socket connects). */
export const kSession = Symbol('fastify-socket.io-session.socket')
/** Set while a socket's session is still loading (recovered sockets); resolves to whether it may stay. */
export const kLoading = Symbol('fastify-socket.io-session.loading')

/** A socket as the plugin sees it. */
export interface SessionSocket extends Socket {
  [kSession]?: LiveSession
  [kLoading]?: Promise<boolean>
}

export type Listener = (this: unknown, ...args: unknown[]) => unknown

/** Whether a listener's, hook's or handler's result is a promise (or any thenable) to wait for. */
export const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof (value as PromiseLike<unknown> | undefined)?.then === 'function'

/** Tells a socket its session could not be saved (before any ack of the failed save). */
export function notify (h: Context, socket: Socket): void {
  if (socket.connected) socket.emit(h.errorEvent, sessionError('SESSION_SAVE_FAILED'))
}

/**
 * Calls Socket.IO's ack. A reply it cannot encode (a cycle, a BigInt) throws inside Socket.IO, out of the
 * event's handling: it is logged instead, and the ack stays unsent. Resolves to whether it was sent.
 */
export function sendAck (live: LiveSession, event: string, ack: (...args: unknown[]) => void, reply: unknown[]): boolean {
  try {
    ack(...reply)
    return true
  } catch (err) {
    live.ctx.log.error({ err, event }, `fastify-socket.io-session: the ack of event "${event}" could not be sent`)
    return false
  }
}

/**
 * Saves `live` if it changed, then acks with `reply` when there is one (at once when nothing changed). When too
 * many events already wait for this session's saves, the ack goes at once, after `SESSION_SAVE_FAILED`.
 */
function afterSave (socket: Socket, live: LiveSession, event: string, ack?: (...args: unknown[]) => void, reply?: unknown[]): void {
  const saving = live.flush()
  const held = saving === undefined ? undefined : live.hold(saving)
  if (held === undefined) {
    // Nothing to save; or too many events wait already: the socket is told its change is not saved yet.
    if (saving !== undefined) notify(live.ctx, socket)
    if (reply !== undefined && ack !== undefined) sendAck(live, event, ack, reply)
    return
  }
  void held.then((err) => {
    if (err) notify(live.ctx, socket)
    if (reply !== undefined && ack !== undefined) sendAck(live, event, ack, reply)
  })
}

/** The ack of one event: held while its listeners run, released after the save that follows them. */
class HeldAck {
  /** The listeners finished: a later call of the ack saves first, then replies. */
  finished = false
  /** What the listeners acked with, while they ran. */
  reply: unknown[] | undefined
  constructor (readonly socket: Socket, readonly live: LiveSession, readonly event: string, readonly ack: (...args: unknown[]) => void) {}

  /** The function the listeners get in place of Socket.IO's ack. */
  deferred (): (...reply: unknown[]) => void {
    return (...reply) => {
      if (!this.finished) this.reply ??= reply
      else afterSave(this.socket, this.live, this.event, this.ack, reply)
    }
  }
}

/** Logs a listener that threw or rejected. */
function failed (live: LiveSession, event: string, err: unknown): void {
  live.ctx.log.error({ err, event }, 'fastify-socket.io-session: a socket listener failed')
}

/** The listeners finished: save, then release the ack they gave. */
function finish (socket: Socket, live: LiveSession, event: string, held: HeldAck | undefined): void {
  if (held !== undefined) held.finished = true
  afterSave(socket, live, event, held?.ack, held?.reply)
}

/**
 * Runs the listeners of one event; once they all finished (sync or async), saves a changed session, then
 * releases the ack. A listener that throws or rejects is logged and does not stop the others.
 */
export function runListeners (socket: SessionSocket, listeners: Listener[], args: unknown[], event: string): void {
  // Bound at connection, before any listener of the socket can run (events of a loading socket wait).
  const live = socket[kSession] as LiveSession
  const last = args.length - 1
  let held: HeldAck | undefined
  if (last >= 0 && typeof args[last] === 'function') {
    held = new HeldAck(socket, live, event, args[last] as (...reply: unknown[]) => void)
    args[last] = held.deferred()
  }
  let running: Array<PromiseLike<unknown>> | undefined
  for (const fn of listeners) {
    try {
      const result = fn.apply(socket, args)
      if (isThenable(result)) {
        (running ??= []).push(result.then(undefined, (err) => failed(live, event, err)))
      }
    } catch (err) {
      failed(live, event, err)
    }
  }
  if (running === undefined) finish(socket, live, event, held)
  else void Promise.all(running).then(() => finish(socket, live, event, held))
}

/** Runs one listener with autosave, or plainly when the socket's registration has `autoSave: false`. */
export function runListener (socket: SessionSocket, fn: Listener, args: unknown[], event: string): void {
  if ((socket[kSession] as LiveSession).ctx.autoSave) runListeners(socket, [fn], args, event)
  else fn.apply(socket, args)
}
