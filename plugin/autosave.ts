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

/** After `live` is saved (or at once when nothing changed), runs `then`. */
function afterSave (h: Context, socket: Socket, live: LiveSession, then?: () => void): void {
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
function runListener (socket: SessionSocket, fn: Listener, args: unknown[], event: string): unknown {
  // Bound at connection, before any listener of the socket can run (events of a loading socket wait).
  const live = socket[kSession] as LiveSession
  const h = live.ctx
  if (!h.autoSave) return fn.apply(socket, args)
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

type Methods = Record<string, (...args: unknown[]) => unknown>

/** One wrapper per listener function, shared by every socket it is added to (it reads the socket from `this`). */
const eventWrappers = new WeakMap<Listener, Listener>()
/** One wrapper per connection listener. */
const connectionWrappers = new WeakMap<Listener, Listener>()

function eventWrapper (event: unknown, fn: Listener): Listener {
  if (typeof fn !== 'function') return fn
  let wrapper = eventWrappers.get(fn)
  if (wrapper === undefined) {
    wrapper = function (this: unknown, ...args: unknown[]) {
      return runListener(this as SessionSocket, fn, args, String(event))
    }
    eventWrappers.set(fn, wrapper)
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
      return undefined
    }
    connectionWrappers.set(fn, wrapper)
  }
  return wrapper
}

/** Whether a listener table holds `wrapper` (directly, or as the target of a `once` wrapper). */
function holds (listeners: unknown[], wrapper: Listener | undefined): boolean {
  return wrapper !== undefined && listeners.some((l) => l === wrapper || (l as { listener?: unknown }).listener === wrapper)
}

/** Marks a Socket prototype whose listener methods this module wrapped. */
const kWrapped = Symbol('fastify-socket.io-session.wrapped')

/**
 * Wraps the listener methods of Socket.IO's Socket class, once per process, so that listeners added to a
 * socket of this plugin save its session after they ran. Sockets of this plugin are told apart by their
 * live session; every other socket (another server, `autoSave: false`) gets Socket.IO's methods unchanged.
 * One shared prototype costs no memory per socket, where own methods on each socket would.
 */
export function wrapSocketClass (proto: object): void {
  if (Object.hasOwn(proto, kWrapped)) return
  const inherited: Methods = {}
  for (const name of ['on', 'addListener', 'once', 'prependListener', 'prependOnceListener', 'off', 'removeListener', 'onAny', 'prependAny', 'offAny']) {
    inherited[name] = (proto as Methods)[name]
  }
  const ours = (socket: SessionSocket): boolean => socket[kSession]?.ctx.autoSave === true
  const add = (name: string) => function (this: SessionSocket, event: unknown, fn: unknown) {
    return inherited[name].call(this, event, ours(this) ? eventWrapper(event, fn as Listener) : fn)
  }
  const remove = (name: string) => function (this: SessionSocket, event: unknown, fn: unknown) {
    const wrapper = eventWrappers.get(fn as Listener)
    return inherited[name].call(this, event, holds(this.rawListeners(event as string), wrapper) ? wrapper : fn)
  }
  const addAny = (name: string) => function (this: SessionSocket, fn: unknown) {
    return inherited[name].call(this, ours(this) ? eventWrapper('*', fn as Listener) : fn)
  }
  Object.assign(proto, {
    [kWrapped]: true,
    on: add('on'),
    addListener: add('addListener'),
    once: add('once'),
    prependListener: add('prependListener'),
    prependOnceListener: add('prependOnceListener'),
    off: remove('off'),
    removeListener: remove('removeListener'),
    onAny: addAny('onAny'),
    prependAny: addAny('prependAny'),
    offAny: function (this: SessionSocket, fn?: unknown) {
      if (fn === undefined) return inherited.offAny.call(this)
      const wrapper = eventWrappers.get(fn as Listener)
      return inherited.offAny.call(this, holds(this.listenersAny(), wrapper) ? wrapper : fn)
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
