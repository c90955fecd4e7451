import { type Part } from '../pattern';

/**
 * A value on its way through the transformation modifiers. `bytes` is set once a utf16 modifier has
 * re-encoded the text, so a following base64 encodes those bytes instead of UTF-8.
 */
export interface SValue {
  parts: Part[];
  bytes?: Uint8Array;
}

export interface TransformCtx {
  placeholders: Record<string, string[]> | undefined;
  line: number | undefined;
}
