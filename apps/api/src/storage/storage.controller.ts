import { Controller, Get, Inject } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { type EventStore, type StorageInfo } from '@citysoc/store';
import { Roles } from '../auth/roles';
import { EVENT_STORE } from '../tokens';

@ApiTags('storage')
@ApiBearerAuth()
@Controller('api/v1/storage')
export class StorageController {
  constructor(@Inject(EVENT_STORE) private readonly store: EventStore) {}

  @Get()
  @Roles('lead', 'auditor')
  @ApiOperation({
    summary:
      'Event store health: engine, counts, size; on Elasticsearch each data stream with health and ILM policy',
  })
  info(): Promise<StorageInfo> {
    return this.store.storageInfo();
  }
}
