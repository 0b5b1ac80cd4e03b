import type { Socket } from 'socket.io'
import { sessionError } from '../client-errors.js'
import type { LiveSession } from './live-session.js'

// ---- Save, then answer the client: the one path of listeners and routes ----

/** Too many events of the session already wait for its saves: this one is answered at once. */
export const BACKLOG = Symbol('backlog')

/** How a save ended: nothing to save or saved (undefined), the save's error, or `BACKLOG`. */
export type SaveOutcome = Error | undefined | typeof BACKLOG

/**
 * Saves `live` if it changed, then calls `then` with the outcome: at once (synchronously) when nothing changed
 * or too many events already wait; after the save otherwise.
 */
export function whenSaved (live: LiveSession, then: (outcome: SaveOutcome) => void): void {
  const saving = live.flush()
  if (saving === undefined) return then(undefined)
  const held = live.hold(saving)
  if (held === undefined) return then(BACKLOG)
  void held.then(then)
}

/** Tells a socket its session could not be saved (before any ack of the failed save). */
export function notify (live: LiveSession, socket: Socket): void {
  if (socket.connected) socket.emit(live.ctx.options.errorEvent, sessionError('SESSION_SAVE_FAILED'))
}

/**
 * Calls Socket.IO's ack. A reply it cannot encode (a cycle, a BigInt) throws inside Socket.IO, out of the
 * event's handling: it is logged instead, and the ack stays unsent. Returns whether it was sent.
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
