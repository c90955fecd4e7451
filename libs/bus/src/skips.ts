/**
 * Detects stream sequences a durable consumer moved past without delivering them.
 *
 * Seen on nats-server 2.9.10 after a JetStream quorum loss: a consumer leader elected on a replica that is
 * still catching up on the stream skips the sequences its copy lacks, and they are never delivered. Nothing
 * in the client API reports it, but the two sequences every delivery carries give it away, whatever the
 * number of replicas sharing the durable:
 *
 * - each first delivery (to any replica) advances the consumer's delivery sequence and its stream sequence
 *   by one;
 * - each redelivery advances the delivery sequence only.
 *
 * So between two first deliveries seen by one process, the stream sequence can advance by more than the
 * delivery sequence only if sequences were skipped (or removed from the stream). The candidate range is
 * everything between the two; the caller re-reads it from the stream. Messages in it that another replica
 * did handle come back once more, exactly like a redelivery after a crash — every handler already has to
 * be idempotent for that. A skip that coincides with as many redeliveries to other replicas is masked (the
 * two effects cancel out); one consumer instance, the usual case, sees every skip.
 *
 * Only valid for an unfiltered consumer: with a filter subject the stream sequences are sparse by design.
 */
export interface DeliveryPosition {
  streamSeq: number;
  deliverySeq: number;
  /** True for a redelivery (JsMsg.info.redelivered): those say nothing about skips. */
  redelivered: boolean;
}

export interface SeqRange {
  /** First missing stream sequence (inclusive). */
  from: number;
  /** Last missing stream sequence (inclusive). */
  to: number;
}

export class SkipDetector {
  private last?: { s: number; d: number };

  /** Starts from the consumer's last delivered position (ConsumerInfo.delivered), when it has one. */
  seed(streamSeq: number, deliverySeq: number): void {
    if (streamSeq > 0 && deliverySeq > 0) this.last = { s: streamSeq, d: deliverySeq };
  }

  /** Returns the stream sequences skipped before this delivery, if any. */
  observe(p: DeliveryPosition): SeqRange | undefined {
    if (p.redelivered) return undefined;
    const last = this.last;
    this.last = { s: p.streamSeq, d: p.deliverySeq };
    if (!last || p.streamSeq <= last.s + 1) return undefined;
    const streamAdvance = p.streamSeq - last.s;
    const deliveryAdvance = p.deliverySeq - last.d;
    // A delivery sequence that went back means the durable was reset (recreated): its sequences say
    // nothing, so the whole stretch is suspect.
    if (deliveryAdvance > 0 && streamAdvance <= deliveryAdvance) return undefined;
    return { from: last.s + 1, to: p.streamSeq - 1 };
  }
}
