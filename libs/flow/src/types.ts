/**
 * A decoded element value. Addresses, MACs, strings and octet arrays are strings; times are ISO 8601 UTC.
 * With `DecodeContext.numericAddresses`, 4-byte IPv4 elements (kind `Ip4` in the record's layout) are
 * uint32 numbers instead; `textFields` gives them back as dotted quads.
 */
export type FlowValue = number | string | boolean;

export type FlowVersion = 5 | 9 | 10;

/** One data record (flow or options data) as the exporter sent it, keyed by element name. */
export interface FlowRecord {
  version: FlowVersion;
  exporter: string;
  /** v9 source id, IPFIX observation domain id, v5 `engine_type << 8 | engine_id`. */
  domain: number;
  /** 0 for v5 (no templates). */
  templateId: number;
  /** True for options-data records (exporter metadata, sampling, interface names), not flows. */
  options: boolean;
  /** Header sequence number of the message the record came in. */
  sequence: number;
  /** Header export time, epoch milliseconds. */
  exportTime: number;
  /** Position of the message in its datagram, of the set in its message and of the record in its set. */
  messageIndex: number;
  setIndex: number;
  recordIndex: number;
  /** Flow start/end, epoch milliseconds, derived from whichever time elements the template carries. */
  start?: number;
  end?: number;
  /** Elements keyed by IANA name, enterprise elements by `"<pen>/<id>"`, non-IANA v9 types by `"v9/<id>"`. */
  fields: Record<string, FlowValue>;
}

export type FlowErrorCode =
  | 'short-datagram'
  | 'unsupported-version'
  | 'bad-message-length'
  | 'bad-set-length'
  | 'bad-template'
  | 'record-overrun'
  | 'template-missing'
  | 'truncated'
  | 'internal';

export interface FlowError {
  code: FlowErrorCode;
  message: string;
  /** Byte offset in the datagram where the problem was seen. */
  offset: number;
  templateId?: number;
}

/** Header facts of one message, for loss accounting (sequence gaps) and metrics. */
export interface MessageInfo {
  version: FlowVersion;
  domain: number;
  sequence: number;
  exportTime: number;
  /** Data records decoded from this message right away (held sets not included). */
  records: number;
  /** Data sets held because their template was unknown. */
  held: number;
}

export interface DecodeContext {
  /** Exporter address as seen by the listener; part of every template key. */
  exporter: string;
  receivedAt: Date;
  /**
   * IPv4 elements as uint32 numbers, not dotted quads (as nfcapd keeps them: binary). Building the text
   * was about half of decoding; the flow JSON writer formats an address once where the document needs
   * it and gives the Community ID hash its bytes straight. Consumers reading `fields` themselves (and
   * `flowToEcs`/`flowToRaw`, which take text) go through `textFields(rec, layout)`.
   */
  numericAddresses?: boolean;
}

/**
 * Where each field of a record came from: the element names in template order and their kinds. Records of
 * one template share it, so per-template work (the ECS JSON plan, see `flowToEcsJson`) is done once.
 */
export interface RecordLayout {
  readonly names: readonly string[];
  readonly kinds: Uint8Array;
}

export interface DecodeResult {
  records: FlowRecord[];
  /** `layouts[i]` is the layout of `records[i]` (its compiled template; a fixed one for NetFlow v5). */
  layouts: RecordLayout[];
  errors: FlowError[];
  messages: MessageInfo[];
}

/**
 * Reads one record's fields from `p`, leaving the offset after it in `st.p`; undefined when a field runs
 * past `end`. Time elements are noted in the record scratch (`noteRole`) as they are read.
 */
export type RecordReader = (
  buf: Buffer,
  p: number,
  end: number,
  st: { p: number },
) => Record<string, FlowValue> | undefined;
