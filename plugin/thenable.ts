// ---- Promises from user code ----

/** Whether a listener's, hook's or handler's result is a promise (or any thenable) to wait for. */
export const isThenable = (value: unknown): value is PromiseLike<unknown> =>
  typeof (value as PromiseLike<unknown> | undefined)?.then === 'function'

/** Waits for `promise`, at most `ms`: true when it settled in time. */
export async function within (promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const late = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), ms) })
  const settled = await Promise.race([promise.then(() => true, () => true), late])
  clearTimeout(timer)
  return settled
}
