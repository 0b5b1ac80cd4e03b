import type { FastifyInstance, FastifyServerOptions } from 'fastify'

/** Builds the example app (not listening); `opts` are Fastify server options. */
export function build (opts?: FastifyServerOptions): Promise<FastifyInstance>
