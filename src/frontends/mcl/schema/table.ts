/**
 * The shape of the original's kinds as the generated table (`kinds.ts`) describes them, apart from
 * the schema code that reads it, so that the generated file depends on nothing else.
 */
export interface FieldInfo {
  /** The mcl type, as text. */
  readonly type: string
  /** The Go type (`*string`, `uint64`). */
  readonly go: string
  /** The Go field name, for messages. */
  readonly name: string
}

export interface KindInfo {
  readonly fields: Readonly<Record<string, FieldInfo>>
  readonly sends?: Readonly<Record<string, FieldInfo>>
  readonly recv?: boolean
  readonly merges?: boolean
}

export type KindTable = Readonly<Record<string, KindInfo>>
