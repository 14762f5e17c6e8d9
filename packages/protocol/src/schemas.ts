import { z } from 'zod';
import { hasControlCharacters } from './control-characters.js';

/** Validators of every JSON body and the batch header, used by the server at its boundary. */
const id = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'an id is 1-64 characters of [A-Za-z0-9_-]');
const name = z
  .string()
  .min(1)
  .max(255)
  .refine((s) => !hasControlCharacters(s), 'no control characters')
  // Stored as UTF-8 text, a lone surrogate would become U+FFFD and merge with other names.
  .refine((s) => s.isWellFormed(), 'not well-formed UTF-16 (a lone surrogate)');
const seq = z.number().int().min(-1).max(Number.MAX_SAFE_INTEGER);
const ms = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const step = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const rewindStep = z.number().int().min(-1).max(Number.MAX_SAFE_INTEGER);
// Not z.record: it rebuilds the object and drops a key named `__proto__` (a valid config key).
const jsonObject = z.custom<Record<string, unknown>>(
  (v) => typeof v === 'object' && v !== null && !Array.isArray(v),
  'expected an object',
);

export const runIdSchema = id;
export const keyNameSchema = name;

export const createExperimentSchema = z
  .object({
    requestKey: z.string().min(1).max(128),
    requestedId: id.optional(),
    exactId: z.boolean().optional(),
    project: name,
    name: name.nullable().optional(),
    createdAt: ms.optional(),
    copiedFrom: id.nullable().optional(),
    source: z
      .object({
        kind: z.string().min(1).max(64),
        path: z.string().max(4096),
        id: z.string().min(1).max(1024),
        // Keys are W&B directory names (a key `__proto__` would be dropped: none is).
        stepOffsets: z.record(z.string().max(1024), step).optional(),
      })
      .strict()
      .nullable()
      .optional(),
  })
  .strict();

export const copyExperimentSchema = z
  .object({ requestKey: z.string().min(1).max(128), requestedId: id.optional() })
  .strict();

export const sessionInfoSchema = z
  .object({
    segment: z.string().min(1).max(64),
    host: z.string().max(255),
    pid: z.number().int().min(0),
    startedAt: ms,
    clockStart: ms,
    resumed: z.boolean(),
    fromStep: step.nullable(),
    endedAt: ms.nullable(),
    endState: z.enum(['finished', 'aborted', 'crashed']).nullable(),
    heartbeatAt: ms.nullable(),
  })
  .strict();

export const batchHeaderSchema = z
  .object({
    sources: z
      .array(
        z
          .object({
            source: id,
            fromSeq: seq,
            toSeq: seq,
            session: sessionInfoSchema,
            // A rewind to -1 hides every earlier step (an imported TensorBoard purge_step=0).
            rewinds: z
              .array(z.object({ seq: z.number().int().min(0), ts: ms, step: rewindStep }).strict())
              .max(100_000),
            chunks: z
              .array(
                z
                  .object({
                    key: name,
                    n: z.number().int().min(1).max(1_000_000),
                    bytes: z.number().int().min(16),
                  })
                  .strict(),
              )
              .max(100_000),
          })
          .strict()
          .refine((s) => s.toSeq >= s.fromSeq, 'toSeq must not be below fromSeq'),
      )
      .min(1)
      .max(1000),
  })
  .strict();

export const configRevisionsSchema = z
  .object({
    revisions: z.array(z.object({ ts: ms, source: id.nullable(), patch: jsonObject }).strict()).max(10_000),
  })
  .strict();

/** `PATCH /experiments/:id/meta`: team metadata; only the fields given change. */
export const experimentMetaSchema = z
  .object({
    name: z.string().max(200).nullable().optional(),
    tags: z
      .array(
        z
          .string()
          .min(1)
          .max(64)
          .regex(/^[^\s,]+$/, 'a tag has no spaces or commas'),
      )
      .max(50)
      .optional(),
    note: z.string().max(10_000).optional(),
    archived: z.boolean().optional(),
  })
  .strict();

export const sessionLoginSchema = z.object({ apiKey: z.string().min(1).max(200) }).strict();

export const metricsQuerySchema = z.object({
  maxPoints: z.coerce.number().int().min(1).max(1_000_000).optional(),
  from: z.coerce.number().int().min(0).optional(),
  to: z.coerce.number().int().min(0).optional(),
  superseded: z.enum(['0', '1', 'true', 'false']).optional(),
});
