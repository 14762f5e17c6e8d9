import { test } from 'node:test';
import { openPostgresStorage } from './postgres-storage.js';
import { dropTestSchema, freshTestSchema, TEST_DATABASE_URL } from './postgres-test-database.js';
import { describeStorageContract } from './storage-contract.js';

if (TEST_DATABASE_URL === undefined) {
  process.stderr.write(
    'postgres storage contract NOT RUN: SWANLOG_TEST_DATABASE_URL is not set (scripts/with-postgres.sh sets it)\n',
  );
  test('storage contract: postgres', { skip: 'NOT RUN: SWANLOG_TEST_DATABASE_URL is not set' }, () => {});
} else {
  const url = TEST_DATABASE_URL;
  describeStorageContract('postgres', async () => {
    const schema = freshTestSchema();
    const storage = await openPostgresStorage({ url, schema });
    return {
      storage,
      cleanup: async () => {
        await storage.close();
        await dropTestSchema(url, schema);
      },
    };
  });
}
