import { RE2JS } from 're2js';
import { SigmaError } from '../errors';

export interface RegexFlags {
  i: boolean;
  m: boolean;
  s: boolean;
}

/**
 * Rule-supplied expressions run on RE2 semantics (linear time), so a hostile pattern like `(a+)+$` cannot
 * stall the detector. PCRE features RE2 lacks (look-around, back-references) make the rule unsupported,
 * reported with the parser's reason rather than silently dropped.
 */
export function compileRegex(pattern: string, flags: RegexFlags, line?: number): (s: string) => boolean {
  let f = 0;
  if (flags.i) f |= RE2JS.CASE_INSENSITIVE;
  if (flags.m) f |= RE2JS.MULTILINE;
  if (flags.s) f |= RE2JS.DOTALL;
  let re: RE2JS;
  try {
    re = RE2JS.compile(pattern, f);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new SigmaError('UNSUPPORTED_REGEX', `regular expression not supported (RE2 syntax): ${why}`, line);
  }
  // Search semantics (unanchored), like Python's re.search.
  return (s) => re.matcher(s).find();
}
