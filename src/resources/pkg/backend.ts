/**
 * What the `pkg` kind needs from a package manager: the contract that apt.ts and packagekit.ts
 * each fulfil; choose.ts picks one.
 */

/** One package as the package manager sees it now. */
export interface PkgState {
  readonly name: string
  /** The installed version; undefined when not installed. */
  readonly installed?: string
  /** The newest version available for installation; undefined when none is (or only the installed). */
  readonly candidate?: string
  /** Its architecture (PackageKit ids need it). */
  readonly arch?: string
}

/** One change of a transaction. */
export interface PkgChange {
  readonly name: string
  /** install: from nothing, or to `version`; update: to the newest; remove. */
  readonly action: 'install' | 'update' | 'remove'
  /** An exact version to install (a pinned `state`, or the candidate found when checking). */
  readonly version?: string
  readonly arch?: string
}

export interface TxOptions {
  /** Install packages that are not signed or come from an unsigned repository. */
  readonly allowuntrusted: boolean
  /** Allow installing a version older than the installed one. */
  readonly allowdowngrade: boolean
  /** PackageKit only: also consider packages that are not free software. */
  readonly allownonfree: boolean
  /** PackageKit only: also consider packages the distribution does not support. */
  readonly allowunsupported: boolean
}

export interface PkgBackend {
  /** `packagekit` or `apt`, for logs. */
  readonly name: string
  /** The state of every name (a name that is neither installed nor available has neither version). */
  query(names: readonly string[], opts: TxOptions, signal: AbortSignal): Promise<Map<string, PkgState>>
  /** Refreshes the package lists from the repositories. */
  refresh(signal: AbortSignal): Promise<void>
  /** Applies `changes` as one transaction (PackageKit: one per kind of change). */
  apply(changes: readonly PkgChange[], opts: TxOptions, signal: AbortSignal): Promise<void>
  /** Calls `onChange` when the package manager reports a change; the returned function stops it. */
  watch(onChange: () => void): Promise<() => void>
  /** Calls `fn` if the backend's connection is lost (PackageKit), until the returned function. */
  onClose(fn: (e: Error) => void): () => void
  close(): void
}
