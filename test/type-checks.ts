// The type-test helpers: `Expect<Equal<A, B>>` fails to compile unless A and B are the same type.

/** True when A and B are identical types (not merely assignable either way). */
export type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false
/** Compiles only when given `true`. */
export type Expect<T extends true> = T
