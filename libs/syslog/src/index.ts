export {
  SyslogFramer,
  DEFAULT_MAX_FRAME_BYTES,
  type FrameError,
  type FramerOptions,
  type FramerOutput,
} from './framer';
export { parseSyslog, parseRfc5424, parseRfc3164, type SyslogDecoder, type ParseOptions } from './parse';
export { DEFAULT_DECODERS, decoderByName } from './decoders/registry';
export {
  type ParseContext,
  type ParseResult,
  type ParseErrorCode,
  type SyslogFields,
  type DecodeContext,
  type StructuredData,
  DEFAULT_TIMEZONE,
  DEFAULT_PRIORITY,
} from './types';
export { isValidTimeZone, zonedParts, type ZonedParts } from './time';
export { normalizeIp } from './ecs';
