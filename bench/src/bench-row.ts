/** The 10-key dict the logging figures log at call `i`, built per call as a training loop builds it. */
export function benchRow(i: number): Record<string, number> {
  return {
    loss: i,
    acc: 0.5,
    lr: 0.001,
    grad_norm: 1.5,
    val_loss: i * 0.5,
    val_acc: 0.25,
    epoch: 3,
    tokens: i * 4096,
    throughput: 812.5,
    mem: 0.75,
  };
}

/** The keys of benchRow. */
export const KEYS = Object.keys(benchRow(0));
