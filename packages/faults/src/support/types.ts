/** What one scenario reports: how many trials ran, how many survived, and what was lost or duplicated. */
export interface ScenarioResult {
  name: string;
  trials: number;
  survived: number;
  /** Points reported durable (or present locally) that are missing or changed. */
  lost: number;
  /** Points present more than once (a (key, step) visible twice, or a point stored twice on the server). */
  duplicated: number;
  /** One line per failed trial (with what to look at), plus a few facts about the run. */
  notes: string[];
}

export interface ScenarioContext {
  seed: number;
  quick: boolean;
  rng: Rng;
  /** Prints a progress line (stderr) so a long run shows where it is. */
  say: (line: string) => void;
}

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Integer in [lo, hi]. */
  int(lo: number, hi: number): number;
  pick<T>(items: readonly T[]): T;
}

export type Scenario = (ctx: ScenarioContext) => Promise<ScenarioResult>;
