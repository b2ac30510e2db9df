/**
 * The building blocks of the option table: a `Reader` turns what the user passed into what the
 * verifier uses, or throws a `TypeError` naming the option. `table` reads a nested object of
 * options the same way the top level is read, so every level refuses unknown names.
 */
import { toMilliseconds, toSeconds } from './duration.js'
import type { Duration } from '../types.js'

/** Reads one option's value (`undefined` when absent and without default); throws `TypeError`. */
export type Reader<T> = (value: unknown, name: string) => T

/** One option: how to read it, and its default — written here and nowhere else. */
export interface OptionRow<T> {
  readonly read: Reader<T>
  /** What an absent option stands for, in the form a user would write it (`'10m'`, `true`). */
  readonly default?: unknown
}

/** A set of option names and their rows. */
export type OptionTable = Record<string, OptionRow<unknown>>

/** The values a table reads into: one per row. */
export type TableValues<T extends OptionTable> = {
  [K in keyof T]: T[K] extends OptionRow<infer V> ? V : never
}

/** A row with an optional default. */
export function row<T>(read: Reader<T>, fallback?: unknown): OptionRow<T> {
  return fallback === undefined ? { read } : { read, default: fallback }
}

/** A reader for a nested options object; it carries its table so errors can point into it. */
export type TableReader<T extends OptionTable> = Reader<TableValues<T>> & { readonly table: T }

/**
 * Read `value` as an object of `table`'s options: unknown names are refused (a misspelt option
 * must never silently turn a check off), absent ones take their row's default.
 */
export function readTable<T extends OptionTable>(
  value: unknown,
  table: T,
  where: string,
): TableValues<T> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${where || 'options'} must be an object`)
  }
  const given = value as Record<string, unknown>
  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(table, name) && given[name] !== undefined) {
      throw new TypeError(
        `${where ? `${where}: ` : ''}unknown option "${name}"${hint(name, table)}`,
      )
    }
  }
  const values: Record<string, unknown> = {}
  for (const [name, option] of Object.entries(table)) {
    const fullName = where ? `${where}.${name}` : name
    const raw = given[name] === undefined ? option.default : given[name]
    values[name] = option.read(raw, fullName)
  }
  return values as TableValues<T>
}

/** A reader for a nested object of `table`'s options. */
export function table<T extends OptionTable>(nested: T): TableReader<T> {
  return Object.assign((value: unknown, name: string) => readTable(value ?? {}, nested, name), {
    table: nested,
  })
}

/** Where an unknown name is an option one level down, say so. */
function hint(name: string, options: OptionTable): string {
  for (const [parent, option] of Object.entries(options)) {
    const nested = (option.read as Partial<TableReader<OptionTable>>).table
    if (nested !== undefined && Object.hasOwn(nested, name)) {
      return ` (it belongs in ${parent}: { ${name} })`
    }
  }
  return ''
}

/** `false`, or what `read` makes of anything else. */
export function falseOr<T>(read: Reader<T>): Reader<T | false> {
  return Object.assign(
    (value: unknown, name: string) => (value === false ? false : read(value, name)),
    read,
  )
}

/** `undefined` stays undefined; anything else goes through `read`. */
export function optional<T>(read: Reader<T>): Reader<T | undefined> {
  return (value, name) => (value === undefined ? undefined : read(value, name))
}

/** Any value, as given (a later cross-option check reads it). */
export const anything: Reader<unknown> = (value) => value

export const nonEmptyString: Reader<string> = (value, name) => {
  if (typeof value !== 'string' || value.length === 0) {
    throw new TypeError(`${name} must be a non-empty string`)
  }
  return value
}

/** A required string or non-empty array of strings. */
export const stringList: Reader<string[]> = (value, name) => {
  if (value === undefined) throw new TypeError(`${name} is required`)
  const list = typeof value === 'string' ? [value] : value
  if (!Array.isArray(list) || list.length === 0) {
    throw new TypeError(`${name} must be a non-empty string or array of strings`)
  }
  return list.map((item: unknown) => nonEmptyString(item, name))
}

/** An array of non-empty strings (possibly empty). */
export const stringArray: Reader<string[]> = (value, name) => {
  if (!Array.isArray(value)) throw new TypeError(`${name} must be an array of strings`)
  return value.map((item: unknown) => nonEmptyString(item, name))
}

/** One of a fixed list of strings. */
export function oneOf<T extends string>(choices: readonly T[]): Reader<T> {
  return (value, name) => {
    if (!choices.includes(value as T)) {
      throw new TypeError(`${name} must be one of ${choices.map((c) => `'${c}'`).join(', ')}`)
    }
    return value as T
  }
}

export const boolean: Reader<boolean> = (value, name) => {
  if (typeof value !== 'boolean') throw new TypeError(`${name} must be true or false`)
  return value
}

export const positiveInteger: Reader<number> = (value, name) => {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new TypeError(`${name} must be a positive integer`)
  }
  return value
}

/** A duration in seconds (`5`, `'5s'`). */
export const seconds: Reader<number> = (value, name) => toSeconds(value as Duration, name)

/** A duration in milliseconds (`5` seconds, `'500ms'`). */
export const milliseconds: Reader<number> = (value, name) => toMilliseconds(value as Duration, name)
