import { type EcsEvent } from '@citysoc/ecs';
import { type UnitRegistry } from './units';

/**
 * Attributes an event to city units: the unit of the device that sent it (`citysoc.unit`), and of its
 * source and destination addresses. Mutates and returns the event (it is ours, fresh from the parser).
 */
export function attachUnits(event: EcsEvent, registry: UnitRegistry, senderIp?: string): EcsEvent {
  if (registry.size === 0) return event;
  const citysoc = (event.citysoc ??= {});
  const sender = registry.lookup(senderIp);
  if (sender) citysoc.unit = sender;
  const src = registry.lookup(event.source?.ip);
  if (src) citysoc.source_unit = src;
  const dst = registry.lookup(event.destination?.ip);
  if (dst) citysoc.destination_unit = dst;
  return event;
}
