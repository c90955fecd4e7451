import { type Alert } from '@citysoc/ecs';

/**
 * The alerts of a batch whose correlation state has been saved with them, until they are published. The
 * caller saves first and hands the alerts over only after the save succeeded (write-ahead): a failed save
 * publishes nothing, so the batch's retry fires its correlations for the first time; a failed publish (or a
 * crash, after which `restore` takes the saved alerts back) leaves them here to be published again, under the
 * same ids, before anything else. Publishing before saving let a redelivery in another order re-fire a
 * correlation under another id.
 */
export class AlertOutbox {
  private pending: Alert[] = [];

  constructor(private readonly publish: (alerts: Alert[]) => Promise<void>) {}

  /** The alerts a saved state held (a restart, or a partition taken over). */
  restore(alerts: readonly Alert[]): void {
    this.pending = [...alerts];
  }

  /** A batch's alerts, once the state holding them is saved: replaces what the previous save held. */
  async commit(alerts: readonly Alert[]): Promise<void> {
    this.pending = [...alerts];
    await this.flush();
  }

  /** Publishes what is pending; it stays pending if the publish fails. */
  async flush(): Promise<void> {
    if (this.pending.length === 0) return;
    await this.publish(this.pending);
    this.pending = [];
  }

  get size(): number {
    return this.pending.length;
  }
}
