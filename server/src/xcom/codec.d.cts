/** How an XCom value is written: plain JSON, or devalue's text for anything else it keeps. */
export type XComEncoding = 'json' | 'devalue';

/** An encoded value: its text and the text's size in bytes (UTF-8). */
export interface EncodedValue {
  encoding: XComEncoding;
  text: string;
  bytes: number;
}

/** A task argument as the worker sends it to the code that decodes it (see codec.cjs). */
export type ArgPayload = { value: unknown } | { encoded: Pick<EncodedValue, 'encoding' | 'text'> } | { list: Array<Pick<EncodedValue, 'encoding' | 'text'>> } | Record<string, never>;

/** A value that cannot be stored (a function, a symbol, a class instance, too deep, too large). Named `ResultNotStorable`, not retryable. */
export declare class ValueNotStorable extends Error {
  retryable: false;
}

/** Deepest nesting a value may have. */
export declare const MAX_DEPTH: number;

/** Encodes a value; `what` names it in errors ('Task "extract" returned a value'). */
export declare function encode(value: unknown, what: string, maxBytes: number): EncodedValue;
export declare function decode(encoding: XComEncoding, text: string): unknown;
export declare function decodeArg(arg: ArgPayload): unknown;
export declare function formatBytes(n: number): string;
