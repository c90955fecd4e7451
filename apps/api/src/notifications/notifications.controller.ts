import { Controller, Get, Inject } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type DryRunNotification, type FailedNotification, type NotifyQueue } from '@citysoc/queues';
import { Roles } from '../auth/roles';
import { NOTIFY_QUEUE } from '../tokens';

@ApiTags('notifications')
@ApiBearerAuth()
@Controller('api/v1/notifications')
export class NotificationsController {
  constructor(@Inject(NOTIFY_QUEUE) private readonly notify: NotifyQueue) {}

  @Get('failed')
  @Roles('lead')
  @ApiOperation({
    summary:
      'Webhook and e-mail deliveries that exhausted their retries (lead, admin): nothing fails silently',
  })
  async failed(): Promise<{ items: FailedNotification[]; counts: Record<string, number> }> {
    return { items: await this.notify.failed(0, 499), counts: await this.notify.counts() };
  }

  @Get('dry-run')
  // Which incidents' notifications were held back tells which incidents are drills: controllers only.
  @Roles('controller')
  @ApiOperation({
    summary:
      "Notifications of drill incidents recorded instead of sent (controller, admin), newest first: the drill's escalations stay visible and counted",
  })
  async dryRun(): Promise<{ items: DryRunNotification[]; total: number }> {
    return this.notify.dryRuns(500);
  }
}
