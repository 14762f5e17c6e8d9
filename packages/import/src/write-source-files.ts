import { crc32 } from 'node:zlib';
import { create, toBinary } from '@bufbuild/protobuf';
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

/** A `.wandb` file (header, LevelDB framing) of history rows `{_step, _timestamp, ...values}`. */
export function encodeWandbFile(
  rows: { step: number; time: number; values: Record<string, number> }[],
): Uint8Array {
  const writer = new LevelDbLogWriter();
  for (const row of rows) {
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

function pythonJsonNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (!Number.isFinite(v)) return v > 0 ? 'Infinity' : '-Infinity';
  return JSON.stringify(v);
}

class LevelDbLogWriter {
  private readonly parts: Uint8Array[] = [];
  private at = 0;

  constructor() {
    const header = Buffer.alloc(7);
    header.write(':W&B', 0, 'latin1');
    header.writeUInt16LE(0xbee1, 4);
    header.writeUInt8(0, 6);
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
