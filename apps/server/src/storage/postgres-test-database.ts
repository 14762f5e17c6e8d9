import pg from 'pg';
import { ulid } from 'ulid';

/**
 * The database the PostgreSQL tests use (`scripts/with-postgres.sh` sets it); undefined when
 * none is given, and those tests then say they were not run.
 */
export const TEST_DATABASE_URL: string | undefined = process.env.SWANLOG_TEST_DATABASE_URL || undefined;

/** A schema name no other test uses, so tests share one database without seeing each other. */
export function freshTestSchema(): string {
  return `t_${ulid().toLowerCase()}`;
}

export async function dropTestSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

/** A URL whose connections use `schema` (for child processes given only a URL). */
export function urlWithSchema(url: string, schema: string): string {
  const u = new URL(url);
  u.searchParams.set('options', `-c search_path=${schema}`);
  return u.toString();
}
