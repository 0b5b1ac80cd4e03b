import type { FastifyInstance, FastifyServerOptions } from 'fastify'

/** Builds the example app (not listening); `opts` are Fastify server options; with `redisUrl`, on Redis. */
export function build (opts?: FastifyServerOptions, options?: { redisUrl?: string }): Promise<FastifyInstance>
