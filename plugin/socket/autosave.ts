import type { Socket } from 'socket.io'
import type { Listener } from '../internals/socket-io.js'
import { notify, sendAck, whenSaved } from '../session/after-save.js'
import type { LiveSession } from '../session/live-session.js'
import { isThenable } from '../thenable.js'

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

/**
 * Saves `live` if it changed, then acks with `reply` when there is one (at once when nothing changed). When the
 * save fails, or too many events already wait for this session's saves, the socket is told before the ack.
 */
function afterSave (socket: Socket, live: LiveSession, event: string, ack?: (...args: unknown[]) => void, reply?: unknown[], onEnd?: () => void): void {
  whenSaved(live, (outcome) => {
    if (outcome !== undefined) notify(live, socket)
    if (reply !== undefined && ack !== undefined) sendAck(live, event, ack, reply)
    onEnd?.()
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
function finish (socket: Socket, live: LiveSession, event: string, held: HeldAck | undefined, onEnd: (() => void) | undefined): void {
  if (held !== undefined) held.finished = true
  afterSave(socket, live, event, held?.ack, held?.reply, onEnd)
}

/**
 * Runs the listeners of one event; once they all finished (sync or async), saves a changed session, then
 * releases the ack, then calls `onEnd`. A listener that throws or rejects is logged and does not stop the others.
 */
export function runListeners (socket: SessionSocket, listeners: Listener[], args: unknown[], event: string, onEnd?: () => void): void {
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
  if (running === undefined) finish(socket, live, event, held, onEnd)
  else void Promise.all(running).then(() => finish(socket, live, event, held, onEnd))
}

/** Runs one listener with autosave, or plainly when the socket's registration has `autoSave: false`. */
export function runListener (socket: SessionSocket, fn: Listener, args: unknown[], event: string): void {
  if ((socket[kSession] as LiveSession).ctx.options.autoSave) runListeners(socket, [fn], args, event)
  else fn.apply(socket, args)
}
