// ---- Promises from user code ----

/** Whether a listener's, hook's or handler's result is a promise (or any thenable) to wait for. */
export const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof (value as PromiseLike<unknown> | undefined)?.then === 'function'
