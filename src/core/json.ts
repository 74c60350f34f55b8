// Tiny guards for reading untrusted JSON (client bodies, upstream answers).

export type Json = Record<string, unknown>;
export type Headers = Record<string, string | string[] | undefined>;

/** A plain JSON object (not null, not an array). */
export const isObj = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Absent or JSON null: clients send `null` for "not set" all the time. */
export const unset = (v: unknown): v is undefined | null => v === undefined || v === null;
