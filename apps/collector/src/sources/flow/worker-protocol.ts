import { type TemplateChange } from '@citysoc/flow';
import { type RenderedDatagram } from './render';

/** What a flow decoding worker is started with. */
export interface WorkerSetup {
  /** The unit registry's YAML (the worker builds its own copy), or '' for none. */
  unitsFile: string;
}

/** Main thread → worker. `batch.data` holds the datagrams back to back (transferred, not copied). */
export type WorkerIn =
  | { t: 'changes'; changes: TemplateChange[] }
  | {
      t: 'batch';
      id: number;
      data: Uint8Array;
      items: Array<{ off: number; len: number; exporter: string; receivedAt: number }>;
      maxBytes: number;
    }
  /** Tests: the worker dies, as a bug or an out-of-memory would kill it. */
  | { t: 'crash' };

/** Worker → main thread: loaded and listening; then one result per datagram, in the batch's order. */
export type WorkerOut = { t: 'ready' } | { t: 'done'; id: number; results: RenderedDatagram[] };
