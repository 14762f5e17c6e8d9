import { createRng } from './rng.js';

/** Points in the plane with class labels: `x` holds (x0, y0, x1, y1, ...). */
export interface Dataset {
  x: Float64Array;
  y: Uint8Array;
  size: number;
  classes: number;
}

export interface DatasetOptions {
  kind: 'spirals' | 'blobs';
  classes: number;
  size: number;
  /** Standard deviation of the gaussian noise added to each coordinate. */
  noise: number;
  seed: number;
}

/**
 * Generates a synthetic 2-D classification set: interleaved spiral arms (one per class) or gaussian
 * blobs on a circle. A pure function of its options, so a resumed run regenerates the same data and
 * the data never needs to go into a checkpoint.
 */
export function makeDataset(options: DatasetOptions): Dataset {
  const rng = createRng(options.seed);
  const { size, classes, noise } = options;
  const x = new Float64Array(size * 2);
  const y = new Uint8Array(size);
  for (let i = 0; i < size; i++) {
    const label = i % classes;
    const [px, py] =
      options.kind === 'spirals' ? spiralPoint(label, classes, rng.nextFloat()) : blobCenter(label, classes);
    x[2 * i] = px + noise * rng.nextNormal();
    x[2 * i + 1] = py + noise * rng.nextNormal();
    y[i] = label;
  }
  return { x, y, size, classes };
}

/** A point on arm `label` at radius r in [0, 1): the arm turns 1.25 times around the origin. */
function spiralPoint(label: number, classes: number, r: number): [number, number] {
  const angle = (2 * Math.PI * label) / classes + r * 2.5 * Math.PI;
  return [r * Math.cos(angle), r * Math.sin(angle)];
}

function blobCenter(label: number, classes: number): [number, number] {
  const angle = (2 * Math.PI * label) / classes;
  return [Math.cos(angle), Math.sin(angle)];
}
