/** Renders `.env.example` from the apps' config schemas, so the file can never drift from the code. */
import { renderEnvExample } from '@citysoc/config';
import { apiSchema } from '../apps/api/src/config';
import { collectorSchema } from '../apps/collector/src/config';
import { detectorSchema } from '../apps/detector/src/config';
import { indexerSchema } from '../apps/indexer/src/config';
import { reporterSchema } from '../apps/reporter/src/config';
import { responderSchema } from '../apps/responder/src/config';

export function envExample(): string {
  return renderEnvExample([
    { title: 'collector', schema: collectorSchema },
    { title: 'detector', schema: detectorSchema },
    { title: 'indexer', schema: indexerSchema },
    { title: 'responder', schema: responderSchema },
    { title: 'reporter', schema: reporterSchema },
    { title: 'api', schema: apiSchema },
  ]);
}

if (require.main === module) process.stdout.write(envExample());
