import type { FastifyBaseLogger } from 'fastify'
import type { Namespace } from 'socket.io'
import type { TSchema } from 'typebox'
import { FST_SIO_SESSION_BAD_EMIT, FST_SIO_SESSION_BAD_ROUTE } from '../errors.js'
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
const knownOptions = new Set(['schema', 'preHandler', 'onError', 'rateLimit', 'allowBinary'])
const knownSchemas = new Set(['payload', 'ack'])

function bad (message: string): never {
  throw new FST_SIO_SESSION_BAD_ROUTE(message)
}

/** Checks a route's name and options and compiles its schemas. */
function compileRoute (nsp: Namespace, routing: Routing, name: unknown, input: unknown, handler: unknown): Route {
  if (typeof name !== 'string' || name.length === 0) bad('an event route needs a non-empty event name')
  if (reserved.has(name)) bad(`"${name}" is a reserved Socket.IO event and cannot have a route`)
  const where = `event "${name}"`
  if (input === null || typeof input !== 'object' || Array.isArray(input)) bad(`the options of ${where} must be an object`)
  const options = input as Record<string, unknown>
  for (const key of Object.keys(options)) if (!knownOptions.has(key)) bad(`unknown option "${key}" of ${where}; known are ${[...knownOptions].join(', ')}`)
  const schema = (options.schema ?? {}) as Record<string, TSchema | undefined>
  if (typeof schema !== 'object') bad(`"schema" of ${where} must be { payload?, ack? }`)
  for (const key of Object.keys(schema)) {
    if (!knownSchemas.has(key)) bad(`unknown schema "${key}" of ${where}; known are payload, ack`)
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
    descriptor: Object.freeze({ event: name, namespace: nsp.name })
  }
}

/** A declared server event: its payload check (arguments, the ack left out), and what declaring it returned. */
interface ServerEvent {
  readonly check: (args: unknown[]) => Checked
  readonly descriptor: ServerEventRoute
}

/** Checks a server event's name and options and compiles its schema. */
function compileServerEvent (nsp: Namespace, name: unknown, input: unknown): ServerEvent {
  if (typeof name !== 'string' || name.length === 0) bad('a server event needs a non-empty event name')
  if (reserved.has(name)) bad(`"${name}" is a reserved Socket.IO event and cannot be declared`)
  const where = `server event "${name}"`
  if (input !== undefined && (input === null || typeof input !== 'object' || Array.isArray(input))) bad(`the options of ${where} must be an object`)
  const options = (input ?? {}) as Record<string, unknown>
  for (const key of Object.keys(options)) if (key !== 'schema') bad(`unknown option "${key}" of ${where}; known is schema`)
  const schema = options.schema
  if (schema !== undefined && (schema === null || typeof schema !== 'object')) bad(`"schema" of ${where} must be a TypeBox schema, e.g. Type.Object({ ... })`)
  return { check: emitCheck(name, schema as TSchema | undefined), descriptor: Object.freeze({ event: name, namespace: nsp.name }) }
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

/**
 * The routes of one server, by namespace and event name. A child of a dynamic namespace (`io.of(/regex/)`) runs
 * the routes of its parent, and shares its declared server events.
 */
export class RouteTable {
  private readonly byNamespace = new WeakMap<Namespace, Map<unknown, Route>>()
  private readonly serverEvents = new WeakMap<Namespace, Map<unknown, ServerEvent>>()

  constructor (readonly routing: Routing) {}

  /** The route of `event` in `nsp`, if any. */
  get (nsp: Namespace, event: unknown): Route | undefined {
    return this.byNamespace.get(nsp)?.get(event)
  }

  /** `namespace.event(name, options?, handler)`: adds a route for an event of this namespace's sockets. */
  add (nsp: Namespace, [name, options, handler]: unknown[]): EventRoute {
    const route = typeof options === 'function' && handler === undefined
      ? compileRoute(nsp, this.routing, name, {}, options)
      : compileRoute(nsp, this.routing, name, options === undefined ? {} : options, handler)
    const routes = this.routesOf(nsp)
    if (routes.has(route.name)) bad(`event "${route.name}" already has a route on namespace "${nsp.name}"`)
    routes.set(route.name, route)
    return route.descriptor
  }

  /** `namespace.serverEvent(name, options?)`: declares an event the server emits on this namespace. */
  declare (nsp: Namespace, [name, options]: unknown[]): ServerEventRoute {
    const declared = compileServerEvent(nsp, name, options)
    const events = this.serverEventsOf(nsp)
    if (events.has(declared.descriptor.event)) bad(`server event "${declared.descriptor.event}" is already declared on namespace "${nsp.name}"`)
    events.set(declared.descriptor.event, declared)
    return declared.descriptor
  }

  /**
   * Throws `FST_SIO_SESSION_BAD_EMIT` when `args` (an ack function at the end left out) do not match the schema of
   * `event`, a declared server event of `nsp` (called only with `events.validateEmits`).
   */
  checkEmit (nsp: Namespace, event: unknown, args: unknown[]): void {
    const declared = this.serverEvents.get(nsp)?.get(event)
    if (declared === undefined) return
    const payload = typeof args[args.length - 1] === 'function' ? args.slice(0, -1) : args
    const checked = declared.check(payload)
    if (!checked.ok) {
      throw new FST_SIO_SESSION_BAD_EMIT(declared.descriptor.event, checked.errors.map((e) => `${e.path === '' ? '(payload)' : e.path} ${e.message}`).join('; '))
    }
  }

  /** A new namespace: a child of a dynamic namespace shares its parent's routes and server events. */
  adopt (nsp: Namespace, parent: Namespace | undefined): void {
    if (parent === undefined) return
    this.byNamespace.set(nsp, this.routesOf(parent))
    this.serverEvents.set(nsp, this.serverEventsOf(parent))
  }

  private serverEventsOf (nsp: Namespace): Map<unknown, ServerEvent> {
    let events = this.serverEvents.get(nsp)
    if (events === undefined) this.serverEvents.set(nsp, events = new Map())
    return events
  }

  private routesOf (nsp: Namespace): Map<unknown, Route> {
    let routes = this.byNamespace.get(nsp)
    if (routes === undefined) this.byNamespace.set(nsp, routes = new Map())
    return routes
  }
}
