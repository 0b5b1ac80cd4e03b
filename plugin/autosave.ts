import type { Namespace, Socket } from 'socket.io'
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

type Listener = (this: unknown, ...args: unknown[]) => unknown

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
function runListeners (socket: SessionSocket, listeners: Listener[], args: unknown[], event: string): void {
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
function runListener (socket: SessionSocket, fn: Listener, args: unknown[], event: string): void {
  if ((socket[kSession] as LiveSession).ctx.autoSave) runListeners(socket, [fn], args, event)
  else fn.apply(socket, args)
}

// ---- Wrapping listeners ----

type Methods = Record<string, (...args: unknown[]) => unknown>

/** One wrapper per catch-all listener function, shared by every socket (it reads the socket from `this`). */
const anyWrappers = new WeakMap<Listener, Listener>()
/** One wrapper per connection listener. */
const connectionWrappers = new WeakMap<Listener, Listener>()

function anyWrapper (fn: Listener): Listener {
  let wrapper = anyWrappers.get(fn)
  if (wrapper === undefined) {
    wrapper = function (this: unknown, ...args: unknown[]) {
      runListener(this as SessionSocket, fn, args, '*')
    }
    anyWrappers.set(fn, wrapper)
  }
  return wrapper
}

/** Wraps a connection listener: it waits for a loading session, then runs with autosave. */
function connectionWrapper (fn: Listener): Listener {
  if (typeof fn !== 'function') return fn
  let wrapper = connectionWrappers.get(fn)
  if (wrapper === undefined) {
    wrapper = function (this: unknown, socket: unknown) {
      const loading = (socket as SessionSocket)[kLoading]
      if (loading === undefined) return runListener(socket as SessionSocket, fn, [socket], 'connection')
      void loading.then((keep) => { if (keep) runListener(socket as SessionSocket, fn, [socket], 'connection') })
    }
    connectionWrappers.set(fn, wrapper)
  }
  return wrapper
}

/** Marks a prototype whose methods this module wrapped. */
const kWrapped = Symbol('fastify-socket.io-session.wrapped')

/** Whether the socket belongs to a registration that saves after every listener. */
const saving = (socket: SessionSocket): boolean => socket[kSession]?.ctx.autoSave === true

/**
 * Makes Socket.IO run the listeners of this plugin's sockets through `runListeners`, once per process:
 * the incoming-event dispatch (`emitUntyped`, which Socket.IO's Socket calls through `super`, so it is
 * wrapped on the parent prototype) and reserved events such as `disconnect` (`emitReserved`). Catch-all
 * listeners (`onAny`), which Socket.IO calls directly, are wrapped as they are added. A plugin socket's
 * `disconnect` also unbinds it from its live session, without a listener of its own. Any other socket or
 * emitter (another server, `autoSave: false`, namespaces) gets Socket.IO's own behaviour, and no socket
 * carries per-socket or per-listener copies.
 */
export function wrapSocketClass (proto: object): void {
  if (Object.hasOwn(proto, kWrapped)) return
  const parent = Object.getPrototypeOf(proto) as Methods
  const own = proto as Methods
  const emitUntyped = parent.emitUntyped
  const emitReserved = own.emitReserved
  const onAny = own.onAny
  const prependAny = own.prependAny
  const offAny = own.offAny
  function dispatch (socket: SessionSocket, event: unknown, args: unknown[], incoming: boolean): boolean {
    const listeners = socket.rawListeners(event as string) as Listener[]
    if (listeners.length === 0) return false
    const live = socket[kSession] as LiveSession
    if (incoming) {
      // Written elsewhere: the event runs once the session was read again (in order; dropped if the session
      // ended or the socket left meanwhile).
      const refreshing = live.refreshing
      if (refreshing !== undefined) {
        void refreshing.then(() => { if (!live.gone && socket.connected) dispatch(socket, event, args, true) })
        return true
      }
      // A client's event is activity: a rolling session's expiry moves on (saved with the listeners' changes).
      live.touch()
    }
    runListeners(socket, listeners, args, String(event))
    return true
  }
  if (!Object.hasOwn(parent, kWrapped)) {
    Object.assign(parent, {
      [kWrapped]: true,
      emitUntyped: function (this: SessionSocket, event: unknown, ...args: unknown[]) {
        return saving(this) ? dispatch(this, event, args, true) : emitUntyped.call(this, event, ...args)
      }
    })
  }
  Object.assign(proto, {
    [kWrapped]: true,
    emitReserved: function (this: SessionSocket, event: unknown, ...args: unknown[]) {
      const handled = saving(this) ? dispatch(this, event, args, false) : emitReserved.call(this, event, ...args)
      // After the application's disconnect listeners (their changes are saved): the socket leaves its session.
      const live = this[kSession]
      if (event === 'disconnect' && live !== undefined) live.ctx.registry.release(live, this)
      return handled
    },
    onAny: function (this: SessionSocket, fn: unknown) {
      return onAny.call(this, saving(this) ? anyWrapper(fn as Listener) : fn)
    },
    prependAny: function (this: SessionSocket, fn: unknown) {
      return prependAny.call(this, saving(this) ? anyWrapper(fn as Listener) : fn)
    },
    offAny: function (this: SessionSocket, fn?: unknown) {
      if (fn === undefined) return offAny.call(this)
      const wrapper = anyWrappers.get(fn as Listener)
      return offAny.call(this, wrapper !== undefined && this.listenersAny().includes(wrapper) ? wrapper : fn)
    }
  })
}

/** The namespace events whose listeners receive a new socket. */
const connectionEvents = new Set<unknown>(['connection', 'connect'])

/** Makes the namespace's connection listeners, present and future, save the session after they ran. */
export function wrapNamespace (nsp: Namespace): void {
  const emitter = nsp as unknown as Methods
  const inherited = Object.getPrototypeOf(nsp) as Methods
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
