import type { FastifyBaseLogger } from 'fastify'
import type { Namespace } from 'socket.io'
import type { TSchema } from 'typebox'
import { FST_SIO_SESSION_BAD_ROUTE } from '../errors.js'
import { docKeys, resolveDocs, type ResolvedDocs } from './docs.js'
import { hooks, rateLimit, type Hook, type ResolvedEvents } from './options.js'
import type { Buckets, RateLimit } from './rate-limit.js'
import type { EventRoute, ServerEventRoute } from './types.js'
import { compile, inspect, issuesOf, refused, type Checked, type Validator } from '../schemas.js'

// ---- Event routes: compiled once, kept per namespace ----

/** What every route of one server shares: the `events` option, the log, and the rate-limit buckets. */
export interface Routing { events: ResolvedEvents, log: FastifyBaseLogger, buckets: Buckets }

/** One event route, ready to run. */
export interface Route {
  readonly name: string
  readonly routing: Routing
  /** Checks the arguments before the ack: the payload, or what is wrong with it. */
  readonly payload: (args: unknown[]) => Checked
  /** The ack schema, when replies are checked. */
  readonly ack: Validator | undefined
  readonly preHandler: Hook[]
  readonly onError: Hook[]
  /** The global limit, then the route's own. */
  readonly limits: RateLimit[]
  readonly handler: Hook
  readonly descriptor: EventRoute
  /** The route's schemas as given (the ack's too when replies are not checked), for its AsyncAPI document. */
  readonly schemas: { payload: TSchema | undefined, ack: TSchema | undefined }
  readonly docs: ResolvedDocs
}

const none: Checked = { ok: true, value: undefined }

/** Whether applying the schema's defaults can change anything (it costs ~60 checks, so skip it when not). */
function hasDefaults (schema: TSchema): boolean {
  return JSON.stringify(schema).includes('"default":')
}

/** The payload check of a route: one argument against the schema, or none without a schema. */
function payloadCheck (name: string, schema: TSchema | undefined, allowBinary: boolean): (args: unknown[]) => Checked {
  if (schema === undefined) {
    return (args) => args.length === 0 ? none : refused({ path: '', message: 'this event takes no payload' })
  }
  const validator = compile(`the payload schema of event "${name}"`, schema, FST_SIO_SESSION_BAD_ROUTE)
  const defaults = hasDefaults(schema)
  return (args) => {
    if (args.length > 1) return refused({ path: '', message: `expected one payload argument, got ${args.length}` })
    let value = args[0]
    const bad = inspect(value, allowBinary)
    if (bad !== undefined) return refused(bad)
    if (defaults) value = validator.Default(value)
    if (validator.Check(value)) return { ok: true, value }
    return { ok: false, errors: issuesOf(validator, value) }
  }
}

/** Socket.IO's reserved event names, which no client can send. */
const reserved = new Set(['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'])
const knownOptions = new Set(['schema', 'preHandler', 'onError', 'rateLimit', 'allowBinary', ...docKeys])
const knownSchemas = new Set(['payload', 'ack'])
const schemaDocKeys = new Set<string>(docKeys)

export function bad (message: string): never {
  throw new FST_SIO_SESSION_BAD_ROUTE(message)
}

/** Checks a route's name and options and compiles its schemas. */
export function compileRoute (nsp: Namespace, routing: Routing, name: unknown, input: unknown, handler: unknown): Route {
  if (typeof name !== 'string' || name.length === 0) bad('an event route needs a non-empty event name')
  if (reserved.has(name)) bad(`"${name}" is a reserved Socket.IO event and cannot have a route`)
  const where = `event "${name}"`
  if (input === null || typeof input !== 'object' || Array.isArray(input)) bad(`the options of ${where} must be an object`)
  const options = input as Record<string, unknown>
  for (const key of Object.keys(options)) if (!knownOptions.has(key)) bad(`unknown option "${key}" of ${where}; known are ${[...knownOptions].join(', ')}`)
  const schema = (options.schema ?? {}) as Record<string, TSchema | undefined>
  if (typeof schema !== 'object') bad(`"schema" of ${where} must be { payload?, ack? }`)
  for (const key of Object.keys(schema)) {
    if (schemaDocKeys.has(key)) continue
    if (!knownSchemas.has(key)) bad(`unknown schema "${key}" of ${where}; known are payload, ack (and ${docKeys.join(', ')})`)
    const value = schema[key]
    if (value !== undefined && (value === null || typeof value !== 'object')) bad(`schema "${key}" of ${where} must be a TypeBox schema, e.g. Type.Object({ ... })`)
  }
  if (options.allowBinary !== undefined && typeof options.allowBinary !== 'boolean') bad(`"allowBinary" of ${where} must be a boolean`)
  if (typeof handler !== 'function') bad(`${where} needs a handler function`)
  const own = rateLimit(options.rateLimit, `rateLimit of ${where}`, bad)
  const { events } = routing
  return {
    name,
    routing,
    payload: payloadCheck(name, schema.payload, options.allowBinary === true),
    ack: schema.ack === undefined || !events.validateAck ? undefined : compile(`the ack schema of ${where}`, schema.ack, FST_SIO_SESSION_BAD_ROUTE),
    preHandler: [...events.preHandler, ...hooks(options.preHandler, `preHandler of ${where}`, bad)],
    onError: [...events.onError, ...hooks(options.onError, `onError of ${where}`, bad)],
    limits: [events.rateLimit, own].filter((limit) => limit !== undefined),
    handler: handler as Hook,
    descriptor: Object.freeze({ event: name, namespace: nsp.name }),
    schemas: { payload: schema.payload, ack: schema.ack },
    docs: resolveDocs([options, schema], where, bad)
  }
}

/** A declared server event: its payload check (arguments, the ack left out), and what declaring it returned. */
export interface ServerEvent {
  readonly check: (args: unknown[]) => Checked
  readonly descriptor: ServerEventRoute
  readonly schema: TSchema | undefined
  readonly docs: ResolvedDocs
}

const knownServerOptions = new Set(['schema', ...docKeys])

/** Checks a server event's name and options and compiles its schema. */
export function compileServerEvent (nsp: Namespace, name: unknown, input: unknown): ServerEvent {
  if (typeof name !== 'string' || name.length === 0) bad('a server event needs a non-empty event name')
  if (reserved.has(name)) bad(`"${name}" is a reserved Socket.IO event and cannot be declared`)
  const where = `server event "${name}"`
  if (input !== undefined && (input === null || typeof input !== 'object' || Array.isArray(input))) bad(`the options of ${where} must be an object`)
  const options = (input ?? {}) as Record<string, unknown>
  for (const key of Object.keys(options)) if (!knownServerOptions.has(key)) bad(`unknown option "${key}" of ${where}; known are ${[...knownServerOptions].join(', ')}`)
  const schema = options.schema as TSchema | undefined
  if (schema !== undefined && (schema === null || typeof schema !== 'object')) bad(`"schema" of ${where} must be a TypeBox schema, e.g. Type.Object({ ... })`)
  return {
    check: emitCheck(name, schema),
    descriptor: Object.freeze({ event: name, namespace: nsp.name }),
    schema,
    docs: resolveDocs([options], where, bad)
  }
}

/** The check of what the server emits: one argument against the schema (never changed: no defaults applied), or none. */
function emitCheck (name: string, schema: TSchema | undefined): (args: unknown[]) => Checked {
  if (schema === undefined) return (args) => args.length === 0 ? none : refused({ path: '', message: 'this event has no payload' })
  const validator = compile(`the schema of server event "${name}"`, schema, FST_SIO_SESSION_BAD_ROUTE)
  return (args) => {
    if (args.length !== 1) return refused({ path: '', message: `expected one payload argument, got ${args.length}` })
    return validator.Check(args[0]) ? { ok: true, value: args[0] } : { ok: false, errors: issuesOf(validator, args[0]) }
  }
}

