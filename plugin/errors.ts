import { createError } from '@fastify/error'

// ---- Registration errors (thrown at ready()) ----

/** An option has the wrong type or value; the message names the option and the fix. */
export const FST_SIO_SESSION_BAD_OPTION = createError(
  'FST_SIO_SESSION_BAD_OPTION',
  'fastify-socket.io-session: %s',
  500,
  TypeError
)

/** `fastify.io` is missing or is not a Socket.IO server. */
export const FST_SIO_SESSION_NO_SOCKETIO = createError(
  'FST_SIO_SESSION_NO_SOCKETIO',
  'fastify-socket.io-session: fastify.io %s; register fastify-socket.io (npm install fastify-socket.io@4) before this plugin',
  500
)

/** An event route has a bad name, option, schema or handler, or its event already has a route. */
export const FST_SIO_SESSION_BAD_ROUTE = createError(
  'FST_SIO_SESSION_BAD_ROUTE',
  'fastify-socket.io-session: %s',
  500,
  TypeError
)

/** The installed @fastify/session does not expose what the plugin reads. */
export const FST_SIO_SESSION_UNSUPPORTED_SESSION = createError(
  'FST_SIO_SESSION_UNSUPPORTED_SESSION',
  'fastify-socket.io-session: the registered @fastify/session is not supported (%s); install @fastify/session@11',
  500
)

/** The installed Fastify does not expose the request getters the origin check reads. */
export const FST_SIO_SESSION_UNSUPPORTED_FASTIFY = createError(
  'FST_SIO_SESSION_UNSUPPORTED_FASTIFY',
  'fastify-socket.io-session: the running Fastify is not supported (its Request class lacks the protocol and host getters); install fastify@5',
  500
)

// ---- Session method errors (rejected by socket.session methods) ----

/** The session was destroyed (or expired) in the store; it will not be written again. */
export const FST_SIO_SESSION_GONE = createError(
  'FST_SIO_SESSION_GONE',
  'fastify-socket.io-session: the session no longer exists in the store and will not be recreated',
  410
)

/** The socket has no stored session (no valid cookie): nothing to save or reload. */
export const FST_SIO_SESSION_NOT_STORED = createError(
  'FST_SIO_SESSION_NOT_STORED',
  'fastify-socket.io-session: this socket has no stored session; create the session over HTTP first',
  400
)

/** A socket cannot hand the browser a new cookie, so it cannot regenerate. */
export const FST_SIO_SESSION_REGENERATE = createError(
  'FST_SIO_SESSION_REGENERATE',
  'fastify-socket.io-session: regenerate() needs an HTTP response to set the new cookie; regenerate in an HTTP route',
  400
)

/** The session store reported an error. */
export const FST_SIO_SESSION_STORE = createError(
  'FST_SIO_SESSION_STORE',
  'fastify-socket.io-session: the session store failed: %s',
  503
)

/** A listener put values in the session that JSON cannot write; they were not saved (the other keys were). */
export const FST_SIO_SESSION_UNSERIALIZABLE = createError(
  'FST_SIO_SESSION_UNSERIALIZABLE',
  'fastify-socket.io-session: the session keys %s hold values JSON cannot write (a BigInt, a cycle, too deep); they were not saved',
  500
)

/** Key names may come from clients: at most 10 of them, each cut to 100 characters (never their values). */
export function keyNames (keys: string[]): string[] {
  return keys.slice(0, 10).map((key) => key.slice(0, 100))
}

/** The error of a save that met keys JSON cannot write, naming them (`names` from `keyNames`). */
export function unserializable (names: string[]): Error {
  return new FST_SIO_SESSION_UNSERIALIZABLE(names.map((key) => JSON.stringify(key)).join(', '))
}

/** Too many events of one session wait for the store (it is slow or down): this one was answered at once. */
export const FST_SIO_SESSION_BACKLOG = createError(
  'FST_SIO_SESSION_BACKLOG',
  'fastify-socket.io-session: %d events of this session already wait for the session store; this one was answered at once',
  503
)

/** A store call took longer than `storeTimeout` (or a Redis call longer than the RedisStore's `timeout`). */
export const FST_SIO_SESSION_TIMEOUT = createError(
  'FST_SIO_SESSION_TIMEOUT',
  'fastify-socket.io-session: the session store did not answer within %d ms',
  503
)

/** Another node held the lease of a session live on several nodes for longer than `storeTimeout`. */
export const FST_SIO_SESSION_LEASE_BUSY = createError(
  'FST_SIO_SESSION_LEASE_BUSY',
  'fastify-socket.io-session: another node held the session\'s lease for more than %d ms',
  503
)

/** A stored session holds a value that is not JSON. */
export const FST_SIO_SESSION_CORRUPT = createError(
  'FST_SIO_SESSION_CORRUPT',
  'fastify-socket.io-session: the stored session is corrupt (key "%s" is not JSON)',
  500
)

/** The installed Socket.IO lacks a member the plugin relies on, or does not use it as the plugin expects. */
export const FST_SIO_SESSION_UNSUPPORTED_SOCKETIO = createError(
  'FST_SIO_SESSION_UNSUPPORTED_SOCKETIO',
  'fastify-socket.io-session: the running socket.io is not supported (%s); install socket.io@4.8',
  500
)

/** `sessionClient()` was given an instance the plugin is not registered on. */
export const FST_SIO_SESSION_NOT_REGISTERED = createError(
  'FST_SIO_SESSION_NOT_REGISTERED',
  'fastify-socket.io-session: sessionClient() needs the Fastify instance the plugin was registered on (after ready())',
  500
)

/** An emit of a declared server event whose payload does not match its schema (with `events.validateEmits`). */
export const FST_SIO_SESSION_BAD_EMIT = createError(
  'FST_SIO_SESSION_BAD_EMIT',
  'fastify-socket.io-session: the payload of server event "%s" does not match its schema: %s',
  500,
  TypeError
)
