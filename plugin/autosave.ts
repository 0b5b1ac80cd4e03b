import type { FastifyBaseLogger } from 'fastify'
import { type Namespace, Socket } from 'socket.io'
import { clientError } from './errors.js'
import type { LiveSession } from './live-sessions.js'

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

type Listener = (this: unknown, ...args: unknown[]) => unknown

/** What the wrappers need, fixed at registration. */
export interface AutosaveContext { log: FastifyBaseLogger, errorEvent: string }

/** Tells a socket its session could not be saved (before any ack of the failed save). */
function notify (h: AutosaveContext, socket: Socket): void {
  if (socket.connected) socket.emit(h.errorEvent, clientError('SESSION_SAVE_FAILED'))
}

/** After `live` is saved (or at once when nothing changed), runs `then`. */
function afterSave (h: AutosaveContext, socket: Socket, live: LiveSession, then?: () => void): void {
  const saving = live.flush()
  if (saving === undefined) {
    then?.()
    return
  }
  void saving.then((err) => {
    if (err) notify(h, socket)
    then?.()
  })
}

/** Runs one listener; once it finished (sync or async), saves a changed session, then releases its ack. */
function runListener (h: AutosaveContext, socket: SessionSocket, fn: Listener, args: unknown[], event: string): unknown {
  // Bound at connection, before any listener of the socket can run (events of a loading socket wait).
  const live = socket[kSession] as LiveSession
  let finished = false
  let held: unknown[] | undefined
  let ack: ((...reply: unknown[]) => void) | undefined
  const last = args.length - 1
  if (last >= 0 && typeof args[last] === 'function') {
    ack = args[last] as (...reply: unknown[]) => void
    args[last] = (...reply: unknown[]) => {
      if (!finished) held ??= reply
      else afterSave(h, socket, live, () => ack?.(...reply))
    }
  }
  const finish = (): void => {
    finished = true
    afterSave(h, socket, live, held === undefined ? undefined : () => ack?.(...(held as unknown[])))
  }
  const failed = (err: unknown): void => {
    h.log.error({ err, event }, 'fastify-socket.io-session: a socket listener failed')
    finish()
  }
  let result: unknown
  try {
    result = fn.apply(socket, args)
  } catch (err) {
    failed(err)
    return undefined
  }
  if (typeof (result as Promise<unknown>)?.then === 'function') (result as Promise<unknown>).then(finish, failed)
  else finish()
  return result
}

// ---- Wrapping listeners ----

const original = Socket.prototype as unknown as Record<string, (...args: unknown[]) => unknown>

/** The wrappers of one registration: each listener function gets one wrapper, shared by every socket. */
export function createAutosave (h: AutosaveContext): {
  socketProto: object
  wrapNamespace: (nsp: Namespace) => void
} {
  const eventWrappers = new WeakMap<Listener, Listener>()
  const connectionWrappers = new WeakMap<Listener, Listener>()

  /** Wraps an event listener; the wrapper reads the socket from `this`. */
  const eventWrapper = (event: unknown, fn: Listener): Listener => {
    if (typeof fn !== 'function') return fn
    let wrapper = eventWrappers.get(fn)
    if (wrapper === undefined) {
      wrapper = function (this: unknown, ...args: unknown[]) {
        return runListener(h, this as SessionSocket, fn, args, String(event))
      }
      eventWrappers.set(fn, wrapper)
    }
    return wrapper
  }

  /** Wraps a connection listener: it waits for a loading session, then runs with autosave. */
  const connectionWrapper = (fn: Listener): Listener => {
    if (typeof fn !== 'function') return fn
    let wrapper = connectionWrappers.get(fn)
    if (wrapper === undefined) {
      wrapper = function (this: unknown, socket: unknown) {
        const loading = (socket as SessionSocket)[kLoading]
        if (loading === undefined) return runListener(h, socket as SessionSocket, fn, [socket], 'connection')
        void loading.then((keep) => { if (keep) runListener(h, socket as SessionSocket, fn, [socket], 'connection') })
        return undefined
      }
      connectionWrappers.set(fn, wrapper)
    }
    return wrapper
  }

  const add = (name: string) => function (this: Socket, event: unknown, fn: unknown) {
    return original[name].call(this, event, eventWrapper(event, fn as Listener))
  }
  const remove = (name: string) => function (this: Socket, event: unknown, fn: unknown) {
    return original[name].call(this, event, eventWrappers.get(fn as Listener) ?? fn)
  }
  const addAny = (name: string) => function (this: Socket, fn: unknown) {
    return original[name].call(this, eventWrapper('*', fn as Listener))
  }
  /** Socket.IO's Socket prototype with listener methods that wrap, and removals that find the wrapper. */
  const socketProto = Object.assign(Object.create(Socket.prototype) as object, {
    on: add('on'),
    addListener: add('addListener'),
    once: add('once'),
    prependListener: add('prependListener'),
    prependOnceListener: add('prependOnceListener'),
    off: remove('off'),
    removeListener: remove('removeListener'),
    onAny: addAny('onAny'),
    prependAny: addAny('prependAny'),
    offAny: function (this: Socket, fn?: unknown) {
      return fn === undefined ? original.offAny.call(this) : original.offAny.call(this, eventWrappers.get(fn as Listener) ?? fn)
    }
  })

  /** Makes the namespace's connection listeners, present and future, save the session after they ran. */
  const wrapNamespace = (nsp: Namespace): void => {
    const emitter = nsp as unknown as Record<string, (...args: unknown[]) => unknown>
    const inherited = Object.getPrototypeOf(nsp) as Record<string, (...args: unknown[]) => unknown>
    for (const name of ['on', 'addListener', 'once', 'prependListener', 'prependOnceListener']) {
      emitter[name] = function (this: Namespace, event: unknown, fn: unknown) {
        return inherited[name].call(this, event, connectionEvents.has(event) ? connectionWrapper(fn as Listener) : fn)
      }
    }
    for (const name of ['off', 'removeListener']) {
      emitter[name] = function (this: Namespace, event: unknown, fn: unknown) {
        return inherited[name].call(this, event, connectionWrappers.get(fn as Listener) ?? fn)
      }
    }
    for (const event of connectionEvents) {
      const present = nsp.rawListeners(event as 'connection') as Listener[]
      nsp.removeAllListeners(event as 'connection')
      for (const fn of present) inherited.on.call(nsp, event, connectionWrapper(fn))
    }
  }

  return { socketProto, wrapNamespace }
}

/** The namespace events whose listeners receive a new socket. */
const connectionEvents = new Set<unknown>(['connection', 'connect'])
