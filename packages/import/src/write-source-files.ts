import { crc32 } from 'node:zlib';
import { create, toBinary } from '@bufbuild/protobuf';
import { RecordSchema as SwanlabRecordSchema } from './gen/swanlab_pb.js';
import { EventSchema } from './gen/tensorboard_pb.js';
import { RecordSchema } from './gen/wandb_pb.js';
import { BLOCK } from './read-leveldb-log.js';
import { frameTfRecord } from './read-tf-records.js';

/**
 * One TensorBoard event (framed as a TFRecord) with `simple_value` scalars, as PyTorch writes
 * them; with `fileVersion` instead, the file_version event a file starts with. For tests and the
 * benchmark, which need event files of a given shape.
 */
export function encodeScalarEvent(event: {
  step: number;
  wallTime: number;
  values?: Record<string, number>;
  fileVersion?: string;
}): Uint8Array {
  const e = create(EventSchema, {
    wallTime: event.wallTime,
    step: BigInt(event.step),
    what:
      event.fileVersion !== undefined
        ? { case: 'fileVersion', value: event.fileVersion }
        : {
            case: 'summary',
            value: {
              value: Object.entries(event.values ?? {}).map(([tag, v]) => ({
                tag,
                value: { case: 'simpleValue' as const, value: v },
              })),
            },
          },
  });
  return frameTfRecord(toBinary(EventSchema, e));
}

/**
 * A `.wandb` file (header, LevelDB framing) of history rows `{_step, _timestamp, ...values}` and,
 * where an entry is `{config}`, a config record (what `wandb.config.update` writes).
 */
export function encodeWandbFile(
  rows: (
    | { step: number; time: number; values: Record<string, number> }
    | { config: Record<string, unknown> }
  )[],
): Uint8Array {
  const writer = new LevelDbLogWriter();
  for (const row of rows) {
    if ('config' in row) {
      const update = Object.entries(row.config).map(([key, v]) => ({
        key,
        valueJson: JSON.stringify({ value: v, desc: null }),
      }));
      writer.add(
        toBinary(RecordSchema, create(RecordSchema, { recordType: { case: 'config', value: { update } } })),
      );
      continue;
    }
    const items = [
      { key: '_step', valueJson: String(row.step) },
      { key: '_timestamp', valueJson: String(row.time) },
      ...Object.entries(row.values).map(([key, v]) => ({ key, valueJson: pythonJsonNumber(v) })),
    ];
    const record = create(RecordSchema, {
      recordType: { case: 'history', value: { item: items, step: { num: BigInt(row.step) } } },
    });
    writer.add(toBinary(RecordSchema, record));
  }
  return writer.bytes();
}

/** One record of a SwanLab run file, in the shape `encodeSwanlabFile` takes. */
export type SwanlabTestRecord =
  | { kind: 'start'; id: string; project: string; name: string; time: number }
  | { kind: 'scalar'; key: string; step: number; time: number; value: number }
  | { kind: 'media'; key: string; step: number; time: number }
  | { kind: 'finish'; state: 'finished' | 'crashed' | 'aborted'; time: number };

/**
 * A SwanLab run file: version 2 (`run-<id>.swanlab`, protobuf records, SwanLab >= 0.8) or version
 * 1 (`backup.swanlab`, JSON records `{"model_type", "data"}`, SwanLab 0.6-0.7). Times are ms. For
 * tests, which need SwanLab files of a given shape.
 */
export function encodeSwanlabFile(records: SwanlabTestRecord[], version: 1 | 2 = 2): Uint8Array {
  const writer = new LevelDbLogWriter({ ident: ':SWL', magic: 0xe1d6, version });
  records.forEach((r, i) => {
    if (version === 2) writer.add(toBinary(SwanlabRecordSchema, swanlabRecord(r, i + 1)));
    else
      for (const json of swanlabJsonRecords(r)) writer.add(Buffer.from(`${JSON.stringify(json)}\n`, 'utf8'));
  });
  return writer.bytes();
}

function timestamp(ms: number) {
  return { seconds: BigInt(Math.floor(ms / 1000)), nanos: (ms % 1000) * 1e6 };
}

function swanlabRecord(r: SwanlabTestRecord, num: number) {
  const base = { num: BigInt(num), timestamp: timestamp(r.time) };
  switch (r.kind) {
    case 'start':
      return create(SwanlabRecordSchema, {
        ...base,
        recordType: {
          case: 'start',
          value: { id: r.id, project: r.project, name: r.name, startedAt: timestamp(r.time) },
        },
      });
    case 'scalar':
      return create(SwanlabRecordSchema, {
        ...base,
        recordType: {
          case: 'scalar',
          value: {
            key: r.key,
            step: BigInt(r.step),
            timestamp: timestamp(r.time),
            value: { number: r.value },
          },
        },
      });
    case 'media':
      return create(SwanlabRecordSchema, {
        ...base,
        recordType: { case: 'media', value: Buffer.from(JSON.stringify({ key: r.key, step: r.step })) },
      });
    case 'finish': {
      const state = { finished: 1, crashed: 2, aborted: 3 }[r.state];
      return create(SwanlabRecordSchema, {
        ...base,
        recordType: { case: 'finish', value: { state, finishedAt: timestamp(r.time) } },
      });
    }
  }
}

function swanlabJsonRecords(r: SwanlabTestRecord): { model_type: string; data: unknown }[] {
  const iso = new Date(r.time).toISOString();
  switch (r.kind) {
    case 'start':
      return [
        { model_type: 'Header', data: { create_time: iso, backup_type: 'DEFAULT' } },
        { model_type: 'PROJECT', data: { name: r.project, workspace: null, public: false } },
        { model_type: 'EXPERIMENT', data: { name: r.name, description: '', tags: [] } },
      ];
    case 'scalar':
      return [
        {
          model_type: 'SCALAR',
          data: {
            key: r.key,
            step: r.step,
            epoch: r.step + 1,
            metric: { index: r.step, data: r.value, create_time: iso },
          },
        },
      ];
    case 'media':
      return [
        {
          model_type: 'MEDIA',
          data: { key: r.key, step: r.step, metric: { index: r.step, data: ['a.png'] } },
        },
      ];
    case 'finish':
      // 0.6-0.7 files record no end state.
      return [{ model_type: 'RUNTIME', data: { conda: null } }];
  }
}

function pythonJsonNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  return JSON.stringify(v);
}

class LevelDbLogWriter {
  private readonly parts: Uint8Array[] = [];
  private at = 0;

  constructor(
    header7: { ident: string; magic: number; version: number } = { ident: ':W&B', magic: 0xbee1, version: 0 },
  ) {
    const header = Buffer.alloc(7);
    header.write(header7.ident, 0, 'latin1');
    header.writeUInt16LE(header7.magic, 4);
    header.writeUInt8(header7.version, 6);
    this.push(header);
  }

  add(data: Uint8Array): void {
    let off = 0;
    let first = true;
    do {
      const left = BLOCK - (this.at % BLOCK);
      if (left < 7) {
        this.push(Buffer.alloc(left));
        continue;
      }
      const n = Math.min(left - 7, data.length - off);
      const last = off + n === data.length;
      const type = first && last ? 1 : first ? 2 : last ? 4 : 3;
      const chunk = data.subarray(off, off + n);
      const header = Buffer.alloc(7);
      header.writeUInt32LE(crc32(chunk, crc32(Uint8Array.of(type))) >>> 0, 0);
      header.writeUInt16LE(n, 4);
      header.writeUInt8(type, 6);
      this.push(header);
      this.push(chunk);
      off += n;
      first = false;
    } while (off < data.length);
  }

  bytes(): Uint8Array {
    return Buffer.concat(this.parts);
  }

  private push(b: Uint8Array): void {
    this.parts.push(b);
    this.at += b.length;
  }
}
