import type { Socket } from 'socket.io'
import { clientError } from './errors.js'
import type { Context, LiveSession } from './live-sessions.js'

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

/** Tells a socket its session could not be saved (before any ack of the failed save). */
function notify (h: Context, socket: Socket): void {
  if (socket.connected) socket.emit(h.errorEvent, clientError('SESSION_SAVE_FAILED'))
}

/** Saves `live` if it changed, then acks with `reply` when there is one (at once when nothing changed). */
function afterSave (socket: Socket, live: LiveSession, ack?: (...args: unknown[]) => void, reply?: unknown[]): void {
  const saving = live.flush()
  if (saving === undefined) {
    if (reply !== undefined) ack?.(...reply)
    return
  }
  void saving.then((err) => {
    if (err) notify(live.ctx, socket)
    if (reply !== undefined) ack?.(...reply)
  })
}

/** The ack of one event: held while its listeners run, released after the save that follows them. */
class HeldAck {
  /** The listeners finished: a later call of the ack saves first, then replies. */
  finished = false
  /** What the listeners acked with, while they ran. */
  reply: unknown[] | undefined
  constructor (readonly socket: Socket, readonly live: LiveSession, readonly ack: (...args: unknown[]) => void) {}

  /** The function the listeners get in place of Socket.IO's ack. */
  deferred (): (...reply: unknown[]) => void {
    return (...reply) => {
      if (!this.finished) this.reply ??= reply
      else afterSave(this.socket, this.live, this.ack, reply)
    }
  }
}

/** Logs a listener that threw or rejected. */
function failed (live: LiveSession, event: string, err: unknown): void {
  live.ctx.log.error({ err, event }, 'fastify-socket.io-session: a socket listener failed')
}

/** The listeners finished: save, then release the ack they gave. */
function finish (socket: Socket, live: LiveSession, held: HeldAck | undefined): void {
  if (held !== undefined) held.finished = true
  afterSave(socket, live, held?.ack, held?.reply)
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
    held = new HeldAck(socket, live, args[last] as (...reply: unknown[]) => void)
    args[last] = held.deferred()
  }
  let running: Array<Promise<unknown>> | undefined
  for (const fn of listeners) {
    try {
      const result = fn.apply(socket, args)
      if (typeof (result as Promise<unknown>)?.then === 'function') {
        (running ??= []).push((result as Promise<unknown>).then(undefined, (err) => failed(live, event, err)))
      }
    } catch (err) {
      failed(live, event, err)
    }
  }
  if (running === undefined) finish(socket, live, held)
  else void Promise.all(running).then(() => finish(socket, live, held))
}

/** Runs one listener with autosave, or plainly when the socket's registration has `autoSave: false`. */
export function runListener (socket: SessionSocket, fn: Listener, args: unknown[], event: string): void {
  if ((socket[kSession] as LiveSession).ctx.autoSave) runListeners(socket, [fn], args, event)
  else fn.apply(socket, args)
}
