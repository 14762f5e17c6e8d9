import { SwanlogError } from '@swanlog/protocol';
import type { RngState } from './rng.js';

/** Everything a checkpoint holds: with it a trainer continues exactly where it stopped. */
export interface TrainerState {
  /** Epochs completed. */
  epoch: number;
  layers: number[];
  params: Float64Array;
  adam: { t: number; m: Float64Array; v: Float64Array };
  scheduler: { step: number };
  rng: RngState;
}

const MAGIC = 'swanlog-example-train';
const VERSION = 1;

interface Header {
  magic: string;
  version: number;
  epoch: number;
  layers: number[];
  adamT: number;
  schedulerStep: number;
  rng: RngState;
  /** Length (in float64s) of params, adam.m and adam.v, stored in that order after the header. */
  floats: number;
}

/**
 * Encodes a trainer state as one blob: a uint32 (LE) header length, the header as JSON, zero padding
 * to a multiple of 8, then params, adam.m and adam.v as little-endian float64s. Bytes, not decimal
 * text, so every weight comes back bit for bit.
 */
export function encodeTrainerState(state: TrainerState): Uint8Array {
  const header: Header = {
    magic: MAGIC,
    version: VERSION,
    epoch: state.epoch,
    layers: state.layers,
    adamT: state.adam.t,
    schedulerStep: state.scheduler.step,
    rng: state.rng,
    floats: state.params.length,
  };
  const json = Buffer.from(JSON.stringify(header), 'utf8');
  const start = align8(4 + json.length);
  const out = Buffer.alloc(start + 3 * 8 * state.params.length);
  out.writeUInt32LE(json.length, 0);
  json.copy(out, 4);
  let at = start;
  for (const array of [state.params, state.adam.m, state.adam.v]) {
    for (let i = 0; i < array.length; i++, at += 8) out.writeDoubleLE(array[i]!, at);
  }
  return out;
}

/** Decodes what `encodeTrainerState` wrote; anything else is CHECKPOINT_CORRUPT naming `source`. */
export function decodeTrainerState(bytes: Uint8Array, source: string): TrainerState {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const corrupt = (why: string) =>
    new SwanlogError('CHECKPOINT_CORRUPT', `checkpoint ${source} is not an example-train state: ${why}`, {
      hint: 'it was written by another program or version; start without --resume or remove it',
    });
  if (buf.length < 4) throw corrupt('too short');
  const length = buf.readUInt32LE(0);
  if (4 + length > buf.length) throw corrupt('header longer than the file');
  let header: Header;
  try {
    header = JSON.parse(buf.subarray(4, 4 + length).toString('utf8')) as Header;
  } catch (error) {
    if (!(error instanceof SyntaxError)) throw error;
    throw corrupt('header is not JSON');
  }
  if (header.magic !== MAGIC || header.version !== VERSION)
    throw corrupt(`magic/version ${header.magic}/${header.version}`);
  const start = align8(4 + length);
  if (buf.length !== start + 3 * 8 * header.floats) throw corrupt('size does not match its header');
  const read = (k: number) => {
    const out = new Float64Array(header.floats);
    const base = start + k * 8 * header.floats;
    for (let i = 0; i < out.length; i++) out[i] = buf.readDoubleLE(base + 8 * i);
    return out;
  };
  return {
    epoch: header.epoch,
    layers: header.layers,
    params: read(0),
    adam: { t: header.adamT, m: read(1), v: read(2) },
    scheduler: { step: header.schedulerStep },
    rng: header.rng,
  };
}

function align8(n: number): number {
  return Math.ceil(n / 8) * 8;
}
